-- A per-practice version of its imported instrument definitions (issue 3's read path). Every
-- page that scores or names a measure needs the practice's registry; the server keeps it in
-- memory and reads the version with the session or token that authenticates the request, so a
-- page reads the definitions only after an import. Triggers bump it in the same transaction as
-- any change to the definitions, so no writer (the web import, the CLI, another server) can
-- forget to.
ALTER TABLE practices ADD COLUMN definitions_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER instrument_definitions_insert_version AFTER INSERT ON instrument_definitions
BEGIN
    UPDATE practices SET definitions_version = definitions_version + 1 WHERE id = NEW.practice_id;
END;

CREATE TRIGGER instrument_definitions_update_version AFTER UPDATE ON instrument_definitions
BEGIN
    UPDATE practices SET definitions_version = definitions_version + 1 WHERE id IN (OLD.practice_id, NEW.practice_id);
END;

CREATE TRIGGER instrument_definitions_delete_version AFTER DELETE ON instrument_definitions
BEGIN
    UPDATE practices SET definitions_version = definitions_version + 1 WHERE id = OLD.practice_id;
END;
