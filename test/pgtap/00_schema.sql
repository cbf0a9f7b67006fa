-- The contract's shape: every object docs/design.md names exists with its exact signature,
-- every function and view is documented, and the tables are kept by pg_dump.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(50);

SELECT has_extension('gencontrol', 'extension installed');
SELECT has_schema('gencontrol', 'schema gencontrol');
SELECT has_type('gencontrol', 'tenant_shard_id', 'type tenant_shard_id');
SELECT has_table('gencontrol', 'nodes', 'table nodes');
SELECT has_view('gencontrol', 'tenant_shards', 'view tenant_shards (1.1: over tenant_shards_stored and node epochs)');
SELECT has_table('gencontrol', 'secondary_locations', 'table secondary_locations');
SELECT has_view('gencontrol', 'generation_log', 'view generation_log (1.1: over generation_log_entries and re_attach_log)');
SELECT has_view('gencontrol', 'attachments', 'view attachments');
SELECT has_view('gencontrol', 'node_overview', 'view node_overview');
SELECT has_view('gencontrol', 'timeline_imports', 'view timeline_imports (1.1)');
SELECT has_table('gencontrol', 'timeline_import_shards', 'table timeline_import_shards (1.1)');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'gencontrol'), '1.1', 'extension version 1.1');

SELECT function_returns('gencontrol', 'gen_attach', ARRAY['tenant_shard_id', 'bigint', 'integer', 'integer'], 'integer', 'gen_attach signature');
SELECT function_returns('gencontrol', 'gen_detach', ARRAY['tenant_shard_id'], 'void', 'gen_detach signature');
SELECT function_returns('gencontrol', 'gen_validate', ARRAY['tenant_shard_id', 'integer'], 'boolean', 'gen_validate signature');
SELECT function_returns('gencontrol', 'gen_validate', ARRAY['tenant_shard_id[]', 'integer[]'], 'setof record', 'batch gen_validate signature');
SELECT function_returns('gencontrol', 'gen_re_attach', ARRAY['bigint'], 'setof record', 'gen_re_attach signature');
SELECT function_returns('gencontrol', 'gen_inspect', ARRAY['tenant_shard_id'], 'setof record', 'gen_inspect signature');
SELECT function_returns('gencontrol', 'node_register', ARRAY['bigint', 'text', 'integer', 'text', 'integer', 'text', 'integer', 'text', 'integer', 'inet'], 'void', 'node_register signature');
SELECT function_returns('gencontrol', 'node_update', ARRAY['bigint', 'text', 'integer', 'text', 'integer', 'text'], 'void', 'node_update signature');
SELECT function_returns('gencontrol', 'node_bind_role', ARRAY['bigint', 'name'], 'void', 'node_bind_role signature');
SELECT function_returns('gencontrol', 'tenant_shard_split', ARRAY['text', 'integer', 'integer'], 'setof tenant_shard_id', 'tenant_shard_split signature');
SELECT function_returns('gencontrol', 'timeline_import_create', ARRAY['text', 'text', 'integer'], 'void', 'timeline_import_create signature');
SELECT function_returns('gencontrol', 'timeline_import_status', ARRAY['tenant_shard_id', 'text', 'integer'], 'jsonb', 'timeline_import_status signature');
SELECT function_returns('gencontrol', 'timeline_import_set_status', ARRAY['tenant_shard_id', 'text', 'integer', 'jsonb'], 'void', 'timeline_import_set_status signature');
SELECT function_returns('gencontrol', 'node_set_status', ARRAY['bigint', 'text'], 'void', 'node_set_status signature');
SELECT function_returns('gencontrol', 'node_delete', ARRAY['bigint'], 'void', 'node_delete signature');
SELECT function_returns('gencontrol', 'tenant_set_secondaries', ARRAY['tenant_shard_id', 'bigint[]'], 'void', 'tenant_set_secondaries signature');
SELECT function_returns('gencontrol', 'tenant_delete', ARRAY['tenant_shard_id'], 'void', 'tenant_delete signature');
SELECT function_returns('gencontrol', 'gen_advance_all', ARRAY['integer'], 'bigint', 'gen_advance_all signature');

SELECT is((SELECT pg_get_function_arguments('gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer, integer)'::regprocedure)),
          'tenant tenant_shard_id, node bigint, min_generation integer DEFAULT NULL::integer, stripe_size integer DEFAULT NULL::integer',
          'gen_attach argument names and defaults');
SELECT is((SELECT pg_get_function_arguments('gencontrol.node_register(bigint, text, integer, text, integer, text, integer, text, integer, inet)'::regprocedure)),
          'node bigint, listen_http_addr text, listen_http_port integer, listen_pg_addr text, listen_pg_port integer, '
          'availability_zone text DEFAULT NULL::text, listen_https_port integer DEFAULT NULL::integer, '
          'listen_grpc_addr text DEFAULT NULL::text, listen_grpc_port integer DEFAULT NULL::integer, '
          'node_ip_addr inet DEFAULT NULL::inet',
          'node_register argument names and defaults, as the shim calls it');
SELECT is((SELECT pg_get_function_arguments('gencontrol.tenant_shard_split(text, integer, integer)'::regprocedure)),
          'tenant text, new_shard_count integer, stripe_size integer DEFAULT NULL::integer',
          'tenant_shard_split argument names and default');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_re_attach(bigint)'::regprocedure)),
          'TABLE(tenant tenant_shard_id, generation integer, mode text, stripe_size integer)',
          'gen_re_attach result columns');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[])'::regprocedure)),
          'TABLE(tenant tenant_shard_id, valid boolean)', 'batch gen_validate result columns');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_inspect(gencontrol.tenant_shard_id)'::regprocedure)),
          'TABLE(generation integer, node bigint)', 'gen_inspect result columns');

SELECT col_is_pk('gencontrol', 'tenant_shards_stored', 'id', 'tenant shards keyed by id');
SELECT col_is_pk('gencontrol', 'nodes', 'node_id', 'nodes keyed by node_id');
SELECT col_default_is('gencontrol', 'tenant_shards_stored', 'stripe_size', '2048', 'default stripe size is 2048');

SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'gencontrol'::regnamespace
              AND obj_description(p.oid, 'pg_proc') IS NULL),
          0::bigint, 'every gencontrol function has a COMMENT');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'gencontrol'::regnamespace AND c.relkind = 'v'
              AND obj_description(c.oid, 'pg_class') IS NULL), 0::bigint, 'every view has a COMMENT');
SELECT set_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'gencontrol'$$,
              ARRAY['nodes', 'tenant_shards_stored', 'secondary_locations', 'generation_log_entries', 're_attach_log',
                    'generation_log_log_id_seq', 'timeline_import_shards'],
              'all tables are registered with pg_extension_config_dump');
SELECT ok((SELECT reloptions @> ARRAY['fillfactor=70'] FROM pg_class WHERE oid = 'gencontrol.tenant_shards_stored'::regclass),
          'tenant_shards_stored leaves room for HOT generation updates');
SELECT has_index('gencontrol', 'tenant_shards_stored', 'tenant_shards_attached_node',
                 ARRAY['attached_node', 'id', 'base_generation', 'base_epoch', 'stripe_size'],
                 'index for gen_re_attach: keyed by (attached_node, id), carrying what it returns');
SELECT trigger_is('gencontrol', 'tenant_shards_stored', 'tenant_shards_generation_only_grows', 'gencontrol', 'tenant_shards_guard',
                  'the guard trigger is on tenant_shards_stored');
SELECT trigger_is('gencontrol', 'nodes', 'nodes_epoch_only_grows', 'gencontrol', 'nodes_guard',
                  'the epoch guard is on nodes');
SELECT columns_are('gencontrol', 'tenant_shards',
                   ARRAY['id', 'generation', 'attached_node', 'stripe_size', 'deleted_at', 'created_at', 'updated_at'],
                   'the view tenant_shards has the columns of 1.0''s table');
SELECT columns_are('gencontrol', 'generation_log',
                   ARRAY['log_id', 'tenant', 'old_generation', 'new_generation', 'node', 'operation', 'role', 'logged_at'],
                   'the view generation_log has the columns of 1.0''s table');
SELECT columns_are('gencontrol', 'nodes',
                   ARRAY['node_id', 'status', 'listen_http_addr', 'listen_http_port', 'listen_pg_addr', 'listen_pg_port',
                         'availability_zone', 'created_at', 'updated_at', 'listen_https_port', 'listen_grpc_addr',
                         'listen_grpc_port', 'node_ip_addr', 'owner_role', 'epoch'],
                   'nodes has the 1.1 registration columns, owner_role and epoch');
SELECT ok('split' = ANY (SELECT unnest(regexp_matches(pg_get_constraintdef(oid), '''(\w+)''', 'g'))
                           FROM pg_constraint WHERE conname = 'generation_log_operation_check'),
          'generation_log accepts the split operation');

SELECT * FROM finish();
ROLLBACK;
