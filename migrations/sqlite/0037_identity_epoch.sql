-- Moves whenever an identity leaves its customer (a merge, a removal), in the same
-- transaction. A batch that looked customers up by identity before its own transaction (an
-- orders import reading the next batch's customers while the previous batch is written)
-- keeps those owners only if the epoch has not moved since.
CREATE TABLE identity_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO identity_epoch (id, n) VALUES (1, 0);
