-- The deployment's event log (issue 15 item 3): every recorded event of a committed change,
-- written in the change's own transaction. `seq` follows commit order (SQLite has one writer;
-- AUTOINCREMENT never reuses a key, even after the oldest rows are pruned). Consoles resume
-- from it and every node re-reads what it did not receive over the bus. `logged_at` (Unix ms)
-- is for retention (`events.retention_days`).
CREATE TABLE event_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    conversation_id TEXT,
    customer_id TEXT,
    agent_id TEXT,
    data TEXT NOT NULL,
    at TEXT NOT NULL,
    logged_at BIGINT NOT NULL
);
