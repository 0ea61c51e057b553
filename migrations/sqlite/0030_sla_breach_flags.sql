-- The router's SLA check, every second, visited every overdue open conversation again to see
-- whether its breach was recorded (a year of history: ~80 ms a pass, and new conversations
-- waited behind it for their offer). A recorded breach now also marks the conversation, and
-- the partial indexes the check walks hold only deadlines that can still be breached.
ALTER TABLE conversations ADD COLUMN first_response_breached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN resolution_breached INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET first_response_breached = 1
    WHERE id IN (SELECT conversation_id FROM sla_breaches WHERE kind = 'first_response');
UPDATE conversations SET resolution_breached = 1
    WHERE id IN (SELECT conversation_id FROM sla_breaches WHERE kind = 'resolution');
DROP INDEX conversations_first_response_due;
CREATE INDEX conversations_first_response_due ON conversations(first_response_due)
    WHERE status = 'open' AND first_response_at IS NULL AND first_response_due IS NOT NULL
      AND first_response_breached = 0;
DROP INDEX conversations_resolution_due;
CREATE INDEX conversations_resolution_due ON conversations(resolution_due)
    WHERE status IN ('open', 'pending') AND resolution_due IS NOT NULL AND resolution_breached = 0;
