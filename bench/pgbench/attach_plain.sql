-- Plain SQL attach: one prepared UPDATE ... RETURNING (synchronous_commit = on).
\set i 10 * random(0, :shards / 10 - 1) + 5
\set n random(4, 100)
UPDATE bench.plain_shards SET generation = generation + 1, attached_node = :n, updated_at = now()
 WHERE id = md5(:i::text) RETURNING generation;
