-- A new database forgets the statistics migration 0033 gathered on its empty tables.
--
-- 0033 ends with `ANALYZE messages; ANALYZE conversations;`, meant for an upgrade (the
-- rewritten tables' statistics). On a new database it recorded both tables as analysed and
-- EMPTY, and PostgreSQL then plans from their real, tiny size: the foreign-key check of every
-- new message (`SELECT 1 FROM conversations WHERE id = $1`), planned once per pooled
-- connection, became a scan of every conversation and stayed one until the table was
-- analysed again (by autovacuum, or by the server itself when autovacuum is off: seconds to
-- minutes, during which a first import or a burst of mail slowed down with every row). A
-- table never analysed is planned as at least ten pages, so those checks read the primary
-- key instead (BENCHMARKS.md, session 32).
--
-- `TRUNCATE` marks a table never analysed again. It runs only when `conversations`,
-- `messages` and every table referring to them (directly or not) are empty, checked after
-- all of them are locked, so no row of a concurrent writer can be lost: on a database that
-- holds anything this migration changes nothing.
DO $$
DECLARE
    tables REGCLASS[];
    t REGCLASS;
    found BOOLEAN;
BEGIN
    WITH RECURSIVE refs(oid) AS (
        SELECT 'conversations'::regclass::oid
        UNION SELECT 'messages'::regclass::oid
        UNION SELECT c.conrelid FROM pg_constraint c JOIN refs r ON c.confrelid = r.oid
            WHERE c.contype = 'f'
    )
    SELECT array_agg(oid::regclass) INTO tables FROM refs;
    EXECUTE 'LOCK TABLE ' || array_to_string(tables, ', ') || ' IN ACCESS EXCLUSIVE MODE';
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', t) INTO found;
        IF found THEN
            RETURN;
        END IF;
    END LOOP;
    EXECUTE 'TRUNCATE ' || array_to_string(tables, ', ');
END $$;
