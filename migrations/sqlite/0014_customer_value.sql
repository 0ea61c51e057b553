-- Customer value: orders, per-customer figures kept in step with them, fitted value models.
-- Amounts are integers in ten-thousandths of the currency unit (exact for every currency).
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    external_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,            -- api | csv | woocommerce | …
    amount_e4 INTEGER NOT NULL,      -- negative for a refund
    currency TEXT NOT NULL,          -- ISO 4217 code, or IRT (toman)
    status TEXT NOT NULL,            -- completed | cancelled
    placed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders(customer_id, placed_at);
CREATE INDEX orders_currency ON orders(currency, customer_id, placed_at);

-- Figures per customer in the deployment's currency: totals refreshed with every order
-- write; RFM scores, segment, CLV and P(alive) written by each model refit.
CREATE TABLE customer_values (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id),
    orders INTEGER NOT NULL DEFAULT 0,
    total_e4 INTEGER NOT NULL DEFAULT 0,
    r INTEGER,
    f INTEGER,
    m INTEGER,
    segment TEXT,
    clv_e4 INTEGER,                -- expected value over the CLV horizon, at the last refit
    p_alive_e6 INTEGER,            -- probability of still buying × 1,000,000, at the last refit
    updated_at INTEGER NOT NULL
);
CREATE INDEX customer_values_total ON customer_values(total_e4, customer_id);
CREATE INDEX customer_values_segment ON customer_values(segment, total_e4, customer_id);

-- Fitted models (BG/NBD, Gamma-Gamma, RFM boundaries) as JSON; the newest is in use.
CREATE TABLE value_models (
    id TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    as_of INTEGER NOT NULL,
    fitted_at INTEGER NOT NULL,
    model TEXT NOT NULL
);
CREATE INDEX value_models_fitted ON value_models(fitted_at);
