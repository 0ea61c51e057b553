-- Voice channel (PostgreSQL): calls still ringing from the live CTI API, and how far each tailed
-- log file has been read. Timestamps are Unix milliseconds.
CREATE TABLE voice_live_calls (
    call_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,       -- inbound | outbound
    from_raw TEXT NOT NULL,
    to_raw TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id),
    agent_id TEXT REFERENCES agents(id),
    queue TEXT,
    started_at BIGINT NOT NULL,
    answered_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX voice_live_calls_updated ON voice_live_calls(updated_at);

CREATE TABLE voice_tail_offsets (
    path TEXT PRIMARY KEY,
    identity TEXT NOT NULL,        -- device:inode of the file the offset belongs to
    byte_offset BIGINT NOT NULL,  -- first byte not yet consumed (always just after a newline)
    line_no BIGINT NOT NULL,      -- 1-based number of the line starting at byte_offset
    updated_at BIGINT NOT NULL
);
