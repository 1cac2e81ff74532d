-- A second per-client version, for the caseload's rows (issue 3's read path). A caseload row
-- shows, beyond scores and sessions (which `data_version` follows), the client's name and
-- status, overdue measures (from schedules) and the prompts wanting attention. The server keeps
-- each row in memory and serves it again only while both versions are unchanged and no due time
-- or session start has passed. Triggers bump it in the same transaction as any change to the
-- client's schedules or to a prompt's kind, urgency or state, so no writer can forget to; a
-- change to the client row itself (name, status) bumps it in that UPDATE.
ALTER TABLE clients ADD COLUMN caseload_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER measure_schedules_insert_caseload AFTER INSERT ON measure_schedules
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id = NEW.client_id;
END;

CREATE TRIGGER measure_schedules_update_caseload AFTER UPDATE ON measure_schedules
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id IN (OLD.client_id, NEW.client_id);
END;

CREATE TRIGGER measure_schedules_delete_caseload AFTER DELETE ON measure_schedules
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id = OLD.client_id;
END;

CREATE TRIGGER prompts_insert_caseload AFTER INSERT ON prompts
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id = NEW.client_id;
END;

-- Re-evaluation touches evaluated_at and condition_holds often; only these columns show.
CREATE TRIGGER prompts_update_caseload AFTER UPDATE OF kind, urgency, state ON prompts
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id IN (OLD.client_id, NEW.client_id);
END;

CREATE TRIGGER prompts_delete_caseload AFTER DELETE ON prompts
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id = OLD.client_id;
END;
