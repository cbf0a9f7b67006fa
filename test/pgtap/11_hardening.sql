-- The hostile review of 1.0 (issue 9): each block reproduces one finding and fails on 1.0.
-- Finding 4 (durable lifecycle writers) is in 09_durability.sql, finding 5 in
-- 12_node_identity.sql; finding 8 (an unfreed ErrorData, an Assert-only bound) has no SQL
-- symptom and is fixed in re_attach.cpp and statements.cpp.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(24);

\ir dblink_sessions.psql
SELECT node_register(1101, 'ps1101', 9898, 'ps1101', 6400);
SELECT node_register(1102, 'ps1102', 9898, 'ps1102', 6400);
SELECT node_register(1103, 'ps1103', 9898, 'ps1103', 6400);

-- Finding 1: pg_advisory_lock(1734569588, node), which any login role may call, took 1.0's node
-- lock and stalled every gen_attach to the node. The lock_timeout only keeps the 1.0 run
-- from hanging: there it fails with 55P03.
SELECT dblink_connect('hostile', pg_temp.conninfo());
SELECT pg_temp.run('hostile', 'SELECT pg_advisory_lock(1734569588, 1101)');
SET LOCAL lock_timeout = '5s';
SELECT lives_ok($$SELECT gen_attach('b1010000000000000000000000000000', 1101)$$,
                'finding 1: an advisory lock on 1.0''s node lock key does not block gen_attach');
RESET lock_timeout;
SELECT ok(EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'object'
                     AND classid = 'gencontrol.nodes'::regclass AND objid = 1101 AND mode = 'ShareLock'),
          'finding 1: the node lock is an object lock under gencontrol.nodes, which no SQL function takes');
SELECT pg_temp.run('hostile', 'SELECT pg_advisory_unlock_all()');
SELECT dblink_disconnect('hostile');
CREATE ROLE gencontrol_pgtap_outsider NOLOGIN;
SET ROLE gencontrol_pgtap_outsider;
SELECT throws_ok($$SELECT 1 FROM gencontrol.nodes FOR KEY SHARE$$, '42501', NULL,
                 'finding 1: a role without gencontrol''s roles cannot lock node rows either');
SELECT throws_ok($$SELECT 1 FROM gencontrol.tenant_shards FOR KEY SHARE$$, '42501', NULL,
                 'finding 1: ... nor shard rows');
RESET ROLE;

-- Finding 2: attaching a shard to one of its secondary locations left both rows, and
-- gen_re_attach listed the shard twice (AttachedSingle and Secondary).
SELECT gen_attach('b1020000000000000000000000000000', 1102);
SELECT tenant_set_secondaries('b1020000000000000000000000000000', ARRAY[1103::bigint]);
SELECT gen_attach('b1020000000000000000000000000000', 1103);
SELECT is((SELECT count(*) FROM secondary_locations WHERE tenant = 'b1020000000000000000000000000000'), 0::bigint,
          'finding 2: attaching to a secondary location removes that secondary location');
SELECT results_eq($$SELECT mode FROM gen_re_attach(1103) WHERE tenant = 'b1020000000000000000000000000000'$$,
                  $$VALUES ('AttachedSingle')$$, 'finding 2: gen_re_attach lists the shard once');
-- gen_attach looks for a secondary location only on a node the shard's row lists
-- (tenant_shards_stored.secondary_nodes): tenant_set_secondaries keeps that list.
SELECT gen_attach('b1021000000000000000000000000000', 1101);
SELECT tenant_set_secondaries('b1021000000000000000000000000000', ARRAY[1103::bigint, 1102, 1103]);
SELECT is((SELECT secondary_nodes FROM tenant_shards_stored WHERE id = 'b1021000000000000000000000000000'),
          ARRAY[1102::bigint, 1103], 'the shard''s row lists its secondary nodes, once each');
SELECT gen_attach('b1021000000000000000000000000000', 1102);
SELECT results_eq($$SELECT node, secondary_nodes FROM secondary_locations
                      JOIN tenant_shards_stored ON id = tenant WHERE tenant = 'b1021000000000000000000000000000'$$,
                  $$VALUES (1103::bigint, ARRAY[1103::bigint])$$,
                  'an attach to one of two secondary nodes removes that one, from the table and the list');
SELECT tenant_delete('b1021000000000000000000000000000');
SELECT is((SELECT secondary_nodes FROM tenant_shards_stored WHERE id = 'b1021000000000000000000000000000'), NULL,
          'a deleted shard lists no secondary nodes');
SELECT is((SELECT count(*) FROM secondary_locations s JOIN tenant_shards_stored t ON t.id = s.tenant
            WHERE NOT s.node = ANY (coalesce(t.secondary_nodes, '{}'))), 0::bigint,
          'every secondary location is listed by its shard''s row');

-- Finding 3: one shard at 2147483647 made gen_advance_all refuse for every shard.
INSERT INTO tenant_shards (id, generation, attached_node)
VALUES ('b1030000000000000000000000000000', 2147483647, 1102),
       ('b1031000000000000000000000000000', 2147483640, 1102);
SELECT gen_attach('b1032000000000000000000000000000', 1102, 7);
SELECT lives_ok($$SELECT gen_advance_all(100)$$,
                'finding 3: a shard at 2147483647 no longer blocks gen_advance_all');
SELECT is((SELECT generation FROM tenant_shards WHERE id = 'b1032000000000000000000000000000'), 107,
          'finding 3: the other shards advanced by the margin');
SELECT is((SELECT row(generation, attached_node)::text FROM tenant_shards WHERE id = 'b1030000000000000000000000000000'),
          '(2147483647,)', 'finding 3: the shard at the last generation keeps it and is detached');
SELECT is((SELECT row(generation, attached_node)::text FROM tenant_shards WHERE id = 'b1031000000000000000000000000000'),
          '(2147483647,)', 'finding 3: a shard that cannot take the whole margin is raised to the last and detached');
SELECT is((SELECT array_agg(row(old_generation, new_generation, node, operation)::text ORDER BY tenant)
             FROM generation_log WHERE tenant IN ('b1030000000000000000000000000000', 'b1031000000000000000000000000000')),
          ARRAY['(2147483647,2147483647,1102,exhausted)', '(2147483640,2147483647,1102,exhausted)'],
          'finding 3: both are logged as exhausted');
SELECT is(gen_validate('b1031000000000000000000000000000', 2147483647), true,
          'finding 3: the detached shard''s last generation stays valid (nothing newer exists)');

-- Finding 6: a batch validate of millions ignored cancellation and statement_timeout until it
-- ended. Each probe of the primary key counts in idx_scan, so a batch that stopped early shows
-- fewer probes than ids (1.0 probes all 2,000,000 before the timeout is noticed).
SELECT dblink_connect('v', pg_temp.conninfo());
SELECT dblink_exec('v', $$CREATE TEMP TABLE big AS
    SELECT array_agg(('c' || lpad(to_hex(i), 31, '0'))::gencontrol.tenant_shard_id) AS ids, array_agg(1) AS gens
      FROM generate_series(1, 2000000) AS i$$);
CREATE FUNCTION pg_temp.probes() RETURNS bigint LANGUAGE sql AS $$
    SELECT n FROM dblink('v', $q$SELECT idx_scan FROM pg_stat_user_indexes
                                 WHERE indexrelid = 'gencontrol.tenant_shards_pkey'::regclass$q$) AS t(n bigint)
$$;
-- pg_stat_force_next_flush: the session's counts reach the shared statistics once it is idle.
SELECT pg_temp.run('v', 'SELECT pg_stat_force_next_flush()');
CREATE TEMP TABLE probes_before AS SELECT pg_temp.probes() AS n;
SELECT dblink_exec('v', $$SET statement_timeout = '200ms'$$);
-- The remote 57014 arrives as query_canceled, which throws_ok (WHEN OTHERS) does not catch.
CREATE FUNCTION pg_temp.validate_big() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.run('v', 'SELECT count(*) FROM big, gencontrol.gen_validate(big.ids, big.gens)');
    RETURN 'completed';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLSTATE;
END;
$$;
SELECT is(pg_temp.validate_big(), '57014', 'finding 6: statement_timeout ends a batch validate of 2,000,000 ids');
SELECT dblink_exec('v', 'RESET statement_timeout');
SELECT pg_temp.run('v', 'SELECT pg_stat_force_next_flush()');
SELECT cmp_ok(pg_temp.probes() - (SELECT n FROM probes_before), '<', 2000000::bigint,
              'finding 6: ... in the middle: fewer probes than ids were made');
SELECT dblink_disconnect('v');

-- Finding 7: a long non-ASCII input was quoted whole, cut inside a UTF-8 character at 2 kB:
-- clients in other encodings got 22021 instead of 22P02. Now a bounded prefix is quoted, cut at
-- a character boundary, with non-ASCII bytes escaped: valid in every client encoding.
SELECT throws_ok($$SELECT repeat(chr(233), 2000)::tenant_shard_id$$, '22P02',
                 'invalid input syntax for type tenant_shard_id: "' || repeat('\xc3\xa9', 32) || '"...',
                 'finding 7: the message quotes 64 bytes, cut between characters, non-ASCII escaped');
SELECT dblink_connect('enc', pg_temp.conninfo());
CREATE FUNCTION pg_temp.bad_id_in(encoding text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dblink_exec('enc', format('SET client_encoding = %L', encoding));
    PERFORM pg_temp.run('enc', 'SELECT repeat(chr(233), 2000)::gencontrol.tenant_shard_id');
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END;
$$;
SELECT is(pg_temp.bad_id_in('UTF8'), '22P02', 'finding 7: 22P02 for a UTF8 client');
SELECT is(pg_temp.bad_id_in('LATIN1'), '22P02', 'finding 7: 22P02 for a LATIN1 client');
SELECT is(pg_temp.bad_id_in('SJIS'), '22P02', 'finding 7: 22P02 for an SJIS client');
SELECT is(pg_temp.bad_id_in('EUC_JP'), '22P02', 'finding 7: 22P02 for an EUC_JP client');
SELECT is(pg_temp.bad_id_in('WIN1251'), '22P02', 'finding 7: 22P02 for a WIN1251 client');
SELECT dblink_disconnect('enc');

SELECT * FROM finish();
ROLLBACK;
