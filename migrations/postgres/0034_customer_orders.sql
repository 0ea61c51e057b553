-- Orders by customer move out of `orders` into their own table (see the SQLite migration):
-- an import stages its orders (`order_pending`) and merges them in customer order at its
-- end, instead of each order landing at a random place in an index by customer.
CREATE TABLE customer_orders (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    placed_at BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 BIGINT NOT NULL,
    PRIMARY KEY (customer_id, placed_at, order_id) INCLUDE (currency, status, amount_e4)
);
INSERT INTO customer_orders (customer_id, placed_at, order_id, currency, status, amount_e4)
SELECT customer_id, placed_at, id, currency, status, amount_e4 FROM orders
ORDER BY customer_id, placed_at, id;

ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;
DROP INDEX orders_by_customer;

CREATE TABLE order_pending (
    import_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 BIGINT NOT NULL
);
CREATE INDEX order_pending_import ON order_pending(import_id);
