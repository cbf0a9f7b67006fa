-- Neon's storage controller attach on Neon's schema: UPDATE ... RETURNING in a SERIALIZABLE
-- transaction, as its controller runs every operation (synchronous_commit = on). Serialization
-- failures are retried by pgbench (--max-tries) and counted.
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
BEGIN ISOLATION LEVEL SERIALIZABLE;
UPDATE bench.neon_tenant_shards SET generation = generation + 1, generation_pageserver = :n
 WHERE tenant_id = md5(:i::text) AND shard_number = 0 AND shard_count = 0 RETURNING generation;
COMMIT;
