-- The knowledge base (issue 7): entries, every version of each, and the links of entries to the
-- work orders they answered. The rules (who may edit, the review workflow, which version is in
-- force) are hotline-kb's; the store keeps their outcome as plain rows and checks only what the
-- rows themselves must hold. Times are BIGINT milliseconds since the Unix epoch (UTC), as in
-- call_records; calendar dates are TEXT YYYY-MM-DD (Beijing), as in calendar_overrides.

-- One entry: the summary the listings filter on, kept in step with its versions by the store
-- (state, kind, category, title and unit are the newest version's; published is the n of the
-- version in force). rev counts the writes, the optimistic-concurrency token: a save names the
-- rev it was computed from and loses if another save got there first. hits counts the orders
-- the entry answered (kb_links), kept here so a listing need not count them.
-- published is not a foreign key to kb_versions: the versions reference the entry, and a
-- reference back would tie the two tables in a cycle that only deferred constraints can write;
-- the store checks it (and the summary against the newest version) inside each save instead.
CREATE TABLE kb_entries (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    unit       TEXT    NOT NULL CHECK (unit <> ''),
    rev        BIGINT  NOT NULL CHECK (rev >= 1),
    state      TEXT    NOT NULL CHECK (state <> ''),
    published  INTEGER CHECK (published >= 1),
    kind       TEXT    NOT NULL CHECK (kind <> ''),
    category   TEXT    NOT NULL CHECK (category <> ''),
    title      TEXT    NOT NULL,
    hits       BIGINT  NOT NULL DEFAULT 0 CHECK (hits >= 0),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
-- A unit's entries by state (its drafts, its rejected ones), page by page in id order.
CREATE INDEX kb_entries_unit_state ON kb_entries (unit, state, id);
-- Every unit's entries in one state (the maintenance team's review queue), likewise.
CREATE INDEX kb_entries_state ON kb_entries (state, id);

-- Every version of an entry, kept (the workflow never deletes one): 1-based n, gapless.
-- keywords is a JSON array of strings; valid_from and valid_to are the Beijing dates the
-- version is in force, both inclusive, open-ended when NULL.
CREATE TABLE kb_versions (
    entry_id   TEXT    NOT NULL REFERENCES kb_entries (id),
    n          INTEGER NOT NULL CHECK (n >= 1),
    state      TEXT    NOT NULL CHECK (state <> ''),
    kind       TEXT    NOT NULL CHECK (kind <> ''),
    category   TEXT    NOT NULL CHECK (category <> ''),
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    unit       TEXT    NOT NULL CHECK (unit <> ''),
    keywords   TEXT    NOT NULL CHECK (json_valid(keywords) AND json_type(keywords) = 'array'),
    valid_from TEXT    CHECK (length(valid_from) = 10),
    valid_to   TEXT    CHECK (length(valid_to) = 10),
    author     TEXT    NOT NULL,
    changed_at BIGINT  NOT NULL,
    note       TEXT,
    PRIMARY KEY (entry_id, n),
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to)
);

-- An entry linked as (one of) the answers of an order (直办: the agent answered from the
-- knowledge base), once per order and entry; version is the one the agent read. The foreign
-- key is to the version, so a link never names an entry or a version that does not exist.
-- order_no is not a foreign key, as in audit_log: an agent links the answer during the call,
-- which may be before the order made from that call is written.
-- The primary key, order first, is also the lookup of an order's links.
CREATE TABLE kb_links (
    order_no TEXT    NOT NULL CHECK (order_no <> ''),
    entry_id TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    agent    TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    PRIMARY KEY (order_no, entry_id),
    FOREIGN KEY (entry_id, version) REFERENCES kb_versions (entry_id, n)
);
-- The most linked entries of a period: a range of link times, the entry read from the index.
CREATE INDEX kb_links_at_entry ON kb_links (at, entry_id);
-- No index for the KPIs' "has an event of step X": work_order_events' primary key (no, seq)
-- reaches an order's few events directly.
