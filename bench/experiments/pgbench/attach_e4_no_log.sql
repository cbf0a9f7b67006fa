-- bench/experiments/attach_variants.sql: e4_no_log
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
SELECT benchx.e4_no_log(md5(:i::text)::gencontrol.tenant_shard_id, :n);
