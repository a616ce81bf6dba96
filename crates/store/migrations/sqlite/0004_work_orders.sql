-- Work orders (issue 6): each order is the append-only list of its events, plus a projection of
-- the few columns the listings filter and sort on. The store does not interpret the events: the
-- work-order service replays them (hotline-workorder) and hands over the projected columns.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as in call_records.

-- The projection of an order's events. no is the readable number (YC20261125-000123); record is
-- the call record the order came from, UNIQUE so creating an order for a call is idempotent.
-- No foreign key to call_records: the record is written asynchronously (and may be spooled)
-- while the order is created at once. version is the number of events, the optimistic
-- concurrency token: an append names the version it was computed from and loses if another
-- append got there first. status is the service's vocabulary, not checked here.
CREATE TABLE work_orders (
    no         TEXT    NOT NULL PRIMARY KEY,
    record     TEXT    NOT NULL UNIQUE,
    status     TEXT    NOT NULL CHECK (status <> ''),
    lead_unit  TEXT,
    due_at     BIGINT,
    owner      TEXT,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
);

-- A unit's open orders, soonest deadline first.
CREATE INDEX work_orders_unit_status_due ON work_orders (lead_unit, status, due_at);
-- Overdue orders of every unit.
CREATE INDEX work_orders_status_due ON work_orders (status, due_at);

-- The events, never updated. seq is 1-based and gapless per order; event is the JSON object the
-- service serialized, kept as written (step and actor are copies for reading without parsing).
CREATE TABLE work_order_events (
    no    TEXT    NOT NULL REFERENCES work_orders (no),
    seq   INTEGER NOT NULL CHECK (seq >= 1),
    at    BIGINT  NOT NULL,
    actor TEXT    NOT NULL,
    step  TEXT    NOT NULL CHECK (step <> ''),
    event TEXT    NOT NULL CHECK (json_valid(event) AND json_type(event) = 'object'),
    PRIMARY KEY (no, seq)
);

-- The sequence part of the order numbers, per Beijing day (YYYYMMDD): last is the number handed
-- out most recently, incremented by one UPSERT so concurrent callers never share one.
CREATE TABLE work_order_numbers (
    day  TEXT    NOT NULL PRIMARY KEY CHECK (length(day) = 8),
    last INTEGER NOT NULL CHECK (last >= 1)
);
