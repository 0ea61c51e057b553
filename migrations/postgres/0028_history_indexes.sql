-- A year of history (issue 21): reads that want a few rows out of the whole history walk an
-- index in the order they return them, instead of reading every match and sorting.
-- Inbox lists (newest first by id, keyset cursor on id): by status, by queue, by assignee.
DROP INDEX conversations_status;
CREATE INDEX conversations_status ON conversations(status, id);
DROP INDEX conversations_queue;
CREATE INDEX conversations_queue ON conversations(queue_id, status, id) WHERE queue_id IS NOT NULL;
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations(assignee_id, status, id)
    WHERE assignee_id IS NOT NULL;
-- The router's sticky agent: a waiting customer's most recently served conversation.
CREATE INDEX conversations_customer_updated ON conversations(customer_id, updated_at);
