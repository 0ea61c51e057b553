-- Search reads stored vectors (issue 21). The GIN indexes of migration 0017 were on the
-- expression `to_tsvector('simple', body_search)`, so any plan that reads rows (the walk over
-- the newest messages for a common word, a recheck) parsed each message's text again: for a
-- word in 1.7 % of a year's messages, ~60 parses per match. The vectors are now columns
-- PostgreSQL computes on every insert and update (as the index did) and the indexes are on
-- them. On upgrade this rewrites `messages` and `conversations` once.
ALTER TABLE messages
    ADD COLUMN body_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body_search)) STORED;
ALTER TABLE conversations
    ADD COLUMN subject_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', subject_search)) STORED;
DROP INDEX messages_fts;
CREATE INDEX messages_fts ON messages USING GIN (body_tsv);
DROP INDEX conversations_fts;
CREATE INDEX conversations_fts ON conversations USING GIN (subject_tsv);

-- A tagged inbox (`?tag=callback&status=open`) walks the tag's conversations newest first and
-- stops at the page's end. With only `(tag)` indexed, PostgreSQL walked every open
-- conversation backwards until it had met enough tagged ones (96 ms with a year of history).
CREATE INDEX conversation_tags_by_tag ON conversation_tags(tag, conversation_id);
DROP INDEX conversation_tags_tag;

-- Statistics for the new columns now: the search chooses its plan from the planner's estimate
-- of a word's matches, which without them treats every word as rare (a common word would then
-- be read through the index in full), and a rewritten table is not analysed again until it
-- has changed enough.
ANALYZE messages;
ANALYZE conversations;
