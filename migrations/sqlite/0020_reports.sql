-- Contact-center reports (SQLite). One fact per contact (a queued conversation, or a call or
-- fax record), rolled up per local day × queue × channel × agent; presence changes logged for
-- time-in-state and occupancy. Timestamps are Unix milliseconds.

-- Answered within this many seconds counts toward service level (NULL: 20 s for phone and
-- chat, the queue's first-response target for email and other channels).
ALTER TABLE queues ADD COLUMN service_level_seconds INTEGER;

CREATE TABLE report_facts (
    id TEXT PRIMARY KEY,           -- conversation id, or the message id of a call or fax
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    queue_id TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL,             -- local date of offered_at in reports.time_zone
    offered_at INTEGER NOT NULL,
    offered INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    short_abandoned INTEGER NOT NULL,
    within_target INTEGER NOT NULL,
    wait_ms INTEGER,               -- offered until answered
    handle_ms INTEGER,
    first_response_ms INTEGER,
    resolution_ms INTEGER,
    csat INTEGER,
    transfers INTEGER NOT NULL,
    callbacks INTEGER NOT NULL,
    callbacks_answered INTEGER NOT NULL
);
CREATE INDEX report_facts_conversation ON report_facts(conversation_id);
CREATE INDEX report_facts_offered ON report_facts(offered_at);
CREATE INDEX report_facts_group ON report_facts(day, queue_id, channel, agent_id);

CREATE TABLE report_daily (
    day TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    agent_id TEXT NOT NULL,        -- '*': the sum of every agent
    offered INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    short_abandoned INTEGER NOT NULL,
    within_target INTEGER NOT NULL,
    wait_ms INTEGER NOT NULL,
    handled INTEGER NOT NULL,
    handle_ms INTEGER NOT NULL,
    csat_sum INTEGER NOT NULL,
    csat_count INTEGER NOT NULL,
    transfers INTEGER NOT NULL,
    callbacks INTEGER NOT NULL,
    callbacks_answered INTEGER NOT NULL,
    first_response_hist TEXT NOT NULL, -- {"bucket": count}, see reports::histogram
    resolution_hist TEXT NOT NULL,
    PRIMARY KEY (day, queue_id, channel, agent_id)
);

-- How far the report worker has read each source: (time, id) of the last row seen.
CREATE TABLE report_positions (
    name TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    last_id TEXT NOT NULL
);

CREATE TABLE agent_presence_log (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE INDEX agent_presence_log_agent ON agent_presence_log(agent_id, started_at);
INSERT INTO agent_presence_log (id, agent_id, status, started_at)
    SELECT id || ':start', id, presence, presence_at FROM agents;

CREATE INDEX conversation_events_created ON conversation_events(created_at, id);
CREATE INDEX conversations_updated ON conversations(updated_at, id);
