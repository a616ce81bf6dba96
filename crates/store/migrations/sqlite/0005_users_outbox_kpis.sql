-- Work orders, second part: the projection gains the request type, the co-units and each order's
-- contribution to the D3 assessment figures; plus users and their sessions, the audit log, the
-- admin's changes to the working-day calendar and the outbox of notifications to send.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as in call_records; flags are
-- INTEGER 0/1 (sqlx's Any driver refuses SQLite's BOOLEAN column type).

-- The request type as the service names it (consultation, complaint…), once the intake is filled.
ALTER TABLE work_orders ADD COLUMN request_type TEXT;

-- One order's contribution to its lead unit's assessment figures (hotline-workorder's Kpis for
-- that order alone, computed by the service from the events and written with each append): a
-- report is then the SUM of a period's rows instead of a replay of every order. Existing rows
-- get 0 (nothing counted until their next append). INTEGER is plenty for one order.
ALTER TABLE work_orders ADD COLUMN dispatched       INTEGER NOT NULL DEFAULT 0 CHECK (dispatched >= 0);
ALTER TABLE work_orders ADD COLUMN signed           INTEGER NOT NULL DEFAULT 0 CHECK (signed >= 0);
ALTER TABLE work_orders ADD COLUMN signed_on_time   INTEGER NOT NULL DEFAULT 0 CHECK (signed_on_time >= 0);
ALTER TABLE work_orders ADD COLUMN returned         INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0);
ALTER TABLE work_orders ADD COLUMN return_requests  INTEGER NOT NULL DEFAULT 0 CHECK (return_requests >= 0);
ALTER TABLE work_orders ADD COLUMN returns_rejected INTEGER NOT NULL DEFAULT 0 CHECK (returns_rejected >= 0);
ALTER TABLE work_orders ADD COLUMN replied          INTEGER NOT NULL DEFAULT 0 CHECK (replied >= 0);
ALTER TABLE work_orders ADD COLUMN replied_on_time  INTEGER NOT NULL DEFAULT 0 CHECK (replied_on_time >= 0);
ALTER TABLE work_orders ADD COLUMN reviewed         INTEGER NOT NULL DEFAULT 0 CHECK (reviewed >= 0);
ALTER TABLE work_orders ADD COLUMN called_back      INTEGER NOT NULL DEFAULT 0 CHECK (called_back >= 0);
ALTER TABLE work_orders ADD COLUMN reached          INTEGER NOT NULL DEFAULT 0 CHECK (reached >= 0);
ALTER TABLE work_orders ADD COLUMN satisfied        INTEGER NOT NULL DEFAULT 0 CHECK (satisfied >= 0);
ALTER TABLE work_orders ADD COLUMN solved_known     INTEGER NOT NULL DEFAULT 0 CHECK (solved_known >= 0);
ALTER TABLE work_orders ADD COLUMN solved           INTEGER NOT NULL DEFAULT 0 CHECK (solved >= 0);
ALTER TABLE work_orders ADD COLUMN redone           INTEGER NOT NULL DEFAULT 0 CHECK (redone >= 0);
ALTER TABLE work_orders ADD COLUMN reminders        INTEGER NOT NULL DEFAULT 0 CHECK (reminders >= 0);
ALTER TABLE work_orders ADD COLUMN notices          INTEGER NOT NULL DEFAULT 0 CHECK (notices >= 0);
ALTER TABLE work_orders ADD COLUMN criticisms       INTEGER NOT NULL DEFAULT 0 CHECK (criticisms >= 0);

-- Period reports (the KPIs of a month) read a range of creation times.
CREATE INDEX work_orders_created_at ON work_orders (created_at);
-- A unit's orders newest first (list_orders by lead or visible unit): the range of one unit
-- already in the listing's order, so the first page reads 50 entries, not the unit's history.
CREATE INDEX work_orders_unit_created ON work_orders (lead_unit, created_at, no);
-- An agent's own orders by status (首接责任制: the owner follows them up).
CREATE INDEX work_orders_owner_status ON work_orders (owner, status);
-- 0004's (status, due_at) with the unit added: overdue_by_unit then reads the index alone
-- instead of looking up each overdue order's row for its unit (at ten million orders with
-- thirteen thousand overdue: 27 ms -> 3 ms on SQLite). The scheduler's scan by deadline uses
-- it as before.
DROP INDEX work_orders_status_due;
CREATE INDEX work_orders_status_due_unit ON work_orders (status, due_at, lead_unit);

-- The co-units of an order's current dispatch (协办单位), replaced with each create and append.
-- The primary key starts with the unit: "the orders unit X sees" is its lead orders plus this
-- range. created_at is the order's, copied (it never changes): a unit's co-unit orders newest
-- first are then one range of work_order_co_units_unit_created, read page by page like the
-- lead orders' range of work_orders_unit_created, instead of every co-unit order of the unit
-- looked up and sorted (a hundred thousand for a big unit over five years). The _no index
-- finds an order's rows (to replace them and to read them back).
CREATE TABLE work_order_co_units (
    no         TEXT   NOT NULL REFERENCES work_orders (no),
    unit       TEXT   NOT NULL CHECK (unit <> ''),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (unit, no)
);
CREATE INDEX work_order_co_units_no ON work_order_co_units (no);
CREATE INDEX work_order_co_units_unit_created ON work_order_co_units (unit, created_at, no);

-- The scheduler's look for calls that became no order: call records by end time.
CREATE INDEX call_records_ended_at ON call_records (ended_at);

-- The people who sign in. unit is the handling unit of unit staff and unit heads, and only
-- theirs. password_hash is the encoded hash (algorithm and salt included), never a password.
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL
                  CHECK (role IN ('agent', 'supervisor', 'unit_staff', 'unit_head', 'admin')),
    unit          TEXT,
    password_hash TEXT    NOT NULL CHECK (password_hash <> ''),
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at    BIGINT  NOT NULL,
    CHECK (CASE WHEN role IN ('unit_staff', 'unit_head') THEN unit IS NOT NULL AND unit <> ''
                ELSE unit IS NULL END)
);

-- A signed-in session. token_hash is a hash of the bearer token: the table never holds a
-- token that could be replayed. Valid while the time is before expires_at.
CREATE TABLE sessions (
    token_hash TEXT   NOT NULL PRIMARY KEY CHECK (token_hash <> ''),
    user_id    TEXT   NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK (expires_at > created_at)
);
-- The purge of expired sessions.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Who did what, append-only. AUTOINCREMENT: an id is never reused, even after the newest rows
-- are deleted, so ids order the log. user_id and order_no are not foreign keys: the log must
-- take an entry about a user or an order whatever became of it (a refused create, the system).
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       BIGINT  NOT NULL,
    user_id  TEXT    NOT NULL,
    action   TEXT    NOT NULL CHECK (action <> ''),
    order_no TEXT,
    detail   TEXT    NOT NULL
);
-- An order's entries newest first.
CREATE INDEX audit_log_order_no_id ON audit_log (order_no, id);

-- The admin's changes to the working-day calendar (a makeup working Saturday, an extra day
-- off). date is the Beijing calendar date, YYYY-MM-DD.
CREATE TABLE calendar_overrides (
    date    TEXT    NOT NULL PRIMARY KEY CHECK (length(date) = 10),
    working INTEGER NOT NULL CHECK (working IN (0, 1)),
    note    TEXT    NOT NULL,
    set_by  TEXT    NOT NULL,
    set_at  BIGINT  NOT NULL
);

-- Notifications (SMS, webhooks) written in the transaction of the change they announce and
-- sent afterwards, at least once: a row is due from next_at until sent_at is set; a failed
-- attempt counts in attempts and moves next_at. order_no is not a foreign key, as in audit_log.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at BIGINT  NOT NULL,
    channel    TEXT    NOT NULL CHECK (channel IN ('sms', 'webhook')),
    target     TEXT    NOT NULL CHECK (target <> ''),
    order_no   TEXT,
    body       TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at    BIGINT  NOT NULL,
    sent_at    BIGINT,
    last_error TEXT
);
-- The sender's scan: only unsent rows are indexed, so the index stays as small as the backlog.
CREATE INDEX outbox_unsent_next_at ON outbox (next_at, id) WHERE sent_at IS NULL;
-- An order's notifications newest first.
CREATE INDEX outbox_order_no_id ON outbox (order_no, id);
