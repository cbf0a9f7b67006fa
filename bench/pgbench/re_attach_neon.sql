-- Neon's re-attach verbatim on Neon's schema (no index on generation_pageserver).
BEGIN;
UPDATE bench.neon_tenant_shards SET generation = generation + 1 WHERE generation_pageserver = :node;
SELECT * FROM bench.neon_tenant_shards WHERE generation_pageserver = :node;
UPDATE bench.neon_nodes SET scheduling_policy = '"Active"'
 WHERE node_id = :node AND scheduling_policy IN ('"PauseForRestart"', '"Draining"', '"Filling"');
COMMIT;
