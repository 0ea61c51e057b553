-- The router's periodic SLA work visits only the conversations it concerns, not every open
-- one (with 10,000 open conversations each of these was a 3–5 ms scan, every second).
-- Queued conversations still waiting for their due times to be stamped:
CREATE INDEX conversations_first_response_unstamped ON conversations(status)
    WHERE queue_id IS NOT NULL AND first_response_due IS NULL AND first_response_at IS NULL;
CREATE INDEX conversations_resolution_unstamped ON conversations(status)
    WHERE queue_id IS NOT NULL AND resolution_due IS NULL;
-- Deadlines that can still be breached, by due time:
CREATE INDEX conversations_first_response_due ON conversations(first_response_due)
    WHERE status = 'open' AND first_response_at IS NULL AND first_response_due IS NOT NULL;
CREATE INDEX conversations_resolution_due ON conversations(resolution_due)
    WHERE status IN ('open', 'pending') AND resolution_due IS NOT NULL;
