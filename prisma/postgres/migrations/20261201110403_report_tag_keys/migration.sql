-- The lower-cased tag list of a report, from which triggers keep its "ReportTag" rows (the tag
-- filter's index) in step: creating or retagging a report is then one statement, with no
-- transaction around it. The schema engine neither models nor compares functions and triggers.
ALTER TABLE "Report" ADD COLUMN "tagKeysJson" TEXT NOT NULL DEFAULT '[]';

-- Reports written before this migration: their keys are their tag rows (lower-cased by the server).
UPDATE "Report" r SET "tagKeysJson" = t.keys
FROM (SELECT "reportId", jsonb_agg("tag")::text AS keys FROM "ReportTag" GROUP BY "reportId") t
WHERE t."reportId" = r."id";

-- Deletes need no trigger: "ReportTag" rows cascade with their report.
CREATE FUNCTION "report_tags_sync"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM "ReportTag" WHERE "reportId" = NEW."id";
  END IF;
  INSERT INTO "ReportTag"("reportId", "tag")
    SELECT NEW."id", key FROM jsonb_array_elements_text(NEW."tagKeysJson"::jsonb) AS key
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER "Report_tags_insert" AFTER INSERT ON "Report"
  FOR EACH ROW EXECUTE FUNCTION "report_tags_sync"();
CREATE TRIGGER "Report_tags_update" AFTER UPDATE OF "tagKeysJson" ON "Report"
  FOR EACH ROW WHEN (OLD."tagKeysJson" IS DISTINCT FROM NEW."tagKeysJson") EXECUTE FUNCTION "report_tags_sync"();
