-- Per-queue SLA targets (NULL: the [routing] settings apply).
ALTER TABLE queues ADD COLUMN first_response_minutes BIGINT;
ALTER TABLE queues ADD COLUMN resolution_hours BIGINT;
-- When an agent goes offline, their unanswered email goes back to the queue only when set (1).
ALTER TABLE queues ADD COLUMN requeue_email_when_offline BIGINT NOT NULL DEFAULT 0;
