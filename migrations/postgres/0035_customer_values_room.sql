-- Room on each page of `customer_values` for a row's next version: a refit writes every
-- customer's scores (no indexed column), which PostgreSQL can then keep on the same page
-- (a HOT update) instead of adding an entry to each of the table's three indexes. Pages
-- written from now on; BENCHMARKS.md session 24.
ALTER TABLE customer_values SET (fillfactor = 70);
