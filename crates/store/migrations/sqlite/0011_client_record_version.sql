-- A third per-client version, for what the client record page shows beyond the scores and
-- sessions (`data_version`) and the schedules, prompts, name and status (`caseload_version`):
-- the client's portal links. The record page keeps a client's schedules, portal links and open
-- prompts in memory and serves them again only while all three versions are unchanged and the
-- clock has passed no due time (issue 3's read path). Triggers bump it in the same transaction
-- as any change to a portal link (created, opened, revoked, deleted), so no writer can forget to.
ALTER TABLE clients ADD COLUMN record_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER portal_links_insert_record AFTER INSERT ON portal_links
BEGIN
    UPDATE clients SET record_version = record_version + 1 WHERE id = NEW.client_id;
END;

CREATE TRIGGER portal_links_update_record AFTER UPDATE ON portal_links
BEGIN
    UPDATE clients SET record_version = record_version + 1 WHERE id IN (OLD.client_id, NEW.client_id);
END;

CREATE TRIGGER portal_links_delete_record AFTER DELETE ON portal_links
BEGIN
    UPDATE clients SET record_version = record_version + 1 WHERE id = OLD.client_id;
END;
