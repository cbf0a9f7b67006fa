-- The contract's shape: every object docs/design.md names exists with its exact signature,
-- every function and view is documented, and the tables are kept by pg_dump.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(34);

SELECT has_extension('gencontrol', 'extension installed');
SELECT has_schema('gencontrol', 'schema gencontrol');
SELECT has_type('gencontrol', 'tenant_shard_id', 'type tenant_shard_id');
SELECT has_table('gencontrol', 'nodes', 'table nodes');
SELECT has_table('gencontrol', 'tenant_shards', 'table tenant_shards');
SELECT has_table('gencontrol', 'secondary_locations', 'table secondary_locations');
SELECT has_table('gencontrol', 'generation_log', 'table generation_log');
SELECT has_view('gencontrol', 'attachments', 'view attachments');
SELECT has_view('gencontrol', 'node_overview', 'view node_overview');

SELECT function_returns('gencontrol', 'gen_attach', ARRAY['tenant_shard_id', 'bigint', 'integer'], 'integer', 'gen_attach signature');
SELECT function_returns('gencontrol', 'gen_detach', ARRAY['tenant_shard_id'], 'void', 'gen_detach signature');
SELECT function_returns('gencontrol', 'gen_validate', ARRAY['tenant_shard_id', 'integer'], 'boolean', 'gen_validate signature');
SELECT function_returns('gencontrol', 'gen_validate', ARRAY['tenant_shard_id[]', 'integer[]'], 'setof record', 'batch gen_validate signature');
SELECT function_returns('gencontrol', 'gen_re_attach', ARRAY['bigint'], 'setof record', 'gen_re_attach signature');
SELECT function_returns('gencontrol', 'gen_inspect', ARRAY['tenant_shard_id'], 'setof record', 'gen_inspect signature');
SELECT function_returns('gencontrol', 'node_register', ARRAY['bigint', 'text', 'integer', 'text', 'integer', 'text'], 'void', 'node_register signature');
SELECT function_returns('gencontrol', 'node_set_status', ARRAY['bigint', 'text'], 'void', 'node_set_status signature');
SELECT function_returns('gencontrol', 'node_delete', ARRAY['bigint'], 'void', 'node_delete signature');
SELECT function_returns('gencontrol', 'tenant_set_secondaries', ARRAY['tenant_shard_id', 'bigint[]'], 'void', 'tenant_set_secondaries signature');
SELECT function_returns('gencontrol', 'tenant_delete', ARRAY['tenant_shard_id'], 'void', 'tenant_delete signature');
SELECT function_returns('gencontrol', 'gen_advance_all', ARRAY['integer'], 'bigint', 'gen_advance_all signature');

SELECT is((SELECT pg_get_function_arguments('gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer)'::regprocedure)),
          'tenant tenant_shard_id, node bigint, min_generation integer DEFAULT NULL::integer',
          'gen_attach argument names and default');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_re_attach(bigint)'::regprocedure)),
          'TABLE(tenant tenant_shard_id, generation integer, mode text, stripe_size integer)',
          'gen_re_attach result columns');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[])'::regprocedure)),
          'TABLE(tenant tenant_shard_id, valid boolean)', 'batch gen_validate result columns');
SELECT is((SELECT pg_get_function_result('gencontrol.gen_inspect(gencontrol.tenant_shard_id)'::regprocedure)),
          'TABLE(generation integer, node bigint)', 'gen_inspect result columns');

SELECT col_is_pk('gencontrol', 'tenant_shards', 'id', 'tenant_shards keyed by id');
SELECT col_is_pk('gencontrol', 'nodes', 'node_id', 'nodes keyed by node_id');
SELECT col_default_is('gencontrol', 'tenant_shards', 'stripe_size', '2048', 'default stripe size is 2048');

SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'gencontrol'::regnamespace
              AND obj_description(p.oid, 'pg_proc') IS NULL),
          0::bigint, 'every gencontrol function has a COMMENT');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'gencontrol'::regnamespace AND c.relkind = 'v'
              AND obj_description(c.oid, 'pg_class') IS NULL), 0::bigint, 'every view has a COMMENT');
SELECT set_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'gencontrol'$$,
              ARRAY['nodes', 'tenant_shards', 'secondary_locations', 'generation_log', 'generation_log_log_id_seq'],
              'all tables are registered with pg_extension_config_dump');
SELECT ok((SELECT reloptions @> ARRAY['fillfactor=70'] FROM pg_class WHERE oid = 'gencontrol.tenant_shards'::regclass),
          'tenant_shards leaves room for HOT generation updates');
SELECT has_index('gencontrol', 'tenant_shards', 'tenant_shards_attached_node', ARRAY['attached_node', 'id'],
                 'index for gen_re_attach');
SELECT trigger_is('gencontrol', 'tenant_shards', 'tenant_shards_generation_only_grows', 'gencontrol', 'tenant_shards_guard',
                  'the guard trigger is on tenant_shards');

SELECT * FROM finish();
ROLLBACK;
