-- bench/experiments/attach_variants.sql: e2_no_node_lock
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
SELECT benchx.e2_no_node_lock(md5(:i::text)::gencontrol.tenant_shard_id, :n);
