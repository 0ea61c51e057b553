-- Customer search by part of a name, email or number (issue 21): `LIKE '%…%'` read every
-- customer and identity (0.1–0.3 s with 200,000 customers). Trigram GIN indexes (pg_trgm, a
-- trusted extension shipped with PostgreSQL) serve `LIKE '%…%'` and `LIKE '…%'`.
-- Visitor identities (random chat tokens) are not searched.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX customers_name_trgm ON customers USING GIN (name_search gin_trgm_ops);
CREATE INDEX identities_value_trgm ON identities USING GIN (value gin_trgm_ops)
    WHERE kind <> 'visitor';
