-- Orders by customer move out of `orders` into their own table, clustered by customer.
-- Kept as an index on `orders`, every imported order landed at a random place in a B-tree
-- that outgrows any cache (a page read and two page writes per order). A table of its own
-- can be written in large runs sorted by customer: an import stages its orders
-- (`order_pending`) and merges them in customer order at its end, a fraction of a page per
-- order. Every read by customer (profiles, totals, the refit) reads this table alone.
CREATE TABLE customer_orders (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    placed_at INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL,
    PRIMARY KEY (customer_id, placed_at, order_id)
) WITHOUT ROWID;
INSERT INTO customer_orders (customer_id, placed_at, order_id, currency, status, amount_e4)
SELECT customer_id, placed_at, id, currency, status, amount_e4 FROM orders
ORDER BY customer_id, placed_at, id;

-- `orders` loses its index by customer, and so its foreign key (a customer's deletion would
-- read every order to check it): `customer_orders` holds the reference. SQLite changes a
-- column's constraint by rebuilding the table.
CREATE TABLE orders_rebuilt (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    placed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO orders_rebuilt SELECT id, customer_id, external_id, source, amount_e4, currency,
    status, placed_at, created_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;

-- `customer_orders` rows of orders an import stored and has not merged yet (by import).
CREATE TABLE order_pending (
    import_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    placed_at INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL
);
CREATE INDEX order_pending_import ON order_pending(import_id);
