-- Widget uploads found in use by a message are marked, so the hourly cleanup of unused uploads
-- checks each upload once.
ALTER TABLE chat_attachments ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chat_attachments_unchecked ON chat_attachments(kept, created_at);
