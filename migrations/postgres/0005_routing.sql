-- Routing (PostgreSQL): offers of waiting conversations to agents, declines, agent idle times,
-- SLA breaches (published once) and live console connections (presence grace).
CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,          -- offered | accepted | declined | expired | withdrawn
    auto BIGINT NOT NULL DEFAULT 0, -- 1: direct assignment of an auto-accept queue
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT
);
-- At most one outstanding offer per conversation, whatever the nodes do.
CREATE UNIQUE INDEX offers_outstanding ON offers(conversation_id) WHERE status = 'offered';
CREATE INDEX offers_agent ON offers(agent_id, status);
CREATE INDEX offers_conversation ON offers(conversation_id, created_at);
CREATE INDEX offers_status ON offers(status, expires_at);

CREATE TABLE routing_declines (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
);

CREATE TABLE agent_routing (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id),
    idle_since BIGINT NOT NULL
);

CREATE TABLE sla_breaches (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    kind TEXT NOT NULL,            -- first_response
    due BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, kind)
);

CREATE TABLE console_connections (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    node TEXT NOT NULL,
    connected_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX console_connections_agent ON console_connections(agent_id, seen_at);

-- Which node runs the periodic router pass (others still route on their own events).
CREATE TABLE routing_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
