-- Invariant 6: nothing for PUBLIC; each role gets exactly its functions; no direct writes.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(33);

SELECT node_register(701, 'ps701', 9898, 'ps701', 6400);
SELECT gen_attach('70100000000000000000000000000000', 701);
CREATE ROLE gencontrol_pgtap_nobody NOLOGIN;
CREATE ROLE gencontrol_pgtap_ps NOLOGIN IN ROLE gencontrol_pageserver;
CREATE ROLE gencontrol_pgtap_ctl NOLOGIN IN ROLE gencontrol_controller;
CREATE ROLE gencontrol_pgtap_ro NOLOGIN IN ROLE gencontrol_reader;
GRANT USAGE ON SCHEMA gencontrol TO gencontrol_pgtap_nobody;
-- pgTAP keeps its state in a temporary table that the test roles must be able to write.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;

SELECT has_role('gencontrol_pageserver', 'role gencontrol_pageserver exists');
SELECT has_role('gencontrol_controller', 'role gencontrol_controller exists');
SELECT has_role('gencontrol_reader', 'role gencontrol_reader exists');
SELECT is((SELECT bool_or(rolcanlogin) FROM pg_roles
            WHERE rolname IN ('gencontrol_pageserver', 'gencontrol_controller', 'gencontrol_reader')), false,
          'the three roles are NOLOGIN');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'gencontrol'::regnamespace
            AND p.prosecdef AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
          0::bigint, 'every SECURITY DEFINER function pins search_path');

SET ROLE gencontrol_pgtap_nobody;
SELECT throws_ok($$SELECT gen_validate('70100000000000000000000000000000', 1)$$, '42501', NULL, 'PUBLIC: no gen_validate');
SELECT throws_ok($$SELECT gen_attach('70100000000000000000000000000000', 701)$$, '42501', NULL, 'PUBLIC: no gen_attach');
SELECT throws_ok($$SELECT * FROM gen_inspect('70100000000000000000000000000000')$$, '42501', NULL, 'PUBLIC: no gen_inspect');
SELECT throws_ok($$SELECT * FROM attachments$$, '42501', NULL, 'PUBLIC: no views');
SELECT throws_ok($$SELECT * FROM tenant_shards$$, '42501', NULL, 'PUBLIC: no tables');
SELECT lives_ok($$SELECT '70100000000000000000000000000000'::tenant_shard_id = '70100000000000000000000000000000'$$,
                'PUBLIC: the type and its operators stay usable');
RESET ROLE;

SET ROLE gencontrol_pgtap_ps;
SELECT is(gen_validate('70100000000000000000000000000000', 1), true, 'pageserver: gen_validate');
SELECT is((SELECT count(*) FROM gen_validate(ARRAY['70100000000000000000000000000000']::tenant_shard_id[], ARRAY[1])),
          1::bigint, 'pageserver: batch gen_validate');
SELECT lives_ok($$SELECT node_register(702, 'ps702', 9898, 'ps702', 6400)$$, 'pageserver: node_register');
SELECT lives_ok($$SELECT * FROM gen_re_attach(701)$$, 'pageserver: gen_re_attach');
SELECT throws_ok($$SELECT gen_attach('70100000000000000000000000000000', 701)$$, '42501', NULL, 'pageserver: no gen_attach');
SELECT throws_ok($$SELECT node_delete(702)$$, '42501', NULL, 'pageserver: no node_delete');
SELECT throws_ok($$SELECT * FROM gen_inspect('70100000000000000000000000000000')$$, '42501', NULL, 'pageserver: no gen_inspect');
SELECT throws_ok($$UPDATE tenant_shards SET generation = 100$$, '42501', NULL, 'pageserver: no direct writes');
RESET ROLE;

SET ROLE gencontrol_pgtap_ctl;
SELECT is(gen_attach('70100000000000000000000000000000', 702), 3, 'controller: gen_attach');
SELECT lives_ok($$SELECT gen_detach('70100000000000000000000000000000')$$, 'controller: gen_detach');
SELECT lives_ok($$SELECT node_set_status(702, 'draining')$$, 'controller: node_set_status');
SELECT is((SELECT generation FROM gen_inspect('70100000000000000000000000000000')), 3, 'controller: gen_inspect');
SELECT is((SELECT generation FROM tenant_shards WHERE id = '70100000000000000000000000000000'), 3, 'controller: reads tables');
SELECT throws_ok($$UPDATE tenant_shards SET generation = 100$$, '42501', NULL, 'controller: no direct UPDATE');
SELECT throws_ok($$INSERT INTO nodes (node_id, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port)
                   VALUES (799, 'a', 1, 'a', 1)$$, '42501', NULL, 'controller: no direct INSERT');
SELECT throws_ok($$DELETE FROM generation_log_entries$$, '42501', NULL, 'controller: no direct DELETE');
SELECT throws_ok($$DELETE FROM re_attach_log$$, '42501', NULL, 'controller: no direct DELETE of re-attach history');
RESET ROLE;

SET ROLE gencontrol_pgtap_ro;
SELECT is((SELECT generation FROM gen_inspect('70100000000000000000000000000000')), 3, 'reader: gen_inspect');
SELECT is((SELECT generation FROM attachments WHERE tenant_shard_id = '70100000000000000000000000000000'), 3, 'reader: attachments view');
SELECT ok((SELECT count(*) FROM node_overview) >= 2, 'reader: node_overview view');
SELECT throws_ok($$SELECT gen_validate('70100000000000000000000000000000', 1)$$, '42501', NULL, 'reader: no gen_validate');
SELECT throws_ok($$SELECT * FROM tenant_shards$$, '42501', NULL, 'reader: no tables');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
