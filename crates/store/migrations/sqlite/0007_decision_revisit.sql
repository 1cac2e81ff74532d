-- no-transaction
-- A deferred decision's revisit day raises a prompt (issue 5): prompts.kind gains
-- 'decision_revisit'. Keep in step with ../postgres/0007_decision_revisit.sql.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt the documented way
-- (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
-- Changes"): foreign keys off outside the transaction, so dropping the old table neither
-- cascades into prompt_events nor breaks its references, which name the table by name.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE prompts_rebuilt (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    prompt_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('safety', 'no_progress', 'persistent_impairment', 'deterioration', 'alliance_drop', 'overdue_measure', 'decision_revisit')),
    urgency TEXT NOT NULL CHECK (urgency IN ('urgent', 'soon', 'routine')),
    state TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'deferred')),
    evidence_json TEXT NOT NULL,
    explanation TEXT NOT NULL,
    timing_json TEXT,
    condition_holds INTEGER NOT NULL CHECK (condition_holds IN (0, 1)),
    created_at INTEGER NOT NULL,
    evaluated_at INTEGER NOT NULL,
    deferred_until INTEGER,
    response TEXT CHECK (response IN ('discussed', 'referral_offered', 'client_declined', 'not_appropriate')),
    resolved_at INTEGER,
    resolved_by TEXT REFERENCES users(id)
);
INSERT INTO prompts_rebuilt (id, practice_id, client_id, prompt_key, kind, urgency, state, evidence_json, explanation, timing_json,
    condition_holds, created_at, evaluated_at, deferred_until, response, resolved_at, resolved_by)
  SELECT id, practice_id, client_id, prompt_key, kind, urgency, state, evidence_json, explanation, timing_json,
    condition_holds, created_at, evaluated_at, deferred_until, response, resolved_at, resolved_by FROM prompts;
DROP TABLE prompts;
ALTER TABLE prompts_rebuilt RENAME TO prompts;
CREATE UNIQUE INDEX prompts_key ON prompts(practice_id, client_id, prompt_key);
CREATE INDEX prompts_state ON prompts(practice_id, state, client_id);
CREATE INDEX prompts_deferred ON prompts(deferred_until) WHERE state = 'deferred';
-- Due revisits are found without opening sealed data.
CREATE INDEX decisions_revisit ON decisions(revisit_on) WHERE status = 'deferred';
COMMIT;
PRAGMA foreign_keys = ON;
