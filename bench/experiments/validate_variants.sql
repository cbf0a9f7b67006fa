-- Where a batch validate's time goes (psql -v node=2 -f, or run_variants.py FILE 3 node=2):
-- the node's shards in random order as the probe set, already parsed, then each part alone.
--   parse        text array to tenant_shard_id[] (what every client request pays first)
--   function     gen_validate(array) as shipped, rows counted on the server
--   nestloop     the SQL inside it: unnest WITH ORDINALITY joined to the primary key
--   sorted       the same join with the probes sorted by key first
--   saop         one index scan: id = ANY(array) (btree sorts the array itself)
--   plain        the unnest join on the plain table (the baseline's server side)
\timing off
\set ON_ERROR_STOP 1
DROP TABLE IF EXISTS probe;
CREATE TEMP TABLE probe AS
SELECT array_agg(id ORDER BY md5(id::text || 'order')) AS ids,
       array_agg(id::text ORDER BY md5(id::text || 'order')) AS texts,
       array_agg(generation ORDER BY md5(id::text || 'order')) AS gens
  FROM gencontrol.tenant_shards WHERE attached_node = :node;
SELECT ids::text AS idtext FROM probe \gset
\timing on
\echo == parse
SELECT cardinality(:'idtext'::gencontrol.tenant_shard_id[]);
\echo == function
SELECT count(*) FROM probe, gencontrol.gen_validate(probe.ids, probe.gens);
\echo == nestloop
SELECT count(*) FROM probe, unnest(probe.ids) WITH ORDINALITY AS u(id, ord)
  JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) u.id AND t.deleted_at IS NULL;
\echo == sorted
SELECT count(*) FROM probe, LATERAL (SELECT id FROM unnest(probe.ids) AS x(id) ORDER BY 1) u
  JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) u.id AND t.deleted_at IS NULL;
\echo == saop
SELECT count(*) FROM gencontrol.tenant_shards t
 WHERE t.id OPERATOR(gencontrol.=) ANY ((SELECT ids FROM probe)::gencontrol.tenant_shard_id[]) AND t.deleted_at IS NULL;
\echo == plain
SELECT count(*) FROM probe, unnest(probe.texts) WITH ORDINALITY AS u(id, ord)
  JOIN bench.plain_shards p ON p.id = u.id AND p.deleted_at IS NULL;
