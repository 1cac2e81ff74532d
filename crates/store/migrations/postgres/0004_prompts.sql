-- Clinical prompts, safety plans, session notes and the conversation guide (issue 4).
-- Keep in step with ../sqlite/0004_prompts.sql. Timestamps are Unix seconds; every row
-- about a client goes with the client row (ON DELETE CASCADE).

-- A prompt raised by the rules engine (domain::prompts). prompt_key names the rule and the
-- occurrence of its condition: the unique index is what makes concurrent evaluations unable
-- to open the same prompt twice. evidence_json, explanation and timing_json are built from
-- scores and dates only (no free text). A resolution's words live in prompt_events.
CREATE TABLE prompts (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    prompt_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('safety', 'no_progress', 'persistent_impairment', 'deterioration', 'alliance_drop', 'overdue_measure')),
    urgency TEXT NOT NULL CHECK (urgency IN ('urgent', 'soon', 'routine')),
    state TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'deferred')),
    evidence_json TEXT NOT NULL,
    explanation TEXT NOT NULL,
    timing_json TEXT,
    condition_holds BIGINT NOT NULL CHECK (condition_holds IN (0, 1)),
    created_at BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    deferred_until BIGINT,
    response TEXT CHECK (response IN ('discussed', 'referral_offered', 'client_declined', 'not_appropriate')),
    resolved_at BIGINT,
    resolved_by TEXT REFERENCES users(id)
);
CREATE UNIQUE INDEX prompts_key ON prompts(practice_id, client_id, prompt_key);
CREATE INDEX prompts_state ON prompts(practice_id, state, client_id);
CREATE INDEX prompts_deferred ON prompts(deferred_until) WHERE state = 'deferred';

-- Every transition of a prompt, for the timeline: opened, deferred, reopened, resolved.
-- detail_ct: the documented words (note, action, referred to), sealed with the client's key.
CREATE TABLE prompt_events (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('opened', 'deferred', 'reopened', 'resolved')),
    response TEXT,
    detail_ct BYTEA,
    at BIGINT NOT NULL,
    actor_id TEXT REFERENCES users(id)
);
CREATE INDEX prompt_events_client ON prompt_events(practice_id, client_id, at);

-- Clients whose rules must be evaluated again after a write (drained by the evaluator in
-- `concord serve` and by `concord prompts sweep`). Written in the same transaction as the
-- change, so a crash before evaluation loses nothing.
CREATE TABLE prompt_pending (
    client_id TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    since BIGINT NOT NULL
);

-- A practice's own prompt thresholds (domain::prompts::PromptConfig as JSON).
CREATE TABLE prompt_settings (
    practice_id TEXT PRIMARY KEY REFERENCES practices(id),
    config_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users(id)
);

-- Safety plans (Stanley & Brown sections), versioned: a change adds a version.
CREATE TABLE safety_plans (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    body_ct BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id)
);
CREATE UNIQUE INDEX safety_plans_version ON safety_plans(practice_id, client_id, version);

-- Session notes: draft → signed (immutable; corrections are addenda). kind 'process' marks
-- psychotherapy notes, kept apart: never in exports, letters, dossiers or the portal.
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    session_id TEXT REFERENCES client_sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('progress', 'process')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    body_ct BYTEA NOT NULL,
    medication_ct BYTEA,
    has_medication BIGINT NOT NULL CHECK (has_medication IN (0, 1)),
    note_date BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    updated_at BIGINT NOT NULL,
    signed_at BIGINT,
    signed_by TEXT REFERENCES users(id)
);
CREATE INDEX notes_client ON notes(practice_id, client_id, note_date);

-- Defence in depth for "a signed note is immutable": the store refuses, and so does the
-- database. (Erasure deletes the rows; it never updates them.)
CREATE FUNCTION concord_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is immutable', TG_ARGV[0];
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER notes_signed_immutable BEFORE UPDATE ON notes
FOR EACH ROW WHEN (OLD.status = 'signed')
EXECUTE FUNCTION concord_refuse_update('a signed note');

CREATE TABLE note_addenda (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    note_id TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    body_ct BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX note_addenda_note ON note_addenda(note_id);

CREATE TRIGGER note_addenda_immutable BEFORE UPDATE ON note_addenda
FOR EACH ROW EXECUTE FUNCTION concord_refuse_update('an addendum');

-- The practice's own conversation-guide phrasings (not client data). A row whose entry_key
-- names a shipped entry replaces it; hidden = 1 removes it from the practice's guide.
CREATE TABLE guide_entries (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    entry_key TEXT NOT NULL,
    situation TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    hidden BIGINT NOT NULL CHECK (hidden IN (0, 1)),
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users(id)
);
CREATE UNIQUE INDEX guide_entries_key ON guide_entries(practice_id, entry_key);
