-- Moves whenever an identity leaves its customer (a merge moves it, a person removes it), in
-- the same transaction: the triggers below, so no path that changes an identity's owner can
-- forget it. A batch that looked customers up by identity before its own transaction (an
-- orders import reading the next batch's customers while the previous batch is written)
-- keeps those owners only if the epoch has not moved since.
CREATE TABLE identity_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO identity_epoch (id, n) VALUES (1, 0);
CREATE TRIGGER identities_epoch_update AFTER UPDATE OF customer_id ON identities BEGIN
    UPDATE identity_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER identities_epoch_delete AFTER DELETE ON identities BEGIN
    UPDATE identity_epoch SET n = n + 1 WHERE id = 1;
END;
