-- Full-text search over "Report"."searchText" (lower-cased title + body): an FTS5 index with the
-- trigram tokenizer, so any substring of 3+ characters is found through the index and punctuation
-- (`%`, `_`, quotes) is indexed like any other character: nothing in a term is a wildcard.
-- External content: the index stores no second copy of the text; it reads "Report" by rowid.
-- The schema engine does not model virtual tables or triggers; src/db/schemaEngine.ts lists
-- "ReportSearch" and its shadow tables as external tables so the drift check leaves them alone.
-- A later migration that redefines "Report" (SQLite copies the table, renumbering rowids) must
-- recreate these triggers and end with the 'rebuild' statement below.
CREATE VIRTUAL TABLE "ReportSearch" USING fts5("searchText", content='Report', content_rowid='rowid', tokenize='trigram case_sensitive 1');

-- Kept in step with every write, cascaded deletes included (they fire triggers too).
CREATE TRIGGER "Report_search_insert" AFTER INSERT ON "Report" BEGIN
  INSERT INTO "ReportSearch"(rowid, "searchText") VALUES (new.rowid, new."searchText");
END;
CREATE TRIGGER "Report_search_delete" AFTER DELETE ON "Report" BEGIN
  INSERT INTO "ReportSearch"("ReportSearch", rowid, "searchText") VALUES ('delete', old.rowid, old."searchText");
END;
CREATE TRIGGER "Report_search_update" AFTER UPDATE OF "searchText" ON "Report" BEGIN
  INSERT INTO "ReportSearch"("ReportSearch", rowid, "searchText") VALUES ('delete', old.rowid, old."searchText");
  INSERT INTO "ReportSearch"(rowid, "searchText") VALUES (new.rowid, new."searchText");
END;

-- Reports written before this migration.
INSERT INTO "ReportSearch"("ReportSearch") VALUES ('rebuild');
