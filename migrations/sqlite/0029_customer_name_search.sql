-- Customer search by part of a name, email or number (issue 21): `LIKE '%…%'` read every
-- customer and identity (0.5–0.8 s with 200,000 customers). Trigram FTS5 indexes find
-- substrings of three characters or more; triggers keep them in the row's transaction.
-- Visitor identities (random chat tokens) are not searched.
CREATE VIRTUAL TABLE customers_name_fts USING fts5(
    name_search, content = 'customers', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO customers_name_fts(customers_name_fts) VALUES ('rebuild');
CREATE TRIGGER customers_name_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_name_fts(rowid, name_search) VALUES (new.rowid, new.name_search);
END;
CREATE TRIGGER customers_name_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_name_fts(customers_name_fts, rowid, name_search)
        VALUES ('delete', old.rowid, old.name_search);
END;
CREATE TRIGGER customers_name_fts_update AFTER UPDATE OF name_search ON customers BEGIN
    INSERT INTO customers_name_fts(customers_name_fts, rowid, name_search)
        VALUES ('delete', old.rowid, old.name_search);
    INSERT INTO customers_name_fts(rowid, name_search) VALUES (new.rowid, new.name_search);
END;

-- Contentless-delete keeps its own copy of nothing: rows are added and removed by rowid, the
-- value searched is read back from `identities`.
CREATE VIRTUAL TABLE identities_fts USING fts5(
    value, content = '', contentless_delete = 1, tokenize = 'trigram'
);
INSERT INTO identities_fts(rowid, value) SELECT rowid, value FROM identities WHERE kind <> 'visitor';
CREATE TRIGGER identities_fts_insert AFTER INSERT ON identities WHEN new.kind <> 'visitor' BEGIN
    INSERT INTO identities_fts(rowid, value) VALUES (new.rowid, new.value);
END;
CREATE TRIGGER identities_fts_delete AFTER DELETE ON identities WHEN old.kind <> 'visitor' BEGIN
    DELETE FROM identities_fts WHERE rowid = old.rowid;
END;
CREATE TRIGGER identities_fts_update AFTER UPDATE OF value, kind ON identities BEGIN
    DELETE FROM identities_fts WHERE rowid = old.rowid;
    INSERT INTO identities_fts(rowid, value) SELECT new.rowid, new.value WHERE new.kind <> 'visitor';
END;
