-- bench/experiments/attach_variants.sql: e0_shipped (bench.plpgsql_attach, gen_attach's work)
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
SELECT bench.plpgsql_attach(md5(:i::text)::gencontrol.tenant_shard_id, :n);
