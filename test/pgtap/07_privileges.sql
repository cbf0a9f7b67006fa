-- Invariant 6: nothing for PUBLIC; each role gets exactly its functions; no direct writes.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(40);

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

-- gen_attach is not SECURITY DEFINER. The SQL of its rarer paths (a new shard's INSERT, the
-- DELETE of a secondary location it attaches to) must still run as the extension's owner with
-- the pinned search_path: a controller whose own path puts, before pg_catalog, a schema with a
-- raising "=" on bigint (the DELETE's `node = $2`) and an enum named text (the INSERT's
-- `'attach'::text`) neither needs table privileges nor gets either one used, and has its role and
-- search_path back afterwards. Without that, each attach below fails (42501 or 'hijacked').
CREATE SCHEMA gencontrol_pgtap_evil;
GRANT USAGE ON SCHEMA gencontrol_pgtap_evil TO PUBLIC;
CREATE FUNCTION gencontrol_pgtap_evil.hijacked(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
    AS $$BEGIN RAISE EXCEPTION 'hijacked: = (bigint, bigint)'; END$$;
CREATE OPERATOR gencontrol_pgtap_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = gencontrol_pgtap_evil.hijacked);
CREATE TYPE gencontrol_pgtap_evil.text AS ENUM ('hijacked');
SELECT gen_attach('70200000000000000000000000000000', 701);
SELECT tenant_set_secondaries('70200000000000000000000000000000', '{702}');
-- "The owner" is the extension's (pg_extension.extowner), whatever owns the schema meanwhile.
SELECT nspowner::regrole AS schema_owner FROM pg_namespace WHERE nspname = 'gencontrol' \gset
ALTER SCHEMA gencontrol OWNER TO gencontrol_pgtap_nobody;
SET ROLE gencontrol_pgtap_ctl;
SET LOCAL search_path = gencontrol_pgtap_evil, pg_catalog, gencontrol, public;
-- Results are kept in psql variables: pgTAP's own SQL would resolve text to the enum too.
SELECT gen_attach('70200000000000000000000000000000', 702) AS to_secondary \gset
SELECT gen_attach('70300000000000000000000000000000', 701) AS new_shard \gset
SELECT current_user AS user_after, current_setting('search_path') AS path_after \gset
RESET ROLE;
ALTER SCHEMA gencontrol OWNER TO :"schema_owner";
-- The owner itself (this superuser) with that path: only the pinned search_path protects it.
SELECT gen_attach('70400000000000000000000000000000', 701) AS owner_new_shard \gset
SET LOCAL search_path = gencontrol, public;
SELECT is(:owner_new_shard, 1, 'owner, hostile search_path: gen_attach of a new shard resolves nothing on that path');
SELECT is(:to_secondary, 2,
          'controller, hostile search_path: gen_attach to a secondary location (its DELETE runs as the owner, pinned)');
SELECT is(:new_shard, 1,
          'controller, hostile search_path: gen_attach of a new shard (its INSERT runs as the owner, pinned)');
SELECT is(:'user_after'::text, 'gencontrol_pgtap_ctl'::text, 'controller: gen_attach gives the role back');
SELECT is(:'path_after'::text, 'gencontrol_pgtap_evil, pg_catalog, gencontrol, public'::text,
          'controller: gen_attach gives the search_path back');
SELECT is((SELECT count(*) FROM secondary_locations WHERE tenant = '70200000000000000000000000000000'), 0::bigint,
          'the attach removed the secondary location');
SELECT is((SELECT prosecdef FROM pg_proc
            WHERE oid = 'gen_attach(tenant_shard_id, bigint, integer, integer)'::regprocedure), false,
          'gen_attach is not SECURITY DEFINER (its common path runs no SQL)');

SET ROLE gencontrol_pgtap_ro;
SELECT is((SELECT generation FROM gen_inspect('70100000000000000000000000000000')), 3, 'reader: gen_inspect');
SELECT is((SELECT generation FROM attachments WHERE tenant_shard_id = '70100000000000000000000000000000'), 3, 'reader: attachments view');
SELECT ok((SELECT count(*) FROM node_overview) >= 2, 'reader: node_overview view');
SELECT throws_ok($$SELECT gen_validate('70100000000000000000000000000000', 1)$$, '42501', NULL, 'reader: no gen_validate');
SELECT throws_ok($$SELECT * FROM tenant_shards$$, '42501', NULL, 'reader: no tables');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
