-- A per-client data version for issue 3's read path. Pages keep what they derive from a client's
-- scores and sessions (caseload measures, record-page charts) in memory and serve it again only
-- while this number is unchanged. Triggers bump it in the same transaction as any change to
-- the client's responses or sessions, so no writer (server, CLI, bulk import) can forget to.
-- Statement-level, so a multi-row insert bumps each client once.
ALTER TABLE clients ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION concord_bump_data_version() RETURNS trigger AS $$
BEGIN
    UPDATE clients SET data_version = data_version + 1 WHERE id IN (SELECT DISTINCT client_id FROM changed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER measure_responses_insert_version AFTER INSERT ON measure_responses
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();
CREATE TRIGGER measure_responses_update_version AFTER UPDATE ON measure_responses
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();
CREATE TRIGGER measure_responses_delete_version AFTER DELETE ON measure_responses
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();

CREATE TRIGGER client_sessions_insert_version AFTER INSERT ON client_sessions
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();
CREATE TRIGGER client_sessions_update_version AFTER UPDATE ON client_sessions
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();
CREATE TRIGGER client_sessions_delete_version AFTER DELETE ON client_sessions
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_data_version();
