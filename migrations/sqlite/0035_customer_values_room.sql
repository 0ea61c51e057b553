-- PostgreSQL leaves room on `customer_values` pages for refits (fillfactor); SQLite has no
-- such setting: nothing to do, kept so both backends number their migrations alike.
SELECT 1;
