-- The scheduler's index (issue 6): next_check_at is when an order next has a reminder, notice or
-- criticism flag falling due, as the work-order service computed it with each change (BIGINT
-- milliseconds; NULL when nothing ever will). A pass reads only the orders due, not every open
-- order. Orders that existed before this column have NULL; the service marks its open ones for
-- a check at start (Store::mark_for_check), so none is missed.
ALTER TABLE work_orders ADD COLUMN next_check_at INTEGER;
CREATE INDEX work_orders_next_check ON work_orders (next_check_at, no)
    WHERE next_check_at IS NOT NULL;
