-- Where gen_re_attach's time goes: its parts, each timed alone in a rolled-back transaction
-- on the benchmark database (psql -v node=1 -f; \timing prints each). Run after bench.py with
-- BENCH_KEEP=1. Variants:
--   full       gencontrol.gen_re_attach as shipped
--   baseline   UPDATE, then SELECT (plain table)
--   update     one UPDATE ... RETURNING on gencontrol.tenant_shards (guard trigger, no lock pass, no log)
--   lock       the shipped lock pass alone (SELECT ... ORDER BY id FOR NO KEY UPDATE)
--   log3       update + history rows into a copy of generation_log with its three indexes
--   log1brin   update + history rows with (tenant, log_id) btree and a BRIN on logged_at, no PK
--   log0       update + history rows into a table with no index
--   arraylog   update + one history row per re-attach holding the shard ids and generations as arrays
--   epoch      what a per-node epoch design would do: bump one nodes row, read the node's shards
\timing on
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench.log3 (LIKE gencontrol.generation_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench.log3 ALTER log_id SET DEFAULT nextval('gencontrol.generation_log_log_id_seq');
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'log3') THEN
    ALTER TABLE bench.log3 ADD PRIMARY KEY (log_id);
    CREATE INDEX ON bench.log3 (tenant, log_id);
    CREATE INDEX ON bench.log3 (logged_at);
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS bench.log1brin (LIKE bench.log3 INCLUDING DEFAULTS);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'log1brin') THEN
    CREATE INDEX ON bench.log1brin (tenant, log_id);
    CREATE INDEX ON bench.log1brin USING brin (logged_at);
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS bench.log0 (LIKE bench.log3 INCLUDING DEFAULTS);
-- seed the copies so that their indexes are not trivially small
INSERT INTO bench.log3 SELECT * FROM gencontrol.generation_log WHERE NOT EXISTS (SELECT 1 FROM bench.log3) LIMIT 1000000;
INSERT INTO bench.log1brin SELECT * FROM bench.log3 WHERE NOT EXISTS (SELECT 1 FROM bench.log1brin);
INSERT INTO bench.log0 SELECT * FROM bench.log3 WHERE NOT EXISTS (SELECT 1 FROM bench.log0);
CREATE TABLE IF NOT EXISTS bench.log_batches (
    batch_id bigserial PRIMARY KEY, node bigint, operation text, role name,
    logged_at timestamptz NOT NULL DEFAULT now(), tenants gencontrol.tenant_shard_id[],
    new_generations integer[]);
ALTER TABLE bench.log_batches ALTER tenants SET STORAGE EXTERNAL, ALTER new_generations SET STORAGE EXTERNAL;
ALTER TABLE bench.plain_nodes ADD COLUMN IF NOT EXISTS epoch integer NOT NULL DEFAULT 0;
VACUUM ANALYZE bench.log3, bench.log1brin, bench.log0;

\echo == full
BEGIN; SELECT count(*) FROM gencontrol.gen_re_attach(:node); ROLLBACK;
\echo == baseline
BEGIN; UPDATE bench.plain_shards SET generation = generation + 1 WHERE attached_node = :node;
SELECT count(*) FROM (SELECT id, generation, stripe_size FROM bench.plain_shards WHERE attached_node = :node) s; ROLLBACK;
\echo == update
BEGIN; WITH b AS (UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
  WHERE attached_node = :node AND generation < 2147483647 RETURNING id, generation, stripe_size)
SELECT count(*) FROM b; ROLLBACK;
\echo == lock
BEGIN; SELECT count(*) FROM (SELECT id, generation FROM gencontrol.tenant_shards
  WHERE attached_node = :node AND generation IS NOT NULL ORDER BY id FOR NO KEY UPDATE) l; ROLLBACK;
\echo == log3
BEGIN; WITH b AS (UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
  WHERE attached_node = :node AND generation < 2147483647 RETURNING id, generation, stripe_size),
l AS (INSERT INTO bench.log3 (tenant, old_generation, new_generation, node, operation, role)
  SELECT id, generation - 1, generation, :node, 're_attach', session_user FROM b)
SELECT count(*) FROM b; ROLLBACK;
\echo == log1brin
BEGIN; WITH b AS (UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
  WHERE attached_node = :node AND generation < 2147483647 RETURNING id, generation, stripe_size),
l AS (INSERT INTO bench.log1brin (tenant, old_generation, new_generation, node, operation, role)
  SELECT id, generation - 1, generation, :node, 're_attach', session_user FROM b)
SELECT count(*) FROM b; ROLLBACK;
\echo == log0
BEGIN; WITH b AS (UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
  WHERE attached_node = :node AND generation < 2147483647 RETURNING id, generation, stripe_size),
l AS (INSERT INTO bench.log0 (tenant, old_generation, new_generation, node, operation, role)
  SELECT id, generation - 1, generation, :node, 're_attach', session_user FROM b)
SELECT count(*) FROM b; ROLLBACK;
\echo == arraylog
BEGIN; WITH b AS (UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
  WHERE attached_node = :node AND generation < 2147483647 RETURNING id, generation, stripe_size),
l AS (INSERT INTO bench.log_batches (node, operation, role, tenants, new_generations)
  SELECT :node, 're_attach', session_user, array_agg(id), array_agg(generation) FROM b)
SELECT count(*) FROM b; ROLLBACK;
\echo == epoch
BEGIN; UPDATE bench.plain_nodes SET epoch = epoch + 1 WHERE node_id = :node;
SELECT count(*) FROM (SELECT id, generation + 1, stripe_size FROM gencontrol.tenant_shards
  WHERE attached_node = :node) s; ROLLBACK;
