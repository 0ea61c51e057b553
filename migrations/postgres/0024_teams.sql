-- Teams (issue 15, "access by team"): a team claims queues and has members. When the
-- deployment's switch `access_control.teams_enabled` is on, agents and supervisors see and
-- are offered only the conversations of their teams' queues (plus those assigned to them);
-- a queue no team claims stays visible to everyone. The switch is a row, not a setting, so
-- every node of a deployment reads the same value and an admin can flip it without a restart.
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE team_queues (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    queue_id TEXT NOT NULL REFERENCES queues (id),
    PRIMARY KEY (team_id, queue_id)
);
CREATE INDEX team_queues_queue ON team_queues (queue_id);
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);
CREATE TABLE access_control (
    id BIGINT PRIMARY KEY,
    teams_enabled BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO access_control (id, teams_enabled, updated_at) VALUES (1, 0, 0);
