-- Neon's re-attach: UPDATE, then SELECT, in one transaction, on the plain table (indexed).
BEGIN;
UPDATE bench.plain_shards SET generation = generation + 1 WHERE attached_node = :node;
SELECT id, generation, stripe_size FROM bench.plain_shards WHERE attached_node = :node;
UPDATE bench.plain_nodes SET status = 'active' WHERE node_id = :node AND status <> 'active';
COMMIT;
