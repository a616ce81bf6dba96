-- Decision support and early warning (issue 9): one row of facts per work order for the
-- analysis, the per-day counts the dashboard reads, and the alerts of the warning rules.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as in the other tables.

-- What the analysis knows of an order (hotline-insight's OrderFact without its words, which
-- are cut from text when needed). no is the work order number; day is the Beijing (UTC+8)
-- date of at as yyyymmdd and category1 the first part of the category path ('/'-separated),
-- both derived by the store from at and category; unit is the lead unit, NULL until
-- dispatched (never ''); line is the annex number dialed.
CREATE TABLE order_facts (
    no           TEXT    NOT NULL PRIMARY KEY CHECK (no <> ''),
    at           BIGINT  NOT NULL,
    day          INTEGER NOT NULL CHECK (day BETWEEN 10000101 AND 99991231),
    channel      TEXT    NOT NULL,
    request_type TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    category1    TEXT    NOT NULL,
    area         TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    unit         TEXT    CHECK (unit <> ''),
    line         TEXT    NOT NULL,
    text         TEXT    NOT NULL
);
-- A period's facts oldest first (the hot-topic run loads a month).
CREATE INDEX order_facts_at ON order_facts (at, no);
-- Drill-down: one key of one dimension over a range of time, newest first, a page at a time;
-- each index holds what the page returns (no), so a page reads only its own entries.
CREATE INDEX order_facts_channel ON order_facts (channel, at, no);
CREATE INDEX order_facts_request_type ON order_facts (request_type, at, no);
CREATE INDEX order_facts_category1 ON order_facts (category1, at, no);
CREATE INDEX order_facts_category ON order_facts (category, at, no);
CREATE INDEX order_facts_area ON order_facts (area, at, no);
CREATE INDEX order_facts_unit ON order_facts (unit, at, no);
-- The orders not dispatched yet (unit IS NULL): neither planner takes IS NULL as an equality
-- that leaves the rest of an index in order, so they have their own, newest first by at.
CREATE INDEX order_facts_undispatched ON order_facts (at, no) WHERE unit IS NULL;
CREATE INDEX order_facts_line ON order_facts (line, at, no);

-- The facts counted per Beijing day, dimension and key, written in the same transaction as
-- every change of order_facts (a change that moves an order from one key to another takes it
-- off the old key and adds it to the new one): what the dashboard reads, ~31 rows per key for a
-- month instead of a month of facts. dim is a column name of order_facts (channel,
-- request_type, category1, category, area, unit, line); key is its value ('' for an order with
-- no unit yet). A key whose count falls to 0 is deleted.
CREATE TABLE order_fact_daily (
    dim   TEXT    NOT NULL CHECK (dim IN ('channel', 'request_type', 'category1', 'category',
                                          'area', 'unit', 'line')),
    day   INTEGER NOT NULL,
    key   TEXT    NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (dim, day, key)
) WITHOUT ROWID;

-- One row, updated first by every write of the facts: it serializes the writers (each reads
-- the rows it replaces and adjusts the counts from them), and writes counts those writes (a
-- dashboard's cached figures are current while it has not moved).
CREATE TABLE order_fact_writes (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    writes BIGINT  NOT NULL
);
INSERT INTO order_fact_writes (id, writes) VALUES (1, 0);

-- The warning rules' alerts, one per cause (the rule and its key: an order, an address, a
-- category and day). orders is the JSON array of the order numbers that raised it, oldest
-- first; kind and level are hotline-insight's names; by_user and note are who acknowledged or
-- closed it and what they wrote; pushes counts how often it was sent to its recipients;
-- first_at is when the cause was first found, kept by every later save, last_at the last save.
CREATE TABLE insight_alerts (
    cause    TEXT    NOT NULL PRIMARY KEY CHECK (cause <> ''),
    rule     TEXT    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind <> ''),
    level    TEXT    NOT NULL CHECK (level <> ''),
    title    TEXT    NOT NULL,
    orders   TEXT    NOT NULL CHECK (json_valid(orders) AND json_type(orders) = 'array'),
    state    TEXT    NOT NULL CHECK (state IN ('open', 'acknowledged', 'closed')),
    by_user  TEXT,
    note     TEXT,
    pushes   INTEGER NOT NULL CHECK (pushes >= 0),
    first_at BIGINT  NOT NULL,
    last_at  BIGINT  NOT NULL
);
-- Every alert newest first, and those not closed.
CREATE INDEX insight_alerts_last ON insight_alerts (last_at, cause);
CREATE INDEX insight_alerts_not_closed ON insight_alerts (last_at, cause) WHERE state <> 'closed';
