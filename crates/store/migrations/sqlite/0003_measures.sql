-- Measurement-based care (issue 3). Keep in step with ../postgres/0003_measures.sql.
-- Timestamps are Unix seconds (INTEGER); booleans are INTEGER 0/1; ids are UUIDv7 text.
-- Every row about a client goes when the client row goes (ON DELETE CASCADE), so erasing a
-- client removes their measures, schedules and portal links too.

-- One completed questionnaire. Scores are stored as computed at the time, with the
-- convention used (score_json), so a later change of definition never rewrites history.
-- note_ct: the client's or clinician's free-text note, sealed with the client's data key.
CREATE TABLE measure_responses (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    instrument_id TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    answers_json TEXT NOT NULL,
    total INTEGER,
    band_id TEXT,
    caseness INTEGER CHECK (caseness IN (0, 1)),
    flags_json TEXT NOT NULL,
    score_json TEXT NOT NULL,
    completed_at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('clinician', 'paper', 'portal', 'api')),
    note_ct BLOB,
    entered_by TEXT REFERENCES users(id),
    portal_link_id TEXT,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX measure_responses_client ON measure_responses(practice_id, client_id, instrument_id, completed_at);
CREATE UNIQUE INDEX measure_responses_idempotency ON measure_responses(practice_id, client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Which instruments a client is asked to complete, and how often. At most one active
-- (ended_at IS NULL) schedule per client and instrument; ended ones are kept as history.
CREATE TABLE measure_schedules (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    instrument_id TEXT NOT NULL,
    frequency TEXT NOT NULL CHECK (frequency IN ('every_session', 'weekly', 'daily', 'once')),
    starts_at INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    ended_at INTEGER,
    ended_by TEXT REFERENCES users(id)
);
CREATE UNIQUE INDEX measure_schedules_active ON measure_schedules(practice_id, client_id, instrument_id)
    WHERE ended_at IS NULL;

-- Client portal links: only the SHA-256 of the 256-bit secret is stored, and the optional
-- PIN as an Argon2id hash. PIN throttling lives in login_throttle (key portal-pin:<link id>).
CREATE TABLE portal_links (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    pin_hash TEXT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT REFERENCES users(id),
    last_opened_at INTEGER
);
CREATE INDEX portal_links_client ON portal_links(practice_id, client_id);

-- A browser session opened through a portal link (after its PIN, if any). Stored hashed.
CREATE TABLE portal_sessions (
    id_hash TEXT PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES portal_links(id) ON DELETE CASCADE,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX portal_sessions_link ON portal_sessions(link_id);

-- Instrument definitions a practice imported (our JSON format, normalised from FHIR when
-- imported as a Questionnaire). Not client data. A newer version of an id supersedes.
CREATE TABLE instrument_definitions (
    practice_id TEXT NOT NULL REFERENCES practices(id),
    instrument_id TEXT NOT NULL,
    version TEXT NOT NULL,
    definition_json TEXT NOT NULL,
    source_format TEXT NOT NULL CHECK (source_format IN ('concord', 'fhir')),
    imported_by TEXT NOT NULL REFERENCES users(id),
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (practice_id, instrument_id, version)
);

-- What the caseload shows per client and measure, rewritten in the same transaction as every
-- response: the first score (change since intake) and the latest twelve, as JSON score points
-- (ids, dates, totals, bands, flags; no answers, no notes).
CREATE TABLE measure_summaries (
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    instrument_id TEXT NOT NULL,
    points_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, instrument_id)
);
CREATE INDEX measure_summaries_practice ON measure_summaries(practice_id, client_id);
