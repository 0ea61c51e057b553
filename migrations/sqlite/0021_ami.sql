-- Asterisk Manager Interface (AMI). Timestamps are Unix milliseconds.

-- Which node follows each PBX (a lease renewed while it is connected) and how the link is:
-- connecting | connected | auth_failed | unreachable.
CREATE TABLE voice_pbx_links (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    updated_at INTEGER NOT NULL
);

-- Calls in progress as AMI reported them, one per PBX and Linkedid: the tracker's view (JSON),
-- so that a node taking a PBX over goes on where the previous one stopped.
CREATE TABLE voice_ami_calls (
    call_key TEXT PRIMARY KEY,     -- <pbx>:<linkedid>
    pbx TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX voice_ami_calls_pbx ON voice_ami_calls(pbx, updated_at);

-- Agents' phones as the PBX reports them (DeviceStateChange / ExtensionStatus): an agent whose
-- phone is in use is on the phone, and their `blocks` of "phone" apply.
CREATE TABLE agent_phone_states (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id),
    device_state TEXT NOT NULL,
    on_call INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- AMI entries pair with PBX call records (CDRs) as CTI ones do.
DROP INDEX messages_cti_at;
CREATE INDEX messages_cti_at ON messages(created_at)
    WHERE channel = 'phone' AND (external_id LIKE 'cti:%' OR external_id LIKE 'ami:%');
