-- messages(conversation_id, seq) is already indexed by the table's UNIQUE (conversation_id, seq)
-- constraint; the second, identical index only cost a B-tree insert per stored message.
DROP INDEX messages_conversation;
