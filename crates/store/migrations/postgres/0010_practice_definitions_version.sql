-- A per-practice version of its imported instrument definitions (issue 3's read path). Every
-- page that scores or names a measure needs the practice's registry; the server keeps it in
-- memory and reads the version with the session or token that authenticates the request, so a
-- page reads the definitions only after an import. Triggers bump it in the same transaction as
-- any change to the definitions, so no writer (the web import, the CLI, another server) can
-- forget to.
ALTER TABLE practices ADD COLUMN definitions_version BIGINT NOT NULL DEFAULT 0;

-- Statement-level, so a multi-row change bumps each practice once.
CREATE FUNCTION concord_bump_definitions_version() RETURNS trigger AS $$
BEGIN
    UPDATE practices SET definitions_version = definitions_version + 1 WHERE id IN (SELECT DISTINCT practice_id FROM changed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER instrument_definitions_insert_version AFTER INSERT ON instrument_definitions
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_definitions_version();
CREATE TRIGGER instrument_definitions_update_version AFTER UPDATE ON instrument_definitions
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_definitions_version();
CREATE TRIGGER instrument_definitions_delete_version AFTER DELETE ON instrument_definitions
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION concord_bump_definitions_version();
