-- Call records (W1), one row per INVITE dialog.
-- Times are BIGINT milliseconds since the Unix epoch (UTC): sqlx's Any driver carries no date/time
-- types, and an integer sorts, indexes and compares the same way in SQLite and PostgreSQL.
-- kind and end_reason hold the stable snake_case names from hotline-cdr.
CREATE TABLE call_records (
    id             TEXT    NOT NULL PRIMARY KEY,
    sip_call_id    TEXT    NOT NULL,
    caller         TEXT    NOT NULL,
    caller_display TEXT,
    dialed         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    line_number    TEXT,
    line_unit      TEXT,
    line_mode      TEXT,
    arrived_at     BIGINT  NOT NULL,
    ringing_at     BIGINT,
    answered_at    BIGINT,
    ended_at       BIGINT  NOT NULL,
    end_reason     TEXT    NOT NULL,
    sip_code       INTEGER NOT NULL,
    agent          TEXT,
    source         TEXT
);

CREATE INDEX call_records_arrived_at ON call_records (arrived_at);
CREATE INDEX call_records_caller ON call_records (caller);
