-- Read-path indexes (issue 3's speed targets).
-- The caseload counts each client's attended sessions: with attendance in the index the count
-- is an index range, not a lookup of every session row.
CREATE INDEX client_sessions_attendance ON client_sessions(practice_id, client_id, attendance, starts_at);
-- A client's score series (charts, trends) in completion order from the index alone: the wide
-- columns (answers, the full score as computed) are never read for it.
CREATE INDEX measure_responses_series ON measure_responses(practice_id, client_id, completed_at, id, instrument_id, total, band_id, caseness, flags_json, source);
