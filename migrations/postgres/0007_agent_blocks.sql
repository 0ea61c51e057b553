-- Channels that stop an agent from taking new work on other channels while busy, e.g.
-- {"phone": ["chat"]}: during a call the agent gets no new chats.
ALTER TABLE agents ADD COLUMN blocks TEXT NOT NULL DEFAULT '{}';
