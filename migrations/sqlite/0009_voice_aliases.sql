-- Voice: source ids of call records folded into another entry of the same call (a PBX CDR
-- completing the entry already logged from live CTI events, or a late CTI hangup completing
-- the CDR's entry). Storing such a record again is then reported as a duplicate, and an entry
-- with an alias is never paired again.
CREATE TABLE voice_source_ids (
    source_id TEXT PRIMARY KEY,    -- prefixed like messages.external_id: asterisk:<uniqueid>, cti:<callId>
    message_id TEXT NOT NULL REFERENCES messages(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX voice_source_ids_message ON voice_source_ids(message_id);
-- Phone entries by start time, per source, to find the entry of the same call from the other
-- source (partial indexes, so a busy log's calls from the other source are never scanned).
CREATE INDEX messages_cti_at ON messages(created_at)
    WHERE channel = 'phone' AND external_id LIKE 'cti:%';
CREATE INDEX messages_cdr_at ON messages(created_at)
    WHERE channel = 'phone' AND (external_id LIKE 'asterisk:%' OR external_id LIKE 'freeswitch:%');
