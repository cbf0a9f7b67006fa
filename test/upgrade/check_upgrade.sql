-- After ALTER EXTENSION gencontrol UPDATE from 1.0 (load_1_0.sql loaded the rows): every row
-- survived with the same values, the database works as 1.1, and its gencontrol objects are the
-- same as a fresh 1.1 install's (database :fresh on the same server, compared through dblink).
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(17);

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'gencontrol'), '1.1', 'updated to 1.1');
SELECT ok((SELECT count(*) FROM before_tenant_shards) > 100, 'the 1.0 data was loaded');
SELECT set_eq($$SELECT node_id, status, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port,
                       availability_zone, created_at, updated_at FROM nodes$$,
              $$SELECT * FROM before_nodes$$, 'every node survived with every 1.0 column');
SELECT is((SELECT count(*) FROM nodes WHERE num_nonnulls(listen_https_port, listen_grpc_addr, listen_grpc_port,
                                                          node_ip_addr, owner_role) > 0),
          0::bigint, 'the 1.1 columns start NULL');
SELECT set_eq($$SELECT id::text, generation, attached_node, stripe_size, deleted_at, created_at, updated_at FROM tenant_shards$$,
              $$SELECT id::text, generation, attached_node, stripe_size, deleted_at, created_at, updated_at
                  FROM before_tenant_shards$$,
              'every shard survived: generation, node, stripe size, tombstone, timestamps');
SELECT set_eq($$SELECT tenant::text, node, created_at FROM secondary_locations$$,
              $$SELECT b.tenant::text, b.node, b.created_at FROM before_secondary_locations b
                 WHERE NOT EXISTS (SELECT 1 FROM before_tenant_shards t
                                    WHERE t.id = b.tenant AND t.attached_node = b.node)$$,
              'every secondary survived, except one that was also the attached node');
SELECT is((SELECT count(*) FROM secondary_locations s JOIN tenant_shards t ON t.id = s.tenant
            WHERE t.attached_node = s.node), 0::bigint, 'no shard is attached to one of its secondary locations');
SELECT set_eq($$SELECT id::text, secondary_nodes FROM tenant_shards_stored WHERE secondary_nodes IS NOT NULL$$,
              $$SELECT tenant::text, array_agg(node ORDER BY node) FROM secondary_locations GROUP BY tenant$$,
              'each shard''s row lists the nodes of its secondary locations (what gen_attach probes)');
SELECT set_eq($$SELECT log_id, tenant::text, old_generation, new_generation, node, operation, role, logged_at FROM generation_log$$,
              $$SELECT log_id, tenant::text, old_generation, new_generation, node, operation, role, logged_at
                  FROM before_generation_log$$,
              'every generation_log row survived');
SELECT ok(nextval('generation_log_log_id_seq') > (SELECT last_value FROM before_sequence), 'the log sequence continues');

-- It works as 1.1.
SELECT is(gen_attach(lpad(to_hex(50), 32, 'f')::tenant_shard_id, 9001),
          (SELECT generation + 1 FROM before_tenant_shards WHERE id = lpad(to_hex(50), 32, 'f')::tenant_shard_id),
          'an attach continues from the kept generation');
SELECT is(gen_attach(lpad(to_hex(15), 32, 'f')::tenant_shard_id, 9001),
          (SELECT generation + 1 FROM before_tenant_shards WHERE id = lpad(to_hex(15), 32, 'f')::tenant_shard_id),
          'a deleted shard comes back above its tombstone');
SELECT is((SELECT count(*) FROM gen_re_attach(9002) WHERE mode = 'AttachedSingle'),
          (SELECT count(*) FROM before_tenant_shards WHERE attached_node = 9002), 're-attach of the draining node');
SELECT throws_ok($$SELECT node_register(9001, 'elsewhere', 9898, 'up-ps1', 6400)$$, '23505', NULL,
                 'node_register refuses other addresses (1.1)');
SELECT results_eq($$SELECT count(*) FROM tenant_shard_split('fe000000000000000000000000000000', 8)$$,
                  ARRAY[8::bigint], 'a 1.0 tenant splits');

-- The same objects as a fresh 1.1 install: functions (arguments, result, options, privileges,
-- body, comment), relations, columns, constraints, indexes, views, triggers, config tables.
CREATE FUNCTION pg_temp.catalog(dbname text) RETURNS SETOF text LANGUAGE sql AS $fn$
    SELECT line FROM dblink(format('host=%s port=%s dbname=%s user=%s', current_setting('unix_socket_directories'),
                                   current_setting('port'), dbname, current_user), $q$
        SELECT 'function ' || p.oid::regprocedure || ' -> ' || pg_get_function_result(p.oid)
               || ' | ' || pg_get_function_arguments(p.oid) || ' | ' || p.provolatile::text || p.proisstrict || p.prosecdef
               || ' | ' || coalesce(array_to_string(p.proconfig, ','), '') || ' | ' || coalesce(p.proacl::text, '')
               || ' | ' || md5(coalesce(p.prosrc, '')) || ' | ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
          FROM pg_proc p WHERE p.pronamespace = 'gencontrol'::regnamespace
        UNION ALL
        SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' | ' || coalesce(c.relacl::text, '') || ' | '
               || coalesce(array_to_string(c.reloptions, ','), '') || ' | ' || coalesce(obj_description(c.oid, 'pg_class'), '')
          FROM pg_class c WHERE c.relnamespace = 'gencontrol'::regnamespace
        UNION ALL
        SELECT 'column ' || c.relname || '.' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
               || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
          LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'gencontrol'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'gencontrol'::regnamespace
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relnamespace = 'gencontrol'::regnamespace
        UNION ALL
        SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
         WHERE c.relnamespace = 'gencontrol'::regnamespace AND c.relkind = 'v'
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'gencontrol'::regnamespace AND NOT t.tgisinternal
        UNION ALL
        SELECT 'config ' || x::regclass FROM pg_extension e, unnest(e.extconfig) AS x WHERE e.extname = 'gencontrol'
    $q$) AS t(line text)
$fn$;
SELECT is(ARRAY(SELECT pg_temp.catalog(current_database()) EXCEPT SELECT pg_temp.catalog(:'fresh') ORDER BY 1), '{}'::text[],
          'nothing in the updated database that a fresh 1.1 install lacks or has otherwise');
SELECT is(ARRAY(SELECT pg_temp.catalog(:'fresh') EXCEPT SELECT pg_temp.catalog(current_database()) ORDER BY 1), '{}'::text[],
          'nothing in a fresh 1.1 install that the updated database lacks');

SELECT * FROM finish();
ROLLBACK;
