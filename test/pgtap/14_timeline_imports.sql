-- (1.1) Timeline imports: created by a controller, each shard's status read and written by its
-- pageserver only for the shard's current generation, shown by the timeline_imports view.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(27);

SELECT node_register(1401, 'ps1401', 9898, 'ps1401', 6400);
SELECT gen_attach('e1400000000000000000000000000000-0002', 1401);
SELECT gen_attach('e1400000000000000000000000000000-0102', 1401, 7);

SELECT lives_ok($$SELECT timeline_import_create('e1400000000000000000000000000000', 'AB00000000000000000000000000000F', 2)$$,
                'create an import of a 2-shard tenant (timeline in either case)');
SELECT lives_ok($$SELECT timeline_import_create('e1400000000000000000000000000000', 'ab00000000000000000000000000000f', 2)$$,
                'creating it again is a no-op');
SELECT throws_ok($$SELECT timeline_import_create('e1400000000000000000000000000000', 'ab00000000000000000000000000000f', 4)$$,
                 '23505', NULL, 'the same import with other shards is refused');
SELECT throws_ok($$SELECT timeline_import_create('e1400000000000000000000000000000', 'ab', 2)$$, '22023', NULL,
                 'a timeline id that is not 32 hex digits is refused');
SELECT throws_ok($$SELECT timeline_import_create('e14', 'ab00000000000000000000000000000f', 2)$$, '22023', NULL,
                 'a malformed tenant id is refused');
SELECT throws_ok($$SELECT timeline_import_create('e1400000000000000000000000000000', 'ab00000000000000000000000000000f', 256)$$,
                 '22023', NULL, 'more than 255 shards refused');
SELECT throws_ok($$SELECT timeline_import_create(NULL, 'ab00000000000000000000000000000f', 2)$$, '22004', NULL,
                 'NULL refused');

SELECT is(timeline_import_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 7),
          '{"InProgress": null}'::jsonb, 'every shard starts InProgress: null');
SELECT throws_ok($$SELECT timeline_import_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 6)$$,
                 '22023', 'invalid generation: 6 is not the current generation of tenant shard e1400000000000000000000000000000-0102',
                 'a stale generation is refused with 22023');
SELECT throws_ok($$SELECT timeline_import_status('e1400000000000000000000000000000-0102', 'cd00000000000000000000000000000f', 7)$$,
                 'P0002', NULL, 'an unknown import: P0002');
SELECT throws_ok($$SELECT timeline_import_status('e14fffffffffffffffffffffffffffff', 'ab00000000000000000000000000000f', 1)$$,
                 'P0002', NULL, 'an unknown shard: P0002');

SELECT lives_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 7,
                                                    '{"InProgress": {"V1": {"jobs": 4, "completed": 1}}}')$$,
                'record progress');
SELECT is(timeline_import_status('e1400000000000000000000000000000-0102', 'AB00000000000000000000000000000F', 7),
          '{"InProgress": {"V1": {"jobs": 4, "completed": 1}}}'::jsonb, 'the progress reads back');
SELECT gen_attach('e1400000000000000000000000000000-0102', 1401);
SELECT throws_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 7, '"Done"')$$,
                 '22023', NULL, 'once the shard is attached again, the old generation cannot write');
SELECT is(timeline_import_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 8),
          '{"InProgress": {"V1": {"jobs": 4, "completed": 1}}}'::jsonb, '... so the newer node sees the progress untouched');
SELECT lives_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 8, '"Done"')$$,
                'the current generation writes Done');
SELECT lives_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 8, '"Done"')$$,
                'the same status again is a no-op');
SELECT lives_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'ab00000000000000000000000000000f', 1,
                                                    '{"Error": "S3 said no"}')$$, 'an Error status');
SELECT throws_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'ab00000000000000000000000000000f', 1, '"Finished"')$$,
                 '22023', NULL, 'a status that is not a ShardImportStatus is refused');
SELECT throws_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'ab00000000000000000000000000000f', 1,
                                                     '{"Error": 1}')$$, '22023', NULL, 'an Error that is not a string is refused');
SELECT throws_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'ab00000000000000000000000000000f', 1,
                                                     '{"InProgress": null, "Done": 1}')$$, '22023', NULL, 'two keys are refused');
SELECT throws_ok(format($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'ab00000000000000000000000000000f', 1, %L)$$,
                        json_build_object('InProgress', json_build_object('blob', repeat('x', 100000)))::text),
                 '22023', NULL, 'a status over 64 kB is refused');
SELECT throws_ok($$SELECT timeline_import_set_status('e1400000000000000000000000000000-0002', 'cd00000000000000000000000000000f', 1, '"Done"')$$,
                 'P0002', NULL, 'setting the status of an unknown import: P0002');

SELECT results_eq($$SELECT tenant, timeline, shards, shards_done, done, failed FROM timeline_imports
                     WHERE tenant = 'e1400000000000000000000000000000'$$,
                  $$VALUES ('e1400000000000000000000000000000', 'ab00000000000000000000000000000f', 2::bigint, 1::bigint, false, true)$$,
                  'the timeline_imports view shows the import with its shards');
SELECT is((SELECT statuses FROM timeline_imports WHERE tenant = 'e1400000000000000000000000000000'),
          '{"e1400000000000000000000000000000-0002": {"Error": "S3 said no"}, "e1400000000000000000000000000000-0102": "Done"}'::jsonb,
          '... and each shard''s status');

-- Privileges: the pageserver reads and writes status, only a controller creates imports.
CREATE ROLE gencontrol_pgtap_ps14 NOLOGIN IN ROLE gencontrol_pageserver;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SET ROLE gencontrol_pgtap_ps14;
SELECT is(timeline_import_status('e1400000000000000000000000000000-0102', 'ab00000000000000000000000000000f', 8),
          '"Done"'::jsonb, 'a pageserver reads import status');
SELECT throws_ok($$SELECT timeline_import_create('e1410000000000000000000000000000', 'ab00000000000000000000000000000f', 0)$$,
                 '42501', NULL, 'a pageserver may not create imports');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
