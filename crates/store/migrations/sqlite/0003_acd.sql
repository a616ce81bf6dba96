-- The ACD's state that must survive a restart: agent login states, callback work items and each
-- day's queue counters; plus an index for the repeat-caller rule's look-up in call_records.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as in call_records.

-- Only the states an agent is put back into after a restart: a restart ends every call, so the
-- busy states (reserved, talking, wrap_up) are never stored.
CREATE TABLE acd_agent_states (
    agent      TEXT    NOT NULL PRIMARY KEY,
    state      TEXT    NOT NULL CHECK (state IN ('logged_out', 'ready', 'not_ready')),
    reason     TEXT,
    updated_at BIGINT  NOT NULL
);

-- A caller's place in a queue kept as a callback work item. tag is the call record id; no
-- foreign key, because the call record is written asynchronously (and may be spooled) while the
-- callback is stored at once. message is INTEGER 0/1 in both dialects: sqlx's Any driver
-- refuses SQLite's BOOLEAN column type and will not decode an INTEGER as a bool.
CREATE TABLE acd_callbacks (
    tag          TEXT    NOT NULL PRIMARY KEY,
    queue        TEXT    NOT NULL,
    caller       TEXT    NOT NULL,
    priority     INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 255),
    message      INTEGER NOT NULL CHECK (message IN (0, 1)),
    recording    TEXT,
    requested_at BIGINT  NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'cancelled')),
    agent        TEXT,
    done_at      BIGINT,
    outcome      TEXT
);

-- The restart reads the pending items oldest first.
CREATE INDEX acd_callbacks_status_requested_at ON acd_callbacks (status, requested_at);

-- day is the Beijing calendar date (YYYY-MM-DD) the counters belong to; counters is the JSON
-- object the ACD serializes, opaque to the store.
CREATE TABLE acd_queue_stats (
    day        TEXT    NOT NULL,
    queue      TEXT    NOT NULL,
    counters   TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (day, queue)
);

-- The repeat-caller rule reads the answered calls of the last hours after a restart: a range on
-- answered_at, and only answered calls are worth indexing.
CREATE INDEX call_records_answered_at ON call_records (answered_at) WHERE answered_at IS NOT NULL;
