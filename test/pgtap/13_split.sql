-- (1.1) tenant_shard_split: children inherit generation, node and stripe size in one
-- transaction, parents become tombstones, every change is logged; and every refusal.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(24);

SELECT node_register(1301, 'ps1301', 9898, 'ps1301', 6400);
SELECT node_register(1302, 'ps1302', 9898, 'ps1302', 6400);

-- Unsharded -> 2
SELECT gen_attach('d1300000000000000000000000000000', 1301, 5, 4096);
SELECT tenant_set_secondaries('d1300000000000000000000000000000', ARRAY[1302::bigint]);
SELECT results_eq($$SELECT id::text FROM tenant_shard_split('D1300000000000000000000000000000', 2) AS id$$,
                  ARRAY['d1300000000000000000000000000000-0002', 'd1300000000000000000000000000000-0102'],
                  'an unsharded tenant splits into 2, children returned in key order');
SELECT results_eq($$SELECT id::text, generation, attached_node, stripe_size, deleted_at IS NULL FROM tenant_shards
                     WHERE tenant_hex(id) = 'd1300000000000000000000000000000' ORDER BY id$$,
                  $$VALUES ('d1300000000000000000000000000000', 5, NULL::bigint, 4096, false),
                           ('d1300000000000000000000000000000-0002', 5, 1301::bigint, 4096, true),
                           ('d1300000000000000000000000000000-0102', 5, 1301::bigint, 4096, true)$$,
                  'children inherit generation, node and stripe size; the parent is a detached tombstone');
SELECT is(gen_validate('d1300000000000000000000000000000-0102', 5), true,
          'the node that held the parent may write the children at once');
SELECT is(gen_validate('d1300000000000000000000000000000', 5), NULL, 'the parent is unknown now');
SELECT is((SELECT count(*) FROM secondary_locations WHERE tenant = 'd1300000000000000000000000000000'), 0::bigint,
          'the parent''s secondary locations are dropped');
SELECT is((SELECT array_agg(row(tenant::text, old_generation, new_generation, node, operation)::text ORDER BY log_id)
             FROM generation_log WHERE tenant_hex(tenant) = 'd1300000000000000000000000000000' AND operation = 'split'),
          ARRAY['(d1300000000000000000000000000000,5,5,1301,split)',
                '(d1300000000000000000000000000000-0002,,5,1301,split)',
                '(d1300000000000000000000000000000-0102,,5,1301,split)'],
          'the parent and each child have a split row in generation_log');
SELECT results_eq($$SELECT tenant::text, generation FROM gen_re_attach(1301)
                     WHERE tenant_hex(tenant) = 'd1300000000000000000000000000000'$$,
                  $$VALUES ('d1300000000000000000000000000000-0002', 6), ('d1300000000000000000000000000000-0102', 6)$$,
                  're-attach after the split bumps the children, not the parent');

-- 2 -> 4 with shards on two nodes and different generations; child n has parent n % 2
SELECT gen_attach('d1300000000000000000000000000000-0102', 1302);
SELECT results_eq($$SELECT id::text FROM tenant_shard_split('d1300000000000000000000000000000', 4, 8192) AS id$$,
                  ARRAY['d1300000000000000000000000000000-0004', 'd1300000000000000000000000000000-0104',
                        'd1300000000000000000000000000000-0204', 'd1300000000000000000000000000000-0304'],
                  '2 shards split into 4');
SELECT results_eq($$SELECT id::text, generation, attached_node, stripe_size FROM tenant_shards
                     WHERE tenant_hex(id) = 'd1300000000000000000000000000000' AND shard_count(id) = 4 ORDER BY id$$,
                  $$VALUES ('d1300000000000000000000000000000-0004', 6, 1301::bigint, 8192),
                           ('d1300000000000000000000000000000-0104', 7, 1302::bigint, 8192),
                           ('d1300000000000000000000000000000-0204', 6, 1301::bigint, 8192),
                           ('d1300000000000000000000000000000-0304', 7, 1302::bigint, 8192)$$,
                  'child n inherits from parent n % 2; an explicit stripe size applies to all');
SELECT is(gen_attach('d1300000000000000000000000000000-0002', 1301), 7,
          'a parent id that comes back continues above its tombstone');

-- Refusals
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 6)$$, '55000', NULL,
                 'a tenant with shards of two counts is refused (the revived parent)');
SELECT tenant_delete('d1300000000000000000000000000000-0002');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 6)$$, '22023', NULL,
                 '4 shards cannot split into 6');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 4)$$, '22023', NULL,
                 'nor into the same count');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 256)$$, '22023', NULL,
                 'more than 255 shards refused');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 1)$$, '22023', NULL,
                 'fewer than 2 refused');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 8, 0)$$, '22023', NULL,
                 'stripe size 0 refused');
SELECT gen_detach('d1300000000000000000000000000000-0104');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 8)$$, '55000', NULL,
                 'a tenant with a detached shard is refused');
SELECT gen_attach('d1300000000000000000000000000000-0104', 1302);
SELECT tenant_delete('d1300000000000000000000000000000-0304');
SELECT throws_ok($$SELECT tenant_shard_split('d1300000000000000000000000000000', 8)$$, '55000', NULL,
                 'a tenant with a missing shard is refused');
SELECT is((SELECT count(*) FROM tenant_shards WHERE tenant_hex(id) = 'd1300000000000000000000000000000' AND shard_count(id) = 8),
          0::bigint, 'a refused split created nothing');
SELECT throws_ok($$SELECT tenant_shard_split('d13fffffffffffffffffffffffffffff', 2)$$, 'P0002', NULL, 'an unknown tenant: P0002');
SELECT throws_ok($$SELECT tenant_shard_split('d13', 2)$$, '22023', NULL, 'a malformed tenant id: 22023');
SELECT throws_ok($$SELECT tenant_shard_split(NULL, 2)$$, '22004', NULL, 'NULL tenant refused');

-- A child id that exists as a tombstone above the parent's generation continues above it.
SELECT gen_attach('d1310000000000000000000000000000-0102', 1301, 50);
SELECT tenant_delete('d1310000000000000000000000000000-0102');
SELECT gen_attach('d1310000000000000000000000000000', 1301, 10);
SELECT lives_ok($$SELECT tenant_shard_split('d1310000000000000000000000000000', 2)$$, 'split onto an old tombstone');
SELECT results_eq($$SELECT id::text, generation FROM tenant_shards
                     WHERE tenant_hex(id) = 'd1310000000000000000000000000000' AND deleted_at IS NULL ORDER BY id$$,
                  $$VALUES ('d1310000000000000000000000000000-0002', 10), ('d1310000000000000000000000000000-0102', 51)$$,
                  'the child on the tombstone continues above it: no generation is handed out twice');

SELECT * FROM finish();
ROLLBACK;
