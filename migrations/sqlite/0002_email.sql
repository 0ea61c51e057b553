-- Email channel (SQLite). Timestamps are Unix milliseconds; flags 0/1; raw bytes as BLOB.
CREATE TABLE email_mailboxes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL UNIQUE,
    imap_host TEXT,
    imap_port INTEGER,
    imap_tls TEXT NOT NULL DEFAULT 'tls',      -- none | starttls | tls
    imap_user TEXT,
    imap_password TEXT,
    imap_folder TEXT NOT NULL DEFAULT 'INBOX',
    queue_id TEXT REFERENCES queues(id),
    smtp_host TEXT,
    smtp_port INTEGER,
    smtp_tls TEXT NOT NULL DEFAULT 'starttls', -- none | starttls | tls
    smtp_user TEXT,
    smtp_password TEXT,
    ack_enabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE email_quarantine (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    raw BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX email_quarantine_received ON email_quarantine(received_at);

CREATE TABLE email_attachments (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content_id TEXT,
    inline INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX email_attachments_message ON email_attachments(message_id);

CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    message_id TEXT,                           -- the agent's message; NULL for acknowledgements
    mailbox_id TEXT,
    kind TEXT NOT NULL,                        -- reply | ack
    rfc_message_id TEXT NOT NULL UNIQUE,       -- stable across retries
    to_address TEXT NOT NULL,
    to_name TEXT,
    subject TEXT NOT NULL,
    token INTEGER NOT NULL,
    body TEXT NOT NULL,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,                      -- pending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX email_outbox_due ON email_outbox(status, next_attempt_at);
CREATE INDEX email_outbox_conversation ON email_outbox(conversation_id);

CREATE TABLE email_imap_state (
    mailbox_id TEXT PRIMARY KEY REFERENCES email_mailboxes(id) ON DELETE CASCADE,
    uidvalidity INTEGER,
    last_uid INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    last_error TEXT,
    last_run_at INTEGER
);
