-- Voice: reading the PBX's own records (its CDR database and its queue log).
-- Timestamps are Unix milliseconds unless said otherwise.

-- One row per PBX source read by one node at a time (`cdr:<host>/<database>.<table>`): the
-- lease, and for a CDR table the keyset position of the last record read in
-- (calldate, uniqueid, sequence) order and the CDR database's clock at the last pass.
CREATE TABLE voice_pbx_positions (
    name TEXT PRIMARY KEY,
    calldate TEXT NOT NULL DEFAULT '',   -- PBX local time, 'YYYY-MM-DD HH:MM:SS'
    uniqueid TEXT NOT NULL DEFAULT '',
    sequence INTEGER NOT NULL DEFAULT -1,
    checked_at TEXT,                     -- the CDR database's clock at the last pass (PBX local)
    holder TEXT,
    locked_until INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

-- Calls (linkedid) folded from a CDR table and stored: a record re-read in the look-back
-- window is skipped, one arriving after its call was stored updates the call's entry.
CREATE TABLE voice_cdr_calls (
    source TEXT NOT NULL,
    linkedid TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    message_id TEXT,                     -- the call's entry; NULL: internal or not storable
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (source, linkedid)
);

-- What happened to each call inside the PBX's queues (from queue_log), by the caller
-- channel's uniqueid (queue_log's callid). Read by the reports.
CREATE TABLE voice_queue_calls (
    call_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    caller TEXT,
    entered_at INTEGER NOT NULL,
    wait_secs INTEGER,                    -- before answer, abandon or exit
    outcome TEXT NOT NULL,               -- waiting | answered | abandoned | timeout | empty | exit_key
    agent TEXT,                          -- the queue member as logged: PJSIP/201, Local/201@from-queue/n
    agent_extension TEXT,
    agent_id TEXT,
    talk_secs INTEGER,
    ended_by TEXT,                       -- caller | agent | transfer
    rang INTEGER NOT NULL DEFAULT 0,      -- agents rung without answer (RINGNOANSWER)
    ended_at INTEGER,
    message_id TEXT,                     -- the call's entry once stored
    updated_at INTEGER NOT NULL
);
CREATE INDEX voice_queue_calls_entered ON voice_queue_calls(entered_at);
CREATE INDEX voice_queue_calls_unlinked ON voice_queue_calls(updated_at) WHERE message_id IS NULL;

-- Queue members' log-ins, log-outs and pauses (ADDMEMBER, REMOVEMEMBER, PAUSE, UNPAUSE, …).
CREATE TABLE voice_queue_member_events (
    at INTEGER NOT NULL,
    queue TEXT NOT NULL,
    agent TEXT NOT NULL,
    agent_extension TEXT,
    event TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (at, queue, agent, event)
);
