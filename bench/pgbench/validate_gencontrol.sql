-- Single gen_validate of a random shard.
\set i random(0, :shards - 1)
SELECT gencontrol.gen_validate(md5(:i::text)::gencontrol.tenant_shard_id, 1);
