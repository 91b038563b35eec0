-- Search over "Report"."searchText" (lower-cased title + body) through a pg_trgm GIN index:
-- `LIKE '%…%'` with escaped wildcards is answered from the index for substrings of 3+ characters,
-- and PostgreSQL keeps the index in step with every write itself.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "Report_searchText_trgm_idx" ON "Report" USING GIN ("searchText" gin_trgm_ops);
