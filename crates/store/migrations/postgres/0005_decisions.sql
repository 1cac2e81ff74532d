-- Shared decision making (issue 5). Keep in step with ../sqlite/0005_decisions.sql.
-- Timestamps are Unix seconds (BIGINT); ids are UUIDv7 text. Every table carries
-- practice_id and client_id and goes with the client row (ON DELETE CASCADE), so erasure
-- removes it. Free text is sealed with the client's data key (columns ending in _ct);
-- associated data concord/v1/<table>/<column>/<row id>.

-- One decision. status/revisit_on are plain so due revisits can be listed without keys;
-- data_ct holds the record (question, preferred role, status detail), the decisional
-- balance grid, the client's voice (statement, goals, personal medicine, concerns,
-- questions) and the latest SURE, as sealed JSON.
CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('deliberating', 'decided', 'deferred')),
    revisit_on TEXT,
    data_ct BYTEA NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX decisions_client ON decisions(practice_id, client_id, created_at);

-- The options side by side; data_ct is the sealed option (name, origin, IPDAS entries).
CREATE TABLE decision_options (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    data_ct BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (decision_id, id)
);
CREATE INDEX decision_options_decision ON decision_options(decision_id, position);

-- The criteria the client names, with their importance 0-10.
CREATE TABLE decision_criteria (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name_ct BYTEA NOT NULL,
    importance BIGINT NOT NULL CHECK (importance BETWEEN 0 AND 10),
    created_at BIGINT NOT NULL,
    UNIQUE (decision_id, id)
);
CREATE INDEX decision_criteria_decision ON decision_criteria(decision_id, position);

-- How well the client says an option fits a criterion (0-10). The composite foreign keys
-- make a rating across two decisions impossible, whatever the application does.
CREATE TABLE decision_ratings (
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
    option_id TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    fit BIGINT NOT NULL CHECK (fit BETWEEN 0 AND 10),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (option_id, criterion_id),
    FOREIGN KEY (decision_id, option_id) REFERENCES decision_options(decision_id, id) ON DELETE CASCADE,
    FOREIGN KEY (decision_id, criterion_id) REFERENCES decision_criteria(decision_id, id) ON DELETE CASCADE
);

-- Decision dossiers: immutable snapshots. pdf_ct is the PDF exactly as generated, sealed;
-- sha256 is of the PDF bytes. Nothing ever updates a row here.
CREATE TABLE dossiers (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    decision_id TEXT,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    pdf_ct BYTEA NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (practice_id, client_id, version)
);

-- The practice's psychoeducation library: descriptions of medication classes and non-drug
-- strategies, editable by staff. Not client data (no client_id, nothing sealed). Entries
-- shipped as a starter set are marked for clinician review until someone reviews them.
CREATE TABLE psychoeducation (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    kind TEXT NOT NULL CHECK (kind IN ('medication_class', 'non_drug_strategy')),
    title TEXT NOT NULL,
    body_json TEXT NOT NULL,
    sources TEXT NOT NULL,
    reviewed_on TEXT,
    clinician_reviewed BIGINT NOT NULL CHECK (clinician_reviewed IN (0, 1)),
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE INDEX psychoeducation_practice ON psychoeducation(practice_id, kind, title);
