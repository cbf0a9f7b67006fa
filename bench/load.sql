-- Loads :shards tenant shards over 100 nodes into gencontrol and into both baselines.
-- Shard i has tenant id md5(i) (random key order, as real tenant ids are), generation 1, and
-- node 1 when i % 10 = 0 (a tenth: 100,000 of 1,000,000), node 2 when i % 100 = 1 (10,000),
-- node 3 when i % 1000 = 2 (1,000), otherwise one of nodes 4..100. Run with psql -v shards=N.

INSERT INTO gencontrol.nodes (node_id, listen_http_addr, listen_http_port, listen_pg_addr,
                              listen_pg_port, availability_zone)
SELECT n, 'ps-' || n || '.local', 9898, 'ps-' || n || '.local', 6400, 'az-' || n % 3
  FROM generate_series(1, 100) n;
INSERT INTO bench.plain_nodes (node_id) SELECT n FROM generate_series(1, 100) n;
INSERT INTO bench.neon_nodes (node_id) SELECT n FROM generate_series(1, 100) n;

CREATE TEMP TABLE shard_source AS
SELECT md5(i::text) AS id,
       CASE WHEN i % 10 = 0 THEN 1
            WHEN i % 100 = 1 THEN 2
            WHEN i % 1000 = 2 THEN 3
            ELSE 4 + i % 97 END::bigint AS node
  FROM generate_series(0, :shards - 1) i;

-- Direct inserts as superuser: the guard trigger only refuses lowering and removing.
-- The foreign key to nodes is checked per row; it is disabled for the load only.
-- (1.1) Into the storage behind the view tenant_shards: every node is at epoch 0.
ALTER TABLE gencontrol.tenant_shards_stored DISABLE TRIGGER ALL;
INSERT INTO gencontrol.tenant_shards_stored (id, base_generation, attached_node, base_epoch)
SELECT id::gencontrol.tenant_shard_id, 1, node, 0 FROM shard_source;
ALTER TABLE gencontrol.tenant_shards_stored ENABLE TRIGGER ALL;

INSERT INTO bench.plain_shards (id, generation, attached_node)
SELECT id, 1, node FROM shard_source;

INSERT INTO bench.neon_tenant_shards (tenant_id, shard_number, shard_count, shard_stripe_size,
                                      generation, generation_pageserver, placement_policy,
                                      splitting, config)
SELECT id, 0, 0, 2048, 1, node, '{"Attached":0}', 0, '{}' FROM shard_source;

VACUUM (FREEZE, ANALYZE) gencontrol.nodes, gencontrol.tenant_shards_stored, bench.plain_nodes,
    bench.plain_shards, bench.neon_nodes, bench.neon_tenant_shards;
