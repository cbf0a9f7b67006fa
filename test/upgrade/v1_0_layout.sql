-- What the 1.1 library does on a database still at 1.0 (until ALTER EXTENSION UPDATE it runs the
-- 1.0 statements, src/extension/v1_0/): gen_advance_all under REPEATABLE READ sees only its
-- snapshot's shards, so a shard attached after the snapshot is a serialization failure, not a
-- shard the restore silently left behind. Run by run.sh in a scratch database at 1.0.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(4);

\ir ../pgtap/dblink_sessions.psql
SELECT dblink_connect('controller', pg_temp.conninfo());
SELECT dblink_connect('restorer', pg_temp.conninfo());
SELECT dblink_exec('restorer', 'SET search_path = gencontrol, public');

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'gencontrol'), '1.0', 'the schema is 1.0''s');
SELECT pg_temp.run('controller', $$SELECT gencontrol.node_register(1, 'ps1', 9898, 'ps1', 6400)$$);
SELECT pg_temp.run('controller', $$SELECT gencontrol.gen_attach('a0000000000000000000000000000001', 1)$$);

SELECT dblink_exec('restorer', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT pg_temp.run('restorer', $$SELECT count(*) FROM gencontrol.nodes$$);  -- the snapshot
SELECT pg_temp.run('controller', $$SELECT gencontrol.gen_attach('a0000000000000000000000000000002', 1)$$);
SELECT throws_ok($$SELECT pg_temp.run('restorer', 'SELECT gencontrol.gen_advance_all(7)')$$, '40001', NULL,
                 'RR gen_advance_all at 1.0: a shard attached after its snapshot is a serialization failure');
SELECT dblink_exec('restorer', 'ROLLBACK');

SELECT dblink_exec('restorer', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT pg_temp.run('restorer', 'SELECT gencontrol.gen_advance_all(7)');
SELECT is((SELECT g FROM dblink('restorer', $$SELECT generation FROM gencontrol.tenant_shards
                                              WHERE id = 'a0000000000000000000000000000002'$$) AS t(g int)),
          8, 'RR gen_advance_all at 1.0 with a snapshot taken after the attach raises that shard too');
SELECT dblink_exec('restorer', 'ROLLBACK');
SELECT is((SELECT count(*) FROM gencontrol.tenant_shards WHERE generation = 1), 2::bigint,
          'both rolled back: the shards keep generation 1');

SELECT dblink_disconnect('controller');
SELECT dblink_disconnect('restorer');
SELECT * FROM finish();
ROLLBACK;
