-- The default queue: every channel, so that conversations, chats, emails and callbacks that
-- nothing else assigns a queue are routed on a fresh install. Its id is fixed
-- (src/queues.rs DEFAULT_QUEUE_ID); a queue already called this keeps its place.
INSERT INTO queues (id, name, channels, skills, language, priority, auto_accept, created_at, updated_at)
VALUES ('00000000-0000-7000-8000-000000000001', 'General — عمومی',
        '["email","chat","phone","fax","api"]', '[]', NULL, 0, 0,
        (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT)
ON CONFLICT DO NOTHING;
