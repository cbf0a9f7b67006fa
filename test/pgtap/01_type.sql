-- The tenant_shard_id type: text and binary I/O, casts, accessors, ordering, joins.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(45);

-- Round trips and case
SELECT is('072f1291a5310026820b2fe4b2968934'::tenant_shard_id::text,
          '072f1291a5310026820b2fe4b2968934', 'unsharded id round-trips');
SELECT is('072f1291a5310026820b2fe4b2968934-0102'::tenant_shard_id::text,
          '072f1291a5310026820b2fe4b2968934-0102', 'sharded id round-trips');
SELECT is('072F1291A5310026820B2FE4B2968934-0A10'::tenant_shard_id::text,
          '072f1291a5310026820b2fe4b2968934-0a10', 'upper case is accepted and printed lower case');
SELECT is('ffffffffffffffffffffffffffffffff-feff'::tenant_shard_id::text,
          'ffffffffffffffffffffffffffffffff-feff', 'largest shard number and count');
SELECT is(('072f1291a5310026820b2fe4b2968934-0102'::text)::tenant_shard_id,
          '072f1291a5310026820b2fe4b2968934-0102'::tenant_shard_id, 'cast from text');
SELECT is(pg_typeof('072f1291a5310026820b2fe4b2968934'::tenant_shard_id::text)::text, 'text', 'cast to text');
SELECT is(pg_column_size('072f1291a5310026820b2fe4b2968934-0102'::tenant_shard_id), 18, 'fixed size of 18 bytes');

-- Malformed input: 22P02 with the input quoted
SELECT throws_ok($$SELECT ''::tenant_shard_id$$, '22P02', NULL, 'empty string');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b296893'::tenant_shard_id$$, '22P02',
                 'invalid input syntax for type tenant_shard_id: "072f1291a5310026820b2fe4b296893"',
                 '31 digits: rejected, input quoted');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b29689345'::tenant_shard_id$$, '22P02', NULL, '33 digits');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b296893g'::tenant_shard_id$$, '22P02', NULL, 'non-hex digit');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-01'::tenant_shard_id$$, '22P02', NULL, 'short suffix');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-01zz'::tenant_shard_id$$, '22P02', NULL, 'non-hex suffix');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934_0102'::tenant_shard_id$$, '22P02', NULL, 'wrong separator');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-0202'::tenant_shard_id$$, '22P02', NULL, 'shard number = count');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-0302'::tenant_shard_id$$, '22P02', NULL, 'shard number > count');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-0100'::tenant_shard_id$$, '22P02', NULL, 'number with count 0');
SELECT throws_ok($$SELECT '072f1291a5310026820b2fe4b2968934-0000'::tenant_shard_id$$, '22P02', NULL, 'suffix on an unsharded id');
SELECT throws_ok($$SELECT ' 072f1291a5310026820b2fe4b2968934'::tenant_shard_id$$, '22P02', NULL, 'leading space');
SELECT throws_ok($$SELECT 'not a tenant'::text::tenant_shard_id$$, '22P02', NULL, 'cast from bad text');

-- Accessors and constructor
SELECT is(tenant_hex('072f1291a5310026820b2fe4b2968934-0102'), '072f1291a5310026820b2fe4b2968934', 'tenant_hex');
SELECT is(shard_number('072f1291a5310026820b2fe4b2968934-0102'), 1, 'shard_number');
SELECT is(shard_count('072f1291a5310026820b2fe4b2968934-0102'), 2, 'shard_count');
SELECT is(shard_count('072f1291a5310026820b2fe4b2968934'), 0, 'shard_count of an unsharded id');
SELECT is(tenant_shard('072F1291A5310026820B2FE4B2968934', 1, 2)::text,
          '072f1291a5310026820b2fe4b2968934-0102', 'tenant_shard builds an id');
SELECT is(tenant_shard('072f1291a5310026820b2fe4b2968934', 0, 0)::text,
          '072f1291a5310026820b2fe4b2968934', 'tenant_shard builds an unsharded id');
SELECT throws_ok($$SELECT tenant_shard('072f1291a5310026820b2fe4b2968934', 2, 2)$$, '22023', NULL,
                 'tenant_shard: number must be < count');
SELECT throws_ok($$SELECT tenant_shard('072f', 0, 0)$$, '22023', NULL, 'tenant_shard: bad hex');
SELECT throws_ok($$SELECT tenant_shard('072f1291a5310026820b2fe4b2968934', 0, 256)$$, '22023', NULL,
                 'tenant_shard: count out of range');

-- Binary I/O
SELECT is(tenant_shard_id_send('072f1291a5310026820b2fe4b2968934-0102'),
          '\x072f1291a5310026820b2fe4b29689340102'::bytea, 'send writes the 18-byte layout');
CREATE TEMP TABLE binary_copy (id tenant_shard_id);
INSERT INTO binary_copy VALUES ('072f1291a5310026820b2fe4b2968934-0102'), ('00000000000000000000000000000001');
COPY binary_copy TO '/tmp/gencontrol_pgtap_binary_copy' WITH (FORMAT binary);
CREATE TEMP TABLE binary_back (id tenant_shard_id);
COPY binary_back FROM '/tmp/gencontrol_pgtap_binary_copy' WITH (FORMAT binary);
SELECT set_eq('SELECT id::text FROM binary_back', 'SELECT id::text FROM binary_copy',
              'binary COPY out and in (send/recv) round-trips');

-- Ordering: tenant bytes, then number, then count
SELECT ok('00000000000000000000000000000001-0002'::tenant_shard_id
          < '00000000000000000000000000000001-0102'::tenant_shard_id, 'number orders within a tenant');
SELECT ok('00000000000000000000000000000001-0102'::tenant_shard_id
          < '00000000000000000000000000000002'::tenant_shard_id, 'tenant orders first');
SELECT ok('00000000000000000000000000000001'::tenant_shard_id
          < '00000000000000000000000000000001-0002'::tenant_shard_id, 'count orders last');
SELECT ok('ff000000000000000000000000000000'::tenant_shard_id
          > '0fffffffffffffffffffffffffffffff'::tenant_shard_id, 'bytes compare unsigned');
SELECT ok('00000000000000000000000000000001'::tenant_shard_id
          = '00000000000000000000000000000001'::tenant_shard_id, 'equality');
SELECT ok('00000000000000000000000000000001'::tenant_shard_id
          <> '00000000000000000000000000000001-0002'::tenant_shard_id, 'inequality');
SELECT ok('00000000000000000000000000000002'::tenant_shard_id >= '00000000000000000000000000000002'::tenant_shard_id
          AND '00000000000000000000000000000002'::tenant_shard_id <= '00000000000000000000000000000002'::tenant_shard_id,
          '<= and >=');

CREATE TEMP TABLE ids AS
SELECT tenant_shard(lpad(to_hex(i % 50), 32, '0'), i % 4, 4) AS id, i
  FROM generate_series(1, 400) i;
SELECT results_eq(
    'SELECT id::text FROM ids ORDER BY id, i',
    $$SELECT id::text FROM ids ORDER BY tenant_hex(id), shard_number(id), shard_count(id), i$$,
    'ORDER BY sorts by tenant, number, count');

-- Joins: hash and merge (the operator is HASHES and MERGES, with both operator classes)
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END;
$$;
SET LOCAL enable_nestloop = off;
SET LOCAL enable_mergejoin = off;
SELECT matches(pg_temp.plan_of('SELECT * FROM ids a JOIN ids b USING (id)'), 'Hash Join',
               'the planner can hash-join on tenant_shard_id');
SELECT is((SELECT count(*) FROM ids a JOIN ids b USING (id)),
          (SELECT count(*) FROM ids a JOIN ids b ON a.id::text = b.id::text), 'hash join matches');
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = on;
SELECT matches(pg_temp.plan_of('SELECT * FROM ids a JOIN ids b USING (id)'), 'Merge Join',
               'the planner can merge-join on tenant_shard_id');
SELECT is((SELECT count(*) FROM ids a JOIN ids b USING (id)),
          (SELECT count(*) FROM ids a JOIN ids b ON a.id::text = b.id::text), 'merge join matches');
SELECT is((SELECT count(DISTINCT id) FROM ids), (SELECT count(DISTINCT id::text) FROM ids),
          'DISTINCT agrees with the text form');
SELECT is((SELECT count(*) FROM (SELECT id FROM ids GROUP BY id) g),
          (SELECT count(DISTINCT id::text) FROM ids), 'GROUP BY (hash aggregate) agrees with the text form');

SELECT * FROM finish();
ROLLBACK;
