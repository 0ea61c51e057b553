-- Each imported order landed at a random place in two indexes keyed by customer
-- (orders_customer, orders_currency). One index by customer now covers every read by
-- customer (a profile's orders in a currency, the refit's pass over everyone, the totals'
-- recount) without visiting the table.
CREATE INDEX orders_by_customer ON orders(customer_id, placed_at, currency, status, amount_e4);
DROP INDEX orders_customer;
DROP INDEX orders_currency;

-- CSV imports in progress: an import adds its customers' totals once, at its end (adding
-- them per batch rewrote each customer's row and its two indexes per order). A row whose
-- import stopped touching it (the node died mid-import) makes the refit worker recount every
-- customer's totals.
CREATE TABLE order_imports (
    id TEXT PRIMARY KEY,
    touched_at BIGINT NOT NULL
);
