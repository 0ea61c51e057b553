-- Fewer index entries per stored contact.
-- messages(conversation_id, seq) is already indexed by the table's UNIQUE (conversation_id, seq)
-- constraint; the second, identical index only cost a B-tree insert per stored message.
DROP INDEX messages_conversation;
-- Conversations without a queue or an assignee (most logged calls, resolved at once) need no
-- entry in these indexes: every query on them names a queue (`queue_id = …` or
-- `queue_id IS NOT NULL`) or an agent; "unassigned" lists go by status.
DROP INDEX conversations_queue;
CREATE INDEX conversations_queue ON conversations(queue_id, status) WHERE queue_id IS NOT NULL;
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations(assignee_id, status) WHERE assignee_id IS NOT NULL;
-- A customer's open conversations (matching a new contact to one) without visiting each of the
-- customer's resolved ones; still serves every lookup by customer alone.
DROP INDEX conversations_customer;
CREATE INDEX conversations_customer ON conversations(customer_id, status);
