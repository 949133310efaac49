-- Full-text search over bodies (`hookcli list --search`). Trigram, so any substring of three
-- or more characters matches, like grep. Contentless: the text lives in captures.body only.
-- The listen writer fills it when idle; fts_progress says how far it got, and searches scan
-- the rows after that directly, so results are complete either way.
CREATE VIRTUAL TABLE captures_fts USING fts5(body, content='', contentless_delete=1, tokenize='trigram');
CREATE TABLE fts_progress (upto INTEGER NOT NULL);
INSERT INTO fts_progress (upto) VALUES (0);
CREATE INDEX captures_received_at ON captures (received_at);
