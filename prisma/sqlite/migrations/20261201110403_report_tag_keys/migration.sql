-- The lower-cased tag list of a report, from which triggers keep its "ReportTag" rows (the tag
-- filter's index) in step: creating or retagging a report is then one statement, with no
-- transaction around it. Written by hand: the engine would redefine "Report" (copy the table),
-- which renumbers rowids under the FTS5 search index; SQLite adds a column with a constant
-- default in place.
ALTER TABLE "Report" ADD COLUMN "tagKeysJson" TEXT NOT NULL DEFAULT '[]';

-- Reports written before this migration: their keys are their tag rows (lower-cased by the server).
UPDATE "Report" SET "tagKeysJson" = (SELECT json_group_array("tag") FROM "ReportTag" WHERE "reportId" = "Report"."id")
WHERE EXISTS (SELECT 1 FROM "ReportTag" WHERE "reportId" = "Report"."id");

-- Deletes need no trigger: "ReportTag" rows cascade with their report.
CREATE TRIGGER "Report_tags_insert" AFTER INSERT ON "Report" BEGIN
  INSERT OR IGNORE INTO "ReportTag"("reportId", "tag") SELECT new."id", value FROM json_each(new."tagKeysJson");
END;
CREATE TRIGGER "Report_tags_update" AFTER UPDATE OF "tagKeysJson" ON "Report" WHEN old."tagKeysJson" IS NOT new."tagKeysJson" BEGIN
  DELETE FROM "ReportTag" WHERE "reportId" = new."id";
  INSERT OR IGNORE INTO "ReportTag"("reportId", "tag") SELECT new."id", value FROM json_each(new."tagKeysJson");
END;
