-- Web chat channel (PostgreSQL): sites, visitors, ratings, attachments, and the server secret
-- that signs visitor tokens and attachment URLs.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE chat_sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    site_key TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    queue_id TEXT REFERENCES queues(id),
    prechat_fields TEXT NOT NULL DEFAULT '[]',
    business_hours TEXT,
    identity_secret TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A visitor row exists once the visitor did something (message, pre-chat, read receipt).
CREATE TABLE chat_visitors (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES chat_sites(id),
    customer_id TEXT REFERENCES customers(id),
    conversation_id TEXT REFERENCES conversations(id),
    name TEXT,
    email TEXT,
    read_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chat_visitors_conversation ON chat_visitors(conversation_id);

CREATE TABLE chat_ratings (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    visitor_id TEXT NOT NULL,
    score BIGINT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE chat_attachments (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES chat_sites(id),
    visitor_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_attachments_visitor ON chat_attachments(visitor_id);
