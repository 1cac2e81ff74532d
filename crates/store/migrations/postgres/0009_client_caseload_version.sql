-- A second per-client version, for the caseload's rows (issue 3's read path). A caseload row
-- shows, beyond scores and sessions (which `data_version` follows), the client's name and
-- status, overdue measures (from schedules) and the prompts wanting attention. The server keeps
-- each row in memory and serves it again only while both versions are unchanged and no due time
-- or session start has passed. Triggers bump it in the same transaction as any change to the
-- client's schedules or to a prompt's kind, urgency or state, so no writer can forget to; a
-- change to the client row itself (name, status) bumps it in that UPDATE.
ALTER TABLE clients ADD COLUMN caseload_version BIGINT NOT NULL DEFAULT 0;

-- Statement-level, so a multi-row insert (the sweep's) bumps each client once.
CREATE FUNCTION concord_bump_caseload_version() RETURNS trigger AS $$
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id IN (SELECT DISTINCT client_id FROM changed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER measure_schedules_insert_caseload AFTER INSERT ON measure_schedules
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_caseload_version();
CREATE TRIGGER measure_schedules_update_caseload AFTER UPDATE ON measure_schedules
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_caseload_version();
CREATE TRIGGER measure_schedules_delete_caseload AFTER DELETE ON measure_schedules
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_caseload_version();

CREATE TRIGGER prompts_insert_caseload AFTER INSERT ON prompts
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_caseload_version();
CREATE TRIGGER prompts_delete_caseload AFTER DELETE ON prompts
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_caseload_version();

-- Re-evaluation touches evaluated_at and condition_holds often; only kind, urgency and state
-- show. PostgreSQL allows no transition table on a trigger with a column list, so this one is
-- per row, and only for rows whose shown columns changed.
CREATE FUNCTION concord_bump_caseload_version_row() RETURNS trigger AS $$
BEGIN
    UPDATE clients SET caseload_version = caseload_version + 1 WHERE id = NEW.client_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER prompts_update_caseload AFTER UPDATE ON prompts FOR EACH ROW
WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.urgency IS DISTINCT FROM NEW.urgency OR OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION concord_bump_caseload_version_row();
