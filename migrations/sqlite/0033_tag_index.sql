-- A tagged inbox (`?tag=callback&status=open`) walks the tag's conversations newest first and
-- stops at the page's end (the same index as PostgreSQL's migration 0033; there it also
-- stores the search vectors, which SQLite's FTS5 tables hold already).
CREATE INDEX conversation_tags_by_tag ON conversation_tags(tag, conversation_id);
DROP INDEX conversation_tags_tag;
