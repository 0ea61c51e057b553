-- The router's periodic look for unanswered conversations of offline agents walked every
-- open conversation those agents had, reading each row (a year of history: ~6,000 of them,
-- 50 ms every second). This index holds only open, unanswered, assigned conversations, with
-- what the look filters on.
CREATE INDEX conversations_unanswered
    ON conversations(assignee_id, status, first_response_at, channel, queue_id, id)
    WHERE status = 'open' AND first_response_at IS NULL AND assignee_id IS NOT NULL;
