-- What reading a 10,000-id array costs before any probe (run_variants.py FILE 5 node=2):
-- text to tenant_shard_id[] against text to text[] and to uuid[] (same hex digits).
\timing off
\set ON_ERROR_STOP 1
SELECT array_agg(id::text ORDER BY md5(id::text || 'order'))::text AS idtext
  FROM gencontrol.tenant_shards WHERE attached_node = :node \gset
\timing on
\echo == tenant_shard_id
SELECT cardinality(:'idtext'::gencontrol.tenant_shard_id[]);
\echo == text
SELECT cardinality(:'idtext'::text[]);
\echo == uuid
SELECT cardinality(:'idtext'::uuid[]);
