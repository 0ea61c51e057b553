-- The last UID this server flagged \Seen on the IMAP server. A node stopped between storing a
-- group (its position moves in the same transaction) and flagging it left those messages
-- unread for good; the next pass flags (seen_uid, last_uid]. Positions saved until now count
-- as flagged, so nothing a person has marked unread since is flagged again.
ALTER TABLE email_imap_state ADD COLUMN seen_uid BIGINT NOT NULL DEFAULT 0;
UPDATE email_imap_state SET seen_uid = last_uid;
