-- Core schema (PostgreSQL). Timestamps are Unix milliseconds; JSON is stored as TEXT; flags 0/1.
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    skills TEXT NOT NULL DEFAULT '[]',
    languages TEXT NOT NULL DEFAULT '[]',
    capacity TEXT NOT NULL DEFAULT '{}',
    extension TEXT,
    presence TEXT NOT NULL DEFAULT 'offline',
    presence_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX agents_extension ON agents(extension) WHERE extension IS NOT NULL;

CREATE TABLE auth_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,            -- 'session' | 'api'
    agent_id TEXT REFERENCES agents(id),
    name TEXT,
    scopes TEXT NOT NULL DEFAULT '[]',
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE queues (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    channels TEXT NOT NULL DEFAULT '[]',
    skills TEXT NOT NULL DEFAULT '[]',
    language TEXT,
    priority BIGINT NOT NULL DEFAULT 0,
    auto_accept BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT,
    name_search TEXT NOT NULL DEFAULT '',
    language TEXT,
    tier TEXT NOT NULL DEFAULT 'standard',
    attributes TEXT NOT NULL DEFAULT '{}',
    merged_into TEXT REFERENCES customers(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customers_name_search ON customers(name_search);

CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    kind TEXT NOT NULL,            -- email | phone | visitor | external
    value TEXT NOT NULL,           -- normalised form
    raw TEXT NOT NULL,             -- as given
    created_at BIGINT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX identities_customer ON identities(customer_id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL DEFAULT 0,
    queue_id TEXT REFERENCES queues(id),
    assignee_id TEXT REFERENCES agents(id),
    subject TEXT NOT NULL DEFAULT '',
    subject_search TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT,
    enqueued_at BIGINT,
    last_seq BIGINT NOT NULL DEFAULT 0,
    first_response_due BIGINT,
    resolution_due BIGINT,
    first_response_at BIGINT,
    resolved_at BIGINT
);
CREATE INDEX conversations_customer ON conversations(customer_id);
CREATE INDEX conversations_status ON conversations(status);
CREATE INDEX conversations_queue ON conversations(queue_id, status);
CREATE INDEX conversations_assignee ON conversations(assignee_id, status);

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(tag);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq BIGINT NOT NULL,
    author_kind TEXT NOT NULL,     -- customer | agent | system
    author_id TEXT,
    body TEXT NOT NULL,
    body_search TEXT NOT NULL DEFAULT '',
    internal BIGINT NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    external_id TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_external ON messages(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages(conversation_id, seq);

CREATE TABLE conversation_events (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,      -- agent | api | system | customer
    actor_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX conversation_events_conversation ON conversation_events(conversation_id, id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '["*"]',
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_status TEXT,
    last_status_code BIGINT,
    last_error TEXT,
    last_delivery_at BIGINT
);

CREATE TABLE webhook_event_filters (
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event)
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,          -- pending | delivered | failed
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_status_code BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);
CREATE SEQUENCE conversation_numbers START 1000;
