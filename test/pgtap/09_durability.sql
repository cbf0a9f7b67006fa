-- Invariant 2: a transaction that issued a generation is flushed before its commit returns,
-- even with synchronous_commit = off. A procedure commits in a loop and, right after each
-- commit, compares the WAL flush position with the insert position. The test cluster runs
-- with wal_writer_delay = 10s, so an asynchronous commit stays unflushed long enough to see.
-- The same loop over a plain UPDATE shows the check can fail.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(6);

\ir dblink_sessions.psql
SELECT dblink_connect('async', pg_temp.conninfo());
SELECT pg_temp.run('async', $$SELECT gencontrol.node_register(901, 'ps901', 9898, 'ps901', 6400)$$);
SELECT dblink_exec('async', $$CREATE TABLE IF NOT EXISTS public.durability_plain (generation int)$$);
SELECT dblink_exec('async', $$INSERT INTO public.durability_plain VALUES (1)$$);
SELECT dblink_exec('async', $sql$
CREATE OR REPLACE PROCEDURE public.durability_probe(use_gencontrol boolean, rounds int, INOUT unflushed int)
LANGUAGE plpgsql AS $proc$
BEGIN
    unflushed := 0;
    FOR i IN 1 .. rounds LOOP
        IF use_gencontrol THEN
            PERFORM gencontrol.gen_attach('90100000000000000000000000000000', 901);
        ELSE
            UPDATE public.durability_plain SET generation = generation + 1;
        END IF;
        COMMIT;
        -- A commit record that ends on a page boundary leaves the insert position one page
        -- header (at most 40 bytes) past it; anything more is WAL that is not on disk yet.
        IF pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn()) > 40 THEN
            unflushed := unflushed + 1;
        END IF;
    END LOOP;
END;
$proc$
$sql$);

SELECT dblink_exec('async', 'SET synchronous_commit = off');
SELECT is((SELECT s FROM dblink('async', 'SHOW synchronous_commit') AS t(s text)), 'off',
          'the session runs with synchronous_commit = off');
SELECT is((SELECT u FROM dblink('async', 'CALL public.durability_probe(false, 50, 0)') AS t(u int)) > 0, true,
          'control: plain UPDATEs under synchronous_commit = off return before their WAL is flushed');
SELECT is((SELECT u FROM dblink('async', 'CALL public.durability_probe(true, 50, 0)') AS t(u int)), 0,
          'gen_attach under synchronous_commit = off: every commit was flushed before it returned');
SELECT is((SELECT s FROM dblink('async', 'SHOW synchronous_commit') AS t(s text)), 'off',
          'the session''s own setting is left as it was');

-- The same with the setting on the database, as a server-wide setting would be.
SELECT dblink_disconnect('async');
SELECT dblink_exec(pg_temp.conninfo(), format('ALTER DATABASE %I SET synchronous_commit = off', current_database()));
SELECT dblink_connect('async', pg_temp.conninfo());
SELECT is((SELECT u FROM dblink('async', 'CALL public.durability_probe(true, 50, 0)') AS t(u int)), 0,
          'with synchronous_commit = off from the database settings too');
SELECT dblink_exec(pg_temp.conninfo(), format('ALTER DATABASE %I RESET synchronous_commit', current_database()));

-- Two-phase commit would make a generation visible later, from another session: refused.
SELECT dblink_exec('async', 'BEGIN');
SELECT pg_temp.run('async', $$SELECT gencontrol.gen_attach('90100000000000000000000000000000', 901)$$);
SELECT throws_ok($$SELECT dblink_exec('async', 'PREPARE TRANSACTION ''gencontrol_probe''')$$, '0A000', NULL,
                 'PREPARE TRANSACTION after an attach is refused');

SELECT dblink_exec('async', 'ROLLBACK');
SELECT dblink_exec('async', 'DROP PROCEDURE public.durability_probe(boolean, int, int)');
SELECT dblink_exec('async', 'DROP TABLE public.durability_plain');
SELECT pg_temp.run('async', $$SELECT gencontrol.tenant_delete('90100000000000000000000000000000')$$);
SELECT dblink_disconnect('async');

SELECT * FROM finish();
ROLLBACK;
