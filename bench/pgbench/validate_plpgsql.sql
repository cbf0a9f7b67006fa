-- PL/pgSQL validate on gencontrol's tables.
\set i random(0, :shards - 1)
SELECT bench.plpgsql_validate(md5(:i::text)::gencontrol.tenant_shard_id, 1);
