-- Invariant 2: a transaction that issued a generation is flushed before its commit returns,
-- even with synchronous_commit = off. A procedure commits in a loop and, right after each
-- commit, compares the WAL flush position with where the transaction's WAL ended. The test cluster runs
-- with wal_writer_delay = 10s, so an asynchronous commit stays unflushed long enough to see.
-- The same loop over a plain UPDATE shows the check can fail. (1.1) Every other function that
-- changes state is held to the same rule (finding 4 of issue 9: in 1.0 none of them was).
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(17);

\ir dblink_sessions.psql
SELECT dblink_connect('async', pg_temp.conninfo());
SELECT pg_temp.run('async', $$SELECT gencontrol.node_register(901, 'ps901', 9898, 'ps901', 6400)$$);
SELECT dblink_exec('async', $$CREATE TABLE IF NOT EXISTS public.durability_plain (generation int)$$);
SELECT dblink_exec('async', $$INSERT INTO public.durability_plain VALUES (1)$$);
SELECT dblink_exec('async', $sql$
CREATE OR REPLACE PROCEDURE public.durability_probe(use_gencontrol boolean, rounds int, INOUT unflushed int)
LANGUAGE plpgsql AS $proc$
DECLARE
    written pg_lsn;
BEGIN
    unflushed := 0;
    FOR i IN 1 .. rounds LOOP
        IF use_gencontrol THEN
            PERFORM gencontrol.gen_attach('90100000000000000000000000000000', 901);
        ELSE
            UPDATE public.durability_plain SET generation = generation + 1;
        END IF;
        -- The transaction's own WAL ends here; its commit record follows. A durable commit
        -- flushes past it. (Comparing with the insert position after the commit would also
        -- count WAL that other processes, such as the background writer, insert meanwhile.)
        written := pg_current_wal_insert_lsn();
        COMMIT;
        IF pg_current_wal_flush_lsn() < written THEN
            unflushed := unflushed + 1;
        END IF;
    END LOOP;
END;
$proc$
$sql$);

-- (1.1) The lifecycle writers. probe_each runs `setup` (committed on its own) and then the
-- measured statement, each formatted with the round number, and counts unflushed commits.
SELECT dblink_exec('async', $sql$
CREATE OR REPLACE PROCEDURE public.durability_probe_each(setup text, measured text, rounds int, INOUT unflushed int)
LANGUAGE plpgsql AS $proc$
DECLARE
    written pg_lsn;
BEGIN
    unflushed := 0;
    FOR i IN 1 .. rounds LOOP
        IF setup IS NOT NULL THEN
            EXECUTE format(setup, i);
            COMMIT;
        END IF;
        EXECUTE format(measured, i);
        written := pg_current_wal_insert_lsn();
        COMMIT;
        IF pg_current_wal_flush_lsn() < written THEN
            unflushed := unflushed + 1;
        END IF;
    END LOOP;
END;
$proc$
$sql$);
CREATE FUNCTION pg_temp.unflushed(setup text, measured text) RETURNS int LANGUAGE sql AS $$
    SELECT u FROM dblink('async', format('CALL public.durability_probe_each(%L, %L, 10, 0)', setup, measured)) AS t(u int)
$$;

SELECT dblink_exec('async', 'SET synchronous_commit = off');
SELECT is((SELECT s FROM dblink('async', 'SHOW synchronous_commit') AS t(s text)), 'off',
          'the session runs with synchronous_commit = off');
SELECT is((SELECT u FROM dblink('async', 'CALL public.durability_probe(false, 50, 0)') AS t(u int)) > 0, true,
          'control: plain UPDATEs under synchronous_commit = off return before their WAL is flushed');
SELECT is((SELECT u FROM dblink('async', 'CALL public.durability_probe(true, 50, 0)') AS t(u int)), 0,
          'gen_attach under synchronous_commit = off: every commit was flushed before it returned');
SELECT is((SELECT s FROM dblink('async', 'SHOW synchronous_commit') AS t(s text)), 'off',
          'the session''s own setting is left as it was');

-- Finding 4: each of these returned before its commit was flushed in 1.0. They commit, so each
-- run takes node ids, tenant ids and timeline ids of its own: a node id is never registered
-- again once deleted, a split tenant cannot split from one shard again, an import exists once,
-- and a registration the same as the stored one would write nothing to measure. The run's node
-- `:run_node`, registered nodes `:run_node` + 1..10, deleted nodes + 11..20; ids start with `:run_hex`.
SELECT pg_temp.unused_node_id(9200000) AS run_node, left(md5(clock_timestamp()::text || 'durability'), 8) AS run_hex \gset
SELECT pg_temp.run('async', format($$SELECT gencontrol.node_register(%s, 'ps902', 9898, 'ps902', 6400)$$, :run_node));
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.node_register(%s + %%s, 'ps', 1, 'ps', 1)$$, :run_node)), 0,
          'node_register commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.node_set_status(%s, (ARRAY['draining', 'paused'])[%%s %%%% 2 + 1])$$, :run_node)), 0,
          'node_set_status commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.node_update(%s, 'ps902', 9000 + %%s, 'ps902', 6400)$$, :run_node)), 0,
          'node_update commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.node_bind_role(%s, (ARRAY[NULL, 'postgres'])[%%s %%%% 2 + 1])$$, :run_node)), 0,
          'node_bind_role commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.tenant_set_secondaries('90100000000000000000000000000000', (ARRAY['{}', '{%s}'])[%%s %%%% 2 + 1]::bigint[])$$, :run_node)), 0,
          'tenant_set_secondaries commits durably');
SELECT is(pg_temp.unflushed(format($$SELECT gencontrol.gen_attach((%L || lpad(to_hex(%%s), 24, '9'))::gencontrol.tenant_shard_id, 901)$$, :'run_hex'),
                            format($$SELECT gencontrol.tenant_delete((%L || lpad(to_hex(%%s), 24, '9'))::gencontrol.tenant_shard_id)$$, :'run_hex')), 0,
          'tenant_delete commits durably');
SELECT is(pg_temp.unflushed(format($$SELECT gencontrol.node_register(%s + 10 + %%s, 'ps', 1, 'ps', 1)$$, :run_node),
                            format($$SELECT gencontrol.node_delete(%s + 10 + %%s)$$, :run_node)), 0,
          'node_delete commits durably');
SELECT is(pg_temp.unflushed(format($$SELECT gencontrol.gen_attach((%L || lpad(to_hex(%%s), 24, '8'))::gencontrol.tenant_shard_id, 901)$$, :'run_hex'),
                            format($$SELECT gencontrol.tenant_shard_split(%L || lpad(to_hex(%%s), 24, '8'), 2)$$, :'run_hex')), 0,
          'tenant_shard_split commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.timeline_import_create('90100000000000000000000000000000', %L || lpad(to_hex(%%s), 24, '0'), 0)$$, :'run_hex')), 0,
          'timeline_import_create commits durably');
SELECT is(pg_temp.unflushed(NULL, format($$SELECT gencontrol.timeline_import_set_status('90100000000000000000000000000000', %L || lpad(to_hex(%%s), 24, '0'),
                                        (SELECT generation FROM gencontrol.gen_inspect('90100000000000000000000000000000')), '"Done"')$$, :'run_hex')), 0,
          'timeline_import_set_status commits durably');
SELECT is(pg_temp.unflushed($$SELECT gencontrol.gen_attach(lpad(to_hex(%s), 32, '7')::gencontrol.tenant_shard_id, 901)$$,
                            $$SELECT gencontrol.generation_log_prune('0 seconds')$$), 0,
          'generation_log_prune commits durably');

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
SELECT dblink_exec('async', 'DROP PROCEDURE public.durability_probe_each(text, text, int, int)');
SELECT dblink_exec('async', 'DROP TABLE public.durability_plain');
SELECT pg_temp.run('async', $$SELECT gencontrol.tenant_delete('90100000000000000000000000000000')$$);
SELECT dblink_disconnect('async');

SELECT * FROM finish();
ROLLBACK;
