-- Loads a gencontrol 1.0 database with every kind of row an operator may have: nodes (active,
-- draining, deleted), shards attached, detached and deleted, sharded and not, secondaries,
-- generations raised by attach, re-attach and gen_advance_all, and their log rows. Then it
-- copies every table into public.before_* so that check_upgrade.sql can compare after the
-- update. Run with psql on a database where CREATE EXTENSION gencontrol VERSION '1.0' ran.
\set ON_ERROR_STOP on
SET search_path = gencontrol, public;

SELECT node_register(9001, 'up-ps1', 9898, 'up-ps1', 6400, 'az-a');
SELECT node_register(9002, 'up-ps2', 9898, 'up-ps2', 6400, 'az-b');
SELECT node_register(9003, 'up-ps3', 9898, 'up-ps3', 6400);
SELECT node_register(9004, 'up-ps4', 9898, 'up-ps4', 6400);

-- 120 unsharded shards and a tenant with 4 shards, over two nodes, some above generation 1.
SELECT count(gen_attach(lpad(to_hex(i), 32, 'f')::tenant_shard_id, 9001 + i % 2, CASE WHEN i % 3 = 0 THEN i END))
  FROM generate_series(1, 120) AS i;
SELECT count(gen_attach(tenant_shard('fe000000000000000000000000000000', i, 4), 9001 + i % 2))
  FROM generate_series(0, 3) AS i;
SELECT count(*) FROM gen_re_attach(9001);
SELECT count(*) FROM gen_re_attach(9001);
SELECT gen_advance_all(5);

-- Detached, deleted, secondaries, statuses.
SELECT gen_detach(lpad(to_hex(i), 32, 'f')::tenant_shard_id) FROM generate_series(1, 10) AS i;
SELECT tenant_delete(lpad(to_hex(i), 32, 'f')::tenant_shard_id) FROM generate_series(11, 20) AS i;
SELECT tenant_set_secondaries(lpad(to_hex(i), 32, 'f')::tenant_shard_id, ARRAY[9003::bigint])
  FROM generate_series(21, 40) AS i;
SELECT node_set_status(9002, 'draining');
SELECT node_delete(9004);
-- A row 1.0 could leave (finding 2 of issue 9): shard 41's attached node also a secondary.
INSERT INTO secondary_locations (tenant, node)
SELECT id, attached_node FROM tenant_shards WHERE id = lpad(to_hex(41), 32, 'f')::tenant_shard_id;

DROP TABLE IF EXISTS public.before_nodes, public.before_tenant_shards, public.before_secondary_locations,
                     public.before_generation_log, public.before_sequence;
CREATE TABLE public.before_nodes AS SELECT * FROM nodes;
CREATE TABLE public.before_tenant_shards AS SELECT * FROM tenant_shards;
CREATE TABLE public.before_secondary_locations AS SELECT * FROM secondary_locations;
CREATE TABLE public.before_generation_log AS SELECT * FROM generation_log;
CREATE TABLE public.before_sequence AS SELECT last_value FROM generation_log_log_id_seq;
SELECT extversion AS loaded_into FROM pg_extension WHERE extname = 'gencontrol';
