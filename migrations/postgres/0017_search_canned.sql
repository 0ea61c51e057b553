-- Full-text search over what was said (issue 21). The folded copies `messages.body_search` and
-- `conversations.subject_search` (Persian/Arabic letter forms, digits and ZWNJ folded in Rust,
-- crates/text) are indexed as `simple` tsvectors (no stemming, so both backends match the same
-- words) in GIN indexes, which PostgreSQL keeps in the same transaction as the row.
CREATE INDEX messages_fts ON messages USING GIN (to_tsvector('simple', body_search));
CREATE INDEX conversations_fts ON conversations USING GIN (to_tsvector('simple', subject_search));

-- Canned responses: shared ones (owner_id NULL, managed by supervisors and admins) and each
-- agent's personal ones.
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    owner_id TEXT REFERENCES agents(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    shortcut TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX canned_responses_owner ON canned_responses(owner_id);
