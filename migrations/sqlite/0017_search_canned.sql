-- Full-text search over what was said (issue 21). The folded copies `messages.body_search` and
-- `conversations.subject_search` (Persian/Arabic letter forms, digits and ZWNJ folded in Rust,
-- crates/text) are indexed by FTS5 external-content tables that triggers keep in the same
-- transaction as the row. `switchboard search reindex` rebuilds them (e.g. after a VACUUM,
-- which may renumber the rowids these tables point at).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body_search, content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body_search) VALUES (new.rowid, new.body_search);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body_search) VALUES ('delete', old.rowid, old.body_search);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body_search ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body_search) VALUES ('delete', old.rowid, old.body_search);
    INSERT INTO messages_fts(rowid, body_search) VALUES (new.rowid, new.body_search);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    subject_search, content = 'conversations', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild');
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, subject_search) VALUES (new.rowid, new.subject_search);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, subject_search) VALUES ('delete', old.rowid, old.subject_search);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF subject_search ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, subject_search) VALUES ('delete', old.rowid, old.subject_search);
    INSERT INTO conversations_fts(rowid, subject_search) VALUES (new.rowid, new.subject_search);
END;

-- Canned responses: shared ones (owner_id NULL, managed by supervisors and admins) and each
-- agent's personal ones.
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    owner_id TEXT REFERENCES agents(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    shortcut TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX canned_responses_owner ON canned_responses(owner_id);
