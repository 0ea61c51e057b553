-- Business-hours calendars (issue 18): weekly local hours per day (JSON, Saturday first),
-- an IANA time zone and holidays (JSON list of ISO dates). Queues and chat sites may use one;
-- a queue with business_time_only = 1 runs its SLA clocks in the calendar's business time.
CREATE TABLE business_hours (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    weekly TEXT NOT NULL,
    holidays TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
ALTER TABLE queues ADD COLUMN business_hours_id TEXT;
ALTER TABLE queues ADD COLUMN business_time_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_sites ADD COLUMN business_hours_id TEXT;
