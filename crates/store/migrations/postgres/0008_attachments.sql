-- Files attached to work orders (issue 8: the handling units' portal, the center's staff): a
-- photo of the spot, the unit's reply letter as a PDF, a spreadsheet of figures. The bytes are
-- kept in the row (a file is at most 10 MiB, checked by the API; an order has a few), so a
-- backup of the database is a backup of the attachments. Who may attach and read is the API's
-- rule (whoever may see the order); the store checks only what a row must hold.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as in the other tables.
-- id is chosen by the caller (a uuid); name is the file name as uploaded (no directories);
-- sha256 is the lowercase hex digest of data, size its length in bytes. The key columns are
-- COLLATE "C" (byte order, as SQLite compares): attachments uploaded in the same millisecond
-- list in the same order on both backends.
CREATE TABLE work_order_attachments (
    id           TEXT   COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    order_no     TEXT   COLLATE "C" NOT NULL REFERENCES work_orders (no),
    name         TEXT   NOT NULL CHECK (name <> ''),
    content_type TEXT   NOT NULL CHECK (content_type <> ''),
    size         BIGINT NOT NULL CHECK (size >= 0),
    sha256       TEXT   NOT NULL CHECK (length(sha256) = 64),
    data         BYTEA  NOT NULL,
    uploaded_by  TEXT   NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    CHECK (octet_length(data) = size)
);
-- An order's attachments, oldest first: one range of the index, the listing's order.
CREATE INDEX work_order_attachments_order ON work_order_attachments (order_no, uploaded_at, id);
