-- gen_re_attach: every attached shard bumped, secondaries listed, node status, refusals.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(19);

SELECT node_register(501, 'ps501', 9898, 'ps501', 6400);
SELECT node_register(502, 'ps502', 9898, 'ps502', 6400);
SELECT gen_attach('50100000000000000000000000000000', 501);
SELECT gen_attach('50200000000000000000000000000000-0102', 501, 20);
SELECT gen_attach('50200000000000000000000000000000-0002', 502, 30);
SELECT gen_attach('50300000000000000000000000000000', 502);
SELECT tenant_set_secondaries('50200000000000000000000000000000-0002', ARRAY[501::bigint]);
SELECT tenant_set_secondaries('50300000000000000000000000000000', ARRAY[501::bigint]);

SELECT results_eq(
    $$SELECT tenant::text, generation, mode, stripe_size FROM gen_re_attach(501)$$,
    $$VALUES ('50100000000000000000000000000000', 2, 'AttachedSingle', 2048),
             ('50200000000000000000000000000000-0102', 21, 'AttachedSingle', 2048),
             ('50200000000000000000000000000000-0002', NULL, 'Secondary', 2048),
             ('50300000000000000000000000000000', NULL, 'Secondary', 2048)$$,
    're-attach: attached shards bumped, then secondaries with NULL generation');
SELECT is(gen_validate('50100000000000000000000000000000', 1), false, 'the old generation is superseded');
SELECT is(gen_validate('50100000000000000000000000000000', 2), true, 'the new one is valid');
SELECT is(gen_validate('50200000000000000000000000000000-0002', 30), true, 'a secondary''s generation is untouched');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '50300000000000000000000000000000'), 1,
          'other nodes'' shards untouched');
SELECT is((SELECT count(*) FROM generation_log WHERE node = 501 AND operation = 're_attach'), 2::bigint,
          'each bump is logged');
SELECT is((SELECT array_agg(generation ORDER BY tenant) FROM gen_re_attach(501) WHERE mode = 'AttachedSingle'),
          ARRAY[3, 22], 'a second re-attach bumps again');

-- Status: draining and paused nodes become active.
SELECT node_set_status(501, 'draining');
SELECT is((SELECT count(*) FROM gen_re_attach(501)), 4::bigint, 'a draining node can re-attach');
SELECT is((SELECT status FROM nodes WHERE node_id = 501), 'active', '... and is active again');
SELECT node_set_status(501, 'paused');
SELECT is((SELECT count(*) FROM gen_re_attach(501)), 4::bigint, 'a paused node can re-attach');
SELECT is((SELECT status FROM nodes WHERE node_id = 501), 'active', '... and is active again');

-- A node with nothing
SELECT node_register(503, 'ps503', 9898, 'ps503', 6400);
SELECT is((SELECT count(*) FROM gen_re_attach(503)), 0::bigint, 'a node with no shards gets an empty list');

-- Refusals
SELECT throws_ok($$SELECT * FROM gen_re_attach(999999)$$, 'P0002', NULL, 'unknown node: P0002');
SELECT throws_ok($$SELECT * FROM gen_re_attach(NULL)$$, '22004', NULL, 'NULL node refused');
SELECT node_delete(503);
SELECT throws_ok($$SELECT * FROM gen_re_attach(503)$$, '55000', NULL, 'a deleted node is refused');

-- Deleted shards are neither bumped nor listed.
SELECT tenant_delete('50100000000000000000000000000000');
SELECT is((SELECT count(*) FROM gen_re_attach(501) WHERE tenant = '50100000000000000000000000000000'), 0::bigint,
          'a deleted shard is not re-attached');

-- A shard at the last generation is detached with a WARNING, and the node still starts.
INSERT INTO tenant_shards (id, generation, attached_node) VALUES ('5eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 2147483647, 502);
SELECT results_eq(
    $$SELECT tenant::text, generation FROM gen_re_attach(502) WHERE mode = 'AttachedSingle'$$,
    $$VALUES ('50200000000000000000000000000000-0002', 31), ('50300000000000000000000000000000', 2)$$,
    'an exhausted shard is left out, the others are re-attached');
SELECT is((SELECT row(generation, attached_node)::text FROM tenant_shards WHERE id = '5eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'),
          '(2147483647,)', 'the exhausted shard is detached, its generation kept');
SELECT is((SELECT operation FROM generation_log WHERE tenant = '5eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'), 'exhausted',
          'and the detach is logged as exhausted');

SELECT * FROM finish();
ROLLBACK;
