-- gen_attach of a random shard of nodes 4..100 (i % 10 = 5) to a random node of 4..100 (moves it).
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
SELECT gencontrol.gen_attach(md5(:i::text)::gencontrol.tenant_shard_id, :n);
