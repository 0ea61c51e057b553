-- An import's pending orders sorted by customer as its end begins (`orders::by_customer`):
-- each of the merge's ranges then reads its own rows, in key order, instead of every pending
-- row of the import through `order_pending_import` (five ranges read a million rows five
-- times over, twice each). Rows leave as their range is merged.
CREATE TABLE order_merge (
    import_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 BIGINT NOT NULL,
    PRIMARY KEY (import_id, customer_id, placed_at, order_id)
);
