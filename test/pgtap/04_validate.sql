-- gen_validate, single and batch: current, superseded, unknown, NULLs, errors.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(22);

SELECT node_register(401, 'ps401', 9898, 'ps401', 6400);
SELECT gen_attach('40100000000000000000000000000000', 401);
SELECT gen_attach('40100000000000000000000000000000', 401);
SELECT gen_attach('40200000000000000000000000000000-0002', 401, 7);

SELECT is(gen_validate('40100000000000000000000000000000', 2), true, 'the current generation is valid');
SELECT is(gen_validate('40100000000000000000000000000000', 1), false, 'a superseded generation is not');
SELECT is(gen_validate('40100000000000000000000000000000', 3), false, 'a future generation is not');
SELECT is(gen_validate('40100000000000000000000000000000', -1), false, 'a negative generation is not');
SELECT is(gen_validate('4ffffffffffffffffffffffffffffff0', 1), NULL, 'unknown shard: NULL');
SELECT is(gen_validate(NULL::tenant_shard_id, 1), NULL, 'NULL tenant: NULL');
SELECT is(gen_validate('40100000000000000000000000000000', NULL::int), NULL, 'NULL generation: NULL');
SELECT throws_ok($$SELECT gen_validate('x', 1)$$, '22P02', NULL, 'bad tenant id: 22P02');

SELECT results_eq(
    $$SELECT tenant::text, valid FROM gen_validate(
        ARRAY['40200000000000000000000000000000-0002', '4ffffffffffffffffffffffffffffff0',
              '40100000000000000000000000000000', '40100000000000000000000000000000']::tenant_shard_id[],
        ARRAY[7, 1, 1, 2])$$,
    $$VALUES ('40200000000000000000000000000000-0002', true), ('40100000000000000000000000000000', false),
             ('40100000000000000000000000000000', true)$$,
    'batch: input order, unknown omitted, duplicates answered each');
SELECT is((SELECT count(*) FROM gen_validate('{}'::tenant_shard_id[], '{}'::int[])), 0::bigint, 'empty batch');
SELECT throws_ok($$SELECT * FROM gen_validate(ARRAY['40100000000000000000000000000000']::tenant_shard_id[], ARRAY[1, 2])$$,
                 '22023', NULL, 'arrays of different length: 22023');
SELECT throws_ok($$SELECT * FROM gen_validate(ARRAY[['40100000000000000000000000000000']]::tenant_shard_id[], ARRAY[[1]])$$,
                 '2202E', NULL, 'two-dimensional arrays refused');
SELECT results_eq(
    $$SELECT tenant::text, valid FROM gen_validate(ARRAY[NULL, '40100000000000000000000000000000']::tenant_shard_id[],
                                                   ARRAY[1, NULL])$$,
    $$VALUES ('40100000000000000000000000000000', NULL::boolean)$$,
    'batch: a NULL tenant is omitted, a NULL generation answers NULL');
SELECT is((SELECT count(*) FROM gen_validate(NULL::tenant_shard_id[], ARRAY[1])), 0::bigint, 'NULL array: no rows');

-- A large batch agrees with the single form.
SELECT node_register(402, 'ps402', 9898, 'ps402', 6400);
CREATE TEMP TABLE batch AS
SELECT ('403' || lpad(to_hex(i), 29, '0'))::tenant_shard_id AS id, i FROM generate_series(1, 3000) i;
SELECT count(gen_attach(id, 402)) FROM batch;
SELECT count(gen_attach(id, 402)) FROM batch WHERE i % 3 = 0;
SELECT is((SELECT count(*) FROM gen_validate((SELECT array_agg(id ORDER BY i) FROM batch),
                                             (SELECT array_agg(1) FROM batch)) WHERE valid),
          2000::bigint, '3000-entry batch: the 2000 shards still at generation 1 are valid');
SELECT results_eq(
    $$SELECT tenant::text, valid FROM gen_validate((SELECT array_agg(id ORDER BY i DESC) FROM batch),
                                                   (SELECT array_agg(2) FROM batch))$$,
    $$SELECT id::text, gen_validate(id, 2) FROM batch ORDER BY i DESC$$,
    '3000-entry batch agrees with single validates, in input order');

-- Deleted shards are unknown to both forms.
SELECT tenant_delete('40200000000000000000000000000000-0002');
SELECT is(gen_validate('40200000000000000000000000000000-0002', 7), NULL, 'deleted shard: NULL');
SELECT is((SELECT count(*) FROM gen_validate(ARRAY['40200000000000000000000000000000-0002']::tenant_shard_id[], ARRAY[7])),
          0::bigint, 'deleted shard: omitted from a batch');

-- Validate sees this transaction's own attach.
SELECT gen_attach('40100000000000000000000000000000', 401);
SELECT is(gen_validate('40100000000000000000000000000000', 3), true, 'validate sees an attach made earlier in the same transaction');
SELECT is(gen_validate('40100000000000000000000000000000', 2), false, '... and that it superseded the old one');

-- A shard created without a generation (direct insert) has no valid generation.
INSERT INTO tenant_shards (id) VALUES ('40400000000000000000000000000000');
SELECT is(gen_validate('40400000000000000000000000000000', 1), false, 'a shard with no generation validates nothing');
SELECT is((SELECT valid FROM gen_validate(ARRAY['40400000000000000000000000000000']::tenant_shard_id[], ARRAY[1])), false,
          '... in the batch form too');

SELECT * FROM finish();
ROLLBACK;
