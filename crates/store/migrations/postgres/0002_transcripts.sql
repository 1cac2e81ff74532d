-- Session transcripts coded for motivational-interviewing feedback (issue 6).
-- The utterance texts are client free text: sealed with the client's data key (text_ct), and
-- the therapist may discard them (text_ct NULL) and keep only codes and metrics.
CREATE TABLE transcripts (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    session_id TEXT NOT NULL UNIQUE REFERENCES client_sessions(id),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    uploaded_at BIGINT NOT NULL,
    source_format TEXT NOT NULL,
    utterance_count BIGINT NOT NULL,
    model_version TEXT NOT NULL,
    -- Codes per utterance and the MITI summary, as JSON, with every text blanked.
    codes TEXT NOT NULL,
    text_ct BYTEA,
    text_discarded_at BIGINT
);
CREATE INDEX transcripts_client ON transcripts(practice_id, client_id);
