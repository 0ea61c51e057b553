-- A queue may serve by value: its waiting conversations' priority is raised by their
-- customer's RFM segment and lifetime value (settings routing.value_*).
ALTER TABLE queues ADD COLUMN serve_by_value INTEGER NOT NULL DEFAULT 0;
