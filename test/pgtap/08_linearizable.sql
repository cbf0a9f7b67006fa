-- Invariant 3: gen_validate answers from a fresh snapshot. A REPEATABLE READ or SERIALIZABLE
-- transaction whose snapshot predates a committed attach must not validate the old generation.
-- Two dblink sessions stand in for the stale validator and the attaching controller.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(18);

\ir dblink_sessions.psql
SELECT dblink_connect('controller', pg_temp.conninfo());
SELECT dblink_connect('validator', pg_temp.conninfo());
SELECT dblink_exec('controller', 'SET search_path = gencontrol, public');
SELECT dblink_exec('validator', 'SET search_path = gencontrol, public');

-- Committed set-up, from the controller session.
SELECT pg_temp.run('controller', $$SELECT gencontrol.node_register(801, 'ps801', 9898, 'ps801', 6400)$$);
SELECT pg_temp.run('controller', $$SELECT gencontrol.node_register(802, 'ps802', 9898, 'ps802', 6400)$$);
SELECT is((SELECT g FROM dblink('controller', $$SELECT gencontrol.gen_attach('80100000000000000000000000000000', 801)$$) AS t(g int)),
          (SELECT coalesce(max(generation), 0) + 1 FROM tenant_shards WHERE id = '80100000000000000000000000000000'),
          'controller attaches (committed)');
CREATE TEMP TABLE issued AS SELECT generation AS g FROM tenant_shards WHERE id = '80100000000000000000000000000000';

-- REPEATABLE READ: the validator's snapshot is taken before the next attach commits.
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g FROM issued))) AS t(v boolean)),
          true, 'RR validator: the current generation is valid (snapshot taken now)');
SELECT is((SELECT g FROM dblink('controller', $$SELECT gencontrol.gen_attach('80100000000000000000000000000000', 802)$$) AS t(g int)),
          (SELECT g + 1 FROM issued), 'controller commits a newer attach');
SELECT is((SELECT g FROM dblink('validator', $$SELECT generation FROM gencontrol.tenant_shards
                                               WHERE id = '80100000000000000000000000000000'$$) AS t(g int)),
          (SELECT g FROM issued), 'the RR snapshot still shows the old generation (so this test can fail)');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g FROM issued))) AS t(v boolean)),
          false, 'RR validator: gen_validate no longer accepts the superseded generation');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT valid FROM gencontrol.gen_validate(
                                                      ARRAY['80100000000000000000000000000000']::gencontrol.tenant_shard_id[], ARRAY[%s])$$,
                                                   (SELECT g FROM issued))) AS t(v boolean)),
          false, 'RR validator: nor does the batch form');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g + 1 FROM issued))) AS t(v boolean)),
          true, 'RR validator: the new generation is valid');
SELECT dblink_exec('validator', 'COMMIT');

-- SERIALIZABLE, the same way.
UPDATE issued SET g = g + 1;
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL SERIALIZABLE');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g FROM issued))) AS t(v boolean)),
          true, 'SERIALIZABLE validator: current generation valid');
SELECT pg_temp.run('controller', $$SELECT * FROM gencontrol.gen_re_attach(802)$$);
SELECT is((SELECT g FROM dblink('validator', $$SELECT generation FROM gencontrol.tenant_shards
                                               WHERE id = '80100000000000000000000000000000'$$) AS t(g int)),
          (SELECT g FROM issued), 'the SERIALIZABLE snapshot still shows the old generation');
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g FROM issued))) AS t(v boolean)),
          false, 'SERIALIZABLE validator: a generation superseded by a committed re-attach is refused');
SELECT dblink_exec('validator', 'COMMIT');

-- READ COMMITTED inside one long statement: each call reads afresh.
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80100000000000000000000000000000', %s)$$,
                                                   (SELECT g + 1 FROM issued))) AS t(v boolean)),
          true, 'READ COMMITTED: the re-attached generation is valid');

-- A newly created shard is visible to a validator whose snapshot predates it.
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT is((SELECT v FROM dblink('validator', $$SELECT gencontrol.gen_validate('80200000000000000000000000000000', 1)$$) AS t(v boolean)),
          NULL, 'RR validator: unknown shard is NULL');
-- (An earlier run in this database left the shard a tombstone: the attach continues from it.)
SELECT g AS created FROM dblink('controller', $$SELECT gencontrol.gen_attach('80200000000000000000000000000000', 801)$$) AS t(g int) \gset
SELECT is((SELECT v FROM dblink('validator', format($$SELECT gencontrol.gen_validate('80200000000000000000000000000000', %s)$$,
                                                   :created)) AS t(v boolean)),
          true, 'RR validator: a shard attached after its snapshot is seen');
SELECT dblink_exec('validator', 'COMMIT');

-- gen_attach locks the shard's row as SELECT ... FOR NO KEY UPDATE does (without an executor,
-- shard_lookup.cpp): under REPEATABLE READ a row updated after the snapshot is a serialization
-- failure, never a write over a version the transaction cannot see; in READ COMMITTED the same
-- attach follows the update and succeeds.
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT pg_temp.run('validator', $$SELECT count(*) FROM gencontrol.nodes$$);  -- the snapshot
SELECT pg_temp.run('controller', $$SELECT gencontrol.gen_attach('80100000000000000000000000000000', 802)$$);
SELECT throws_ok($$SELECT pg_temp.run('validator', 'SELECT gencontrol.gen_attach(''80100000000000000000000000000000'', 801)')$$,
                 '40001', NULL, 'RR attacher: a shard row updated after its snapshot is a serialization failure');
SELECT dblink_exec('validator', 'ROLLBACK');
SELECT is((SELECT g FROM dblink('validator', $$SELECT gencontrol.gen_attach('80100000000000000000000000000000', 801)$$) AS t(g int)),
          (SELECT generation + 1 FROM tenant_shards WHERE id = '80100000000000000000000000000000'),
          'READ COMMITTED attacher: the same attach follows the update');

-- gen_advance_all under REPEATABLE READ sees the shards of its snapshot only: a shard attached
-- after it would keep the generation the restore means to lift, so the call is a serialization
-- failure; with a snapshot taken after the attach the same call raises that shard too.
SELECT md5(clock_timestamp()::text || 'advance') AS late \gset
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT pg_temp.run('validator', $$SELECT count(*) FROM gencontrol.nodes$$);  -- the snapshot
SELECT pg_temp.run('controller', format($$SELECT gencontrol.gen_attach(%L, 801)$$, :'late'));
SELECT throws_ok($$SELECT pg_temp.run('validator', 'SELECT gencontrol.gen_advance_all(7)')$$,
                 '40001', NULL, 'RR gen_advance_all: a shard attached after its snapshot is a serialization failure, not a shard left behind');
SELECT dblink_exec('validator', 'ROLLBACK');
SELECT dblink_exec('validator', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT pg_temp.run('validator', 'SELECT gencontrol.gen_advance_all(7)');
SELECT is((SELECT g FROM dblink('validator', format($$SELECT generation FROM gencontrol.tenant_shards WHERE id = %L$$, :'late'))
             AS t(g int)), 8, 'RR gen_advance_all with a snapshot taken after the attach raises that shard too');
SELECT dblink_exec('validator', 'ROLLBACK');

-- Clean up what the controller committed (tombstones stay, as they must).
SELECT pg_temp.run('controller', format($$SELECT gencontrol.tenant_delete(t) FROM unnest(ARRAY['80100000000000000000000000000000',
                                  '80200000000000000000000000000000', %L]::gencontrol.tenant_shard_id[]) t$$, :'late'));
-- Only this file's shards: other files commit shards with random ids, some starting with 80.
SELECT is((SELECT count(*) FROM dblink('controller', format($$SELECT 1 FROM gencontrol.attachments
                                        WHERE tenant = ANY (ARRAY['80100000000000000000000000000000',
                                              '80200000000000000000000000000000', %L]::text[])$$,
                                        :'late')) AS t(x int)), 0::bigint, 'cleaned up');
SELECT dblink_disconnect('controller');
SELECT dblink_disconnect('validator');

SELECT * FROM finish();
ROLLBACK;
