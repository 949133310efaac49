-- Arrival numbers are never reused: `hookcli delete` records the highest one in meta
-- 'seq_floor' and new captures are numbered above it, so the search index's progress mark
-- and `list --follow` never skip a capture. Before this, deleting the newest captures let
-- new ones reuse numbers the index counted as done: index everything again. Searches scan
-- rows not yet indexed directly, so their results stay complete meanwhile.
-- The highest number known to have been used: the index's progress mark may be above the
-- newest capture left.
INSERT INTO meta (key, value)
SELECT 'seq_floor', MAX(upto, COALESCE((SELECT MAX(seq) FROM captures), 0)) FROM fts_progress
WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value;
INSERT INTO captures_fts (captures_fts) VALUES ('delete-all');
UPDATE fts_progress SET upto = 0;
