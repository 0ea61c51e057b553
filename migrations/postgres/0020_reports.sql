-- Contact-center reports (PostgreSQL). One fact per contact (a queued conversation, or a call or
-- fax record), rolled up per local day × queue × channel × agent; presence changes logged for
-- time-in-state and occupancy. Timestamps are Unix milliseconds.

-- Answered within this many seconds counts toward service level (NULL: 20 s for phone and
-- chat, the queue's first-response target for email and other channels).
ALTER TABLE queues ADD COLUMN service_level_seconds BIGINT;

CREATE TABLE report_facts (
    id TEXT PRIMARY KEY,           -- conversation id, or the message id of a call or fax
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    queue_id TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL,             -- local date of offered_at in reports.time_zone
    offered_at BIGINT NOT NULL,
    offered BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    short_abandoned BIGINT NOT NULL,
    within_target BIGINT NOT NULL,
    wait_ms BIGINT,               -- offered until answered
    handle_ms BIGINT,
    first_response_ms BIGINT,
    resolution_ms BIGINT,
    csat BIGINT,
    transfers BIGINT NOT NULL,
    callbacks BIGINT NOT NULL,
    callbacks_answered BIGINT NOT NULL
);
CREATE INDEX report_facts_conversation ON report_facts(conversation_id);
CREATE INDEX report_facts_offered ON report_facts(offered_at);
CREATE INDEX report_facts_group ON report_facts(day, queue_id, channel, agent_id);

CREATE TABLE report_daily (
    day TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    agent_id TEXT NOT NULL,        -- '*': the sum of every agent
    offered BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    short_abandoned BIGINT NOT NULL,
    within_target BIGINT NOT NULL,
    wait_ms BIGINT NOT NULL,
    handled BIGINT NOT NULL,
    handle_ms BIGINT NOT NULL,
    csat_sum BIGINT NOT NULL,
    csat_count BIGINT NOT NULL,
    transfers BIGINT NOT NULL,
    callbacks BIGINT NOT NULL,
    callbacks_answered BIGINT NOT NULL,
    first_response_hist TEXT NOT NULL, -- {"bucket": count}, see reports::histogram
    resolution_hist TEXT NOT NULL,
    PRIMARY KEY (day, queue_id, channel, agent_id)
);

-- How far the report worker has read each source: (time, id) of the last row seen.
CREATE TABLE report_positions (
    name TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    last_id TEXT NOT NULL
);

CREATE TABLE agent_presence_log (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX agent_presence_log_agent ON agent_presence_log(agent_id, started_at);
INSERT INTO agent_presence_log (id, agent_id, status, started_at)
    SELECT id || ':start', id, presence, presence_at FROM agents;

CREATE INDEX conversation_events_created ON conversation_events(created_at, id);
CREATE INDEX conversations_updated ON conversations(updated_at, id);
