-- gen_attach, gen_detach, tenant_delete and tenant_set_secondaries.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(54);

SELECT node_register(201, 'ps201', 9898, 'ps201', 6400);
SELECT node_register(202, 'ps202', 9898, 'ps202', 6400);

SELECT is(gen_attach('20100000000000000000000000000000', 201), 1, 'first attach creates the shard at generation 1');
SELECT is((SELECT row(generation, attached_node, stripe_size)::text FROM tenant_shards
            WHERE id = '20100000000000000000000000000000'), '(1,201,2048)', 'row stored with default stripe size');
SELECT is(gen_attach('20100000000000000000000000000000', 202), 2, 'attach elsewhere increments');
SELECT is(gen_attach('20100000000000000000000000000000', 202), 3, 'attach to the same node increments too');
SELECT is(gen_attach('20100000000000000000000000000000', 201, 10), 10, 'min_generation raises the generation');
SELECT is(gen_attach('20100000000000000000000000000000', 201, 5), 11, 'a lower min_generation never lowers it');
SELECT is(gen_attach('20100000000000000000000000000000', 201, 12), 12, 'min_generation equal to old + 1');
SELECT is(gen_attach('20200000000000000000000000000000-0104', 201, 50), 50, 'min_generation on a new shard');
SELECT is(gen_attach('20200000000000000000000000000000-0104', 201, NULL), 51, 'explicit NULL min_generation');
SELECT is((SELECT array_agg(row(old_generation, new_generation, node, operation)::text ORDER BY log_id)
             FROM generation_log WHERE tenant = '20100000000000000000000000000000'),
          ARRAY['(,1,201,attach)', '(1,2,202,attach)', '(2,3,202,attach)', '(3,10,201,attach)',
                '(10,11,201,attach)', '(11,12,201,attach)'],
          'every attach is in generation_log');
SELECT is((SELECT DISTINCT role FROM generation_log WHERE tenant = '20100000000000000000000000000000'),
          session_user::name, 'the log records the calling role');

SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', 999999)$$, 'P0002', NULL,
                 'unknown node: P0002');
SELECT throws_ok($$SELECT gen_attach(NULL, 201)$$, '22004', NULL, 'NULL tenant refused');
SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', NULL)$$, '22004', NULL, 'NULL node refused');
SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', 201, 0)$$, '22023', NULL, 'min_generation 0 refused');
SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', 201, -3)$$, '22023', NULL, 'negative min_generation refused');
SELECT throws_ok($$SELECT gen_attach('2010000000000000000000000000000z', 201)$$, '22P02', NULL, 'bad tenant id: 22P02');
SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', 201, 2147483648)$$, '42883', NULL,
                 'min_generation beyond integer does not even resolve');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '20100000000000000000000000000000'), 12,
          'failed attaches changed nothing');

-- A deleted node takes no attachments.
SELECT node_register(203, 'ps203', 9898, 'ps203', 6400);
SELECT node_delete(203);
SELECT throws_ok($$SELECT gen_attach('20100000000000000000000000000000', 203)$$, '55000', NULL,
                 'attach to a deleted node refused');

-- Detach keeps the generation, and it stays valid.
SELECT lives_ok($$SELECT gen_detach('20100000000000000000000000000000')$$, 'detach');
SELECT is((SELECT row(generation, attached_node)::text FROM tenant_shards
            WHERE id = '20100000000000000000000000000000'), '(12,)', 'detach clears the node, keeps the generation');
SELECT ok(gen_validate('20100000000000000000000000000000', 12), 'a detached shard''s generation stays valid');
SELECT lives_ok($$SELECT gen_detach('20100000000000000000000000000000')$$, 'detaching again is a no-op');
SELECT lives_ok($$SELECT gen_detach('2ffffffffffffffffffffffffffffff0')$$, 'detaching an unknown shard is a no-op');
SELECT throws_ok($$SELECT gen_detach(NULL)$$, '22004', NULL, 'NULL tenant refused');
SELECT is((SELECT count(*) FROM generation_log WHERE tenant = '20100000000000000000000000000000' AND operation = 'detach'),
          1::bigint, 'one detach logged');
SELECT is(gen_attach('20100000000000000000000000000000', 202), 13, 're-attach after detach continues');

-- Secondaries
SELECT lives_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[201::bigint, 201])$$,
                'set secondaries (duplicates collapse)');
SELECT is((SELECT array_agg(node ORDER BY node) FROM secondary_locations WHERE tenant = '20100000000000000000000000000000'),
          ARRAY[201::bigint], 'one secondary');
SELECT lives_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', '{}')$$, 'clear secondaries');
SELECT is((SELECT count(*) FROM secondary_locations WHERE tenant = '20100000000000000000000000000000'), 0::bigint,
          'replaced by nothing');
SELECT throws_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[202::bigint])$$, '22023', NULL,
                 'the attached node cannot also be a secondary');
SELECT throws_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[999999::bigint])$$, 'P0002', NULL,
                 'unknown node refused');
SELECT throws_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[203::bigint])$$, 'P0002', NULL,
                 'deleted node refused');
SELECT throws_ok($$SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[NULL::bigint])$$, '22004', NULL,
                 'NULL node refused');
SELECT throws_ok($$SELECT tenant_set_secondaries('2ffffffffffffffffffffffffffffff0', ARRAY[201::bigint])$$, 'P0002', NULL,
                 'unknown shard refused');

-- tenant_delete keeps a tombstone; the id continues from it when it comes back.
SELECT tenant_set_secondaries('20100000000000000000000000000000', ARRAY[201::bigint]);
SELECT lives_ok($$SELECT tenant_delete('20100000000000000000000000000000')$$, 'tenant_delete');
SELECT is(gen_validate('20100000000000000000000000000000', 13), NULL, 'a deleted shard is unknown to gen_validate');
SELECT is((SELECT count(*) FROM gen_inspect('20100000000000000000000000000000')), 0::bigint, '... and to gen_inspect');
SELECT is((SELECT count(*) FROM secondary_locations WHERE tenant = '20100000000000000000000000000000'), 0::bigint,
          '... and loses its secondaries');
SELECT lives_ok($$SELECT tenant_delete('20100000000000000000000000000000')$$, 'deleting again is a no-op');
SELECT is(gen_attach('20100000000000000000000000000000', 201), 14, 'a deleted id that comes back continues from its tombstone');
SELECT is(gen_validate('20100000000000000000000000000000', 14), true, 'and is known again');

-- (1.1) stripe_size: set when the attach creates the shard, never changed afterwards.
SELECT is(gen_attach('20300000000000000000000000000000', 201, NULL, 4096), 1, 'attach with a stripe size creates the shard');
SELECT is((SELECT stripe_size FROM tenant_shards WHERE id = '20300000000000000000000000000000'), 4096, 'the stripe size is stored');
SELECT is(gen_attach('20300000000000000000000000000000', 202, NULL, 4096), 2, 'the same stripe size again is accepted');
SELECT is(gen_attach('20300000000000000000000000000000', 201), 3, 'NULL keeps it');
SELECT throws_ok($$SELECT gen_attach('20300000000000000000000000000000', 201, NULL, 2048)$$, '22023', NULL,
                 'another stripe size for an existing shard is refused');
SELECT throws_ok($$SELECT gen_attach('20400000000000000000000000000000', 201, NULL, 0)$$, '22023', NULL,
                 'stripe size 0 is refused');
SELECT tenant_delete('20300000000000000000000000000000');
SELECT is(gen_attach('20300000000000000000000000000000', 201, NULL, 8192), 4,
          'a deleted shard that comes back is created again, with the stripe size given');
SELECT is((SELECT stripe_size FROM tenant_shards WHERE id = '20300000000000000000000000000000'), 8192,
          '... which is stored');

-- Exhaustion: never a wrap.
INSERT INTO tenant_shards (id, generation, attached_node) VALUES ('2eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 2147483646, 201);
SELECT is(gen_attach('2eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 201), 2147483647, 'the last generation can be issued');
SELECT throws_ok($$SELECT gen_attach('2eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 201)$$, '22003', NULL,
                 'attach past 2147483647 is an error, never a wrap');

SELECT * FROM finish();
ROLLBACK;
