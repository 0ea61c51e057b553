-- Per-queue SLA targets (NULL: the [routing] settings apply).
ALTER TABLE queues ADD COLUMN first_response_minutes INTEGER;
ALTER TABLE queues ADD COLUMN resolution_hours INTEGER;
