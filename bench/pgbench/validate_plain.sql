-- Plain SQL validate: one prepared SELECT.
\set i random(0, :shards - 1)
SELECT generation = 1 FROM bench.plain_shards WHERE id = md5(:i::text) AND deleted_at IS NULL;
