-- An import's pending orders as sorted runs, one per batch. A batch notes its orders in
-- customer order under its own number, so the index below is still written at its end only
-- (appended, as by import alone). The import's end merges a range of customers per
-- transaction: with this index each range finds its rows in every run by a seek, where it
-- read every pending row of the import and kept its own (an upload of N orders read them
-- N / 200,000 times: quadratic in the upload's size).
ALTER TABLE order_pending ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
DROP INDEX order_pending_import;
CREATE INDEX order_pending_import ON order_pending(import_id, batch, customer_id);
