-- Invariant 1 in the table itself: even the owner cannot lower, repeat or remove a generation.
-- Also gen_advance_all, the one bulk way up.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(21);

SELECT node_register(601, 'ps601', 9898, 'ps601', 6400);
SELECT gen_attach('60100000000000000000000000000000', 601, 5);
SELECT gen_attach('60200000000000000000000000000000', 601, 9);

SELECT is(current_user, (SELECT tableowner FROM pg_tables WHERE schemaname = 'gencontrol' AND tablename = 'tenant_shards_stored'),
          'these checks run as the table owner');
SELECT throws_ok($$UPDATE tenant_shards SET generation = generation - 1 WHERE id = '60100000000000000000000000000000'$$,
                 '23514', NULL, 'a direct UPDATE may not lower a generation');
SELECT throws_ok($$UPDATE tenant_shards SET generation = generation WHERE id = '60100000000000000000000000000000'$$,
                 '23514', NULL, 'a direct UPDATE may not set it to an equal value');
SELECT throws_ok($$UPDATE tenant_shards SET generation = 5 WHERE id = '60100000000000000000000000000000'$$,
                 '23514', 'generation of tenant shard 60100000000000000000000000000000 may only increase: 5 -> 5',
                 'the message names the shard and both values');
SELECT throws_ok($$UPDATE tenant_shards SET generation = NULL WHERE id = '60100000000000000000000000000000'$$,
                 '23514', NULL, 'nor clear it');
SELECT throws_ok($$UPDATE tenant_shards SET generation = 1$$, '23514', NULL, 'nor lower many at once');
SELECT throws_ok($$UPDATE tenant_shards SET generation = 0 WHERE id = '60100000000000000000000000000000'$$,
                 '23514', NULL, 'nor set 0');
SELECT throws_ok($$DELETE FROM tenant_shards WHERE id = '60100000000000000000000000000000'$$,
                 '55000', NULL, 'rows are never deleted');
SELECT throws_ok($$TRUNCATE tenant_shards_stored CASCADE$$, '55000', NULL, 'nor truncated');
SELECT throws_ok($$UPDATE tenant_shards SET generation = generation + 2147483647 WHERE id = '60100000000000000000000000000000'$$,
                 '22003', NULL, 'int4 overflow is an error, never a wrap');
SELECT throws_ok($$INSERT INTO tenant_shards (id, generation) VALUES ('60300000000000000000000000000000', 0)$$,
                 '23514', NULL, 'no generation below 1, even on insert');
SELECT lives_ok($$UPDATE tenant_shards SET generation = generation + 1 WHERE id = '60100000000000000000000000000000'$$,
                'raising it directly is allowed');
SELECT lives_ok($$UPDATE tenant_shards SET stripe_size = 4096 WHERE id = '60100000000000000000000000000000'$$,
                'updating other columns is allowed');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '60100000000000000000000000000000'), 6,
          'after all that the generation only went up');

-- gen_advance_all
SELECT tenant_delete('60200000000000000000000000000000');
SELECT is(gen_advance_all(1000), (SELECT count(*) FROM tenant_shards WHERE generation IS NOT NULL),
          'gen_advance_all changes every shard with a generation and says how many');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '60100000000000000000000000000000'), 1006, 'live shard advanced');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '60200000000000000000000000000000'), 1009,
          'tombstones advance too, so a returning id continues above');
SELECT ok((SELECT count(*) FROM generation_log WHERE operation = 'advance_all') >= 2, 'each change is logged');
SELECT throws_ok($$SELECT gen_advance_all(0)$$, '22023', NULL, 'margin 0 refused');
SELECT throws_ok($$SELECT gen_advance_all(NULL)$$, '22004', NULL, 'NULL margin refused');
SELECT lives_ok($$SELECT gen_advance_all(2147483000)$$,
                 'a margin some shards cannot take runs anyway (1.1): they are raised to the last generation');

SELECT * FROM finish();
ROLLBACK;
