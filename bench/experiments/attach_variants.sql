-- (Measured on 7f413b0, when gen_attach still locked the node row; see ANALYSIS.md.)
-- How much of gen_attach's work each design choice costs, measured with PL/pgSQL stand-ins on
-- gencontrol's own tables (same rows, guard trigger, foreign key). Load into the benchmark
-- database, then time them with run_pgbench.py and pgbench/attach_*.sql:
--   e0_shipped     what gen_attach does: lock node, lock shard, update, log (bench.plpgsql_attach)
--   e1_merged      one UPDATE ... RETURNING instead of SELECT ... FOR NO KEY UPDATE + UPDATE
--   e2_no_node_lock  e1 without the node lock: the foreign key's own KEY SHARE lock plus a status
--                  re-read after the update keep node_delete out (see ANALYSIS.md)
--   e3_log_brin    e2, history into a copy of generation_log whose logged_at index is BRIN
--   e4_no_log      e2 without the history row (what the log costs; not a proposal)
CREATE SCHEMA IF NOT EXISTS benchx;

CREATE TABLE IF NOT EXISTS benchx.log_brin (LIKE gencontrol.generation_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE benchx.log_brin ALTER log_id SET DEFAULT nextval('gencontrol.generation_log_log_id_seq');
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'benchx' AND tablename = 'log_brin') THEN
    INSERT INTO benchx.log_brin SELECT * FROM gencontrol.generation_log;
    ALTER TABLE benchx.log_brin ADD PRIMARY KEY (log_id);
    CREATE INDEX ON benchx.log_brin (tenant, log_id);
    CREATE INDEX ON benchx.log_brin USING brin (logged_at);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION benchx.e1_merged(tenant gencontrol.tenant_shard_id, node bigint)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE node_status text; new_generation integer;
BEGIN
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e1_merged.node FOR KEY SHARE;
    IF NOT FOUND OR node_status = 'deleted' THEN RAISE EXCEPTION 'bad node %', node; END IF;
    UPDATE gencontrol.tenant_shards t SET generation = coalesce(t.generation, 0) + 1,
           attached_node = e1_merged.node, deleted_at = NULL, updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) e1_merged.tenant RETURNING t.generation INTO new_generation;
    IF NOT FOUND THEN RAISE EXCEPTION 'first attach is not part of this experiment'; END IF;
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    VALUES (tenant, nullif(new_generation - 1, 0), new_generation, node, 'attach', session_user);
    RETURN new_generation;
END $$;

CREATE OR REPLACE FUNCTION benchx.e2_no_node_lock(tenant gencontrol.tenant_shard_id, node bigint)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE node_status text; new_generation integer;
BEGIN
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e2_no_node_lock.node;
    IF NOT FOUND OR node_status = 'deleted' THEN RAISE EXCEPTION 'bad node %', node; END IF;
    UPDATE gencontrol.tenant_shards t SET generation = coalesce(t.generation, 0) + 1,
           attached_node = e2_no_node_lock.node, deleted_at = NULL, updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) e2_no_node_lock.tenant RETURNING t.generation INTO new_generation;
    IF NOT FOUND THEN RAISE EXCEPTION 'first attach is not part of this experiment'; END IF;
    -- After the foreign key's KEY SHARE lock: a node_delete that committed first is seen here.
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e2_no_node_lock.node;
    IF node_status = 'deleted' THEN RAISE EXCEPTION 'node % was deleted', node; END IF;
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    VALUES (tenant, nullif(new_generation - 1, 0), new_generation, node, 'attach', session_user);
    RETURN new_generation;
END $$;

CREATE OR REPLACE FUNCTION benchx.e3_log_brin(tenant gencontrol.tenant_shard_id, node bigint)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE node_status text; new_generation integer;
BEGIN
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e3_log_brin.node;
    IF NOT FOUND OR node_status = 'deleted' THEN RAISE EXCEPTION 'bad node %', node; END IF;
    UPDATE gencontrol.tenant_shards t SET generation = coalesce(t.generation, 0) + 1,
           attached_node = e3_log_brin.node, deleted_at = NULL, updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) e3_log_brin.tenant RETURNING t.generation INTO new_generation;
    IF NOT FOUND THEN RAISE EXCEPTION 'first attach is not part of this experiment'; END IF;
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e3_log_brin.node;
    IF node_status = 'deleted' THEN RAISE EXCEPTION 'node % was deleted', node; END IF;
    INSERT INTO benchx.log_brin (tenant, old_generation, new_generation, node, operation, role)
    VALUES (tenant, nullif(new_generation - 1, 0), new_generation, node, 'attach', session_user);
    RETURN new_generation;
END $$;

CREATE OR REPLACE FUNCTION benchx.e4_no_log(tenant gencontrol.tenant_shard_id, node bigint)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE node_status text; new_generation integer;
BEGIN
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e4_no_log.node;
    IF NOT FOUND OR node_status = 'deleted' THEN RAISE EXCEPTION 'bad node %', node; END IF;
    UPDATE gencontrol.tenant_shards t SET generation = coalesce(t.generation, 0) + 1,
           attached_node = e4_no_log.node, deleted_at = NULL, updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) e4_no_log.tenant RETURNING t.generation INTO new_generation;
    IF NOT FOUND THEN RAISE EXCEPTION 'first attach is not part of this experiment'; END IF;
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = e4_no_log.node;
    IF node_status = 'deleted' THEN RAISE EXCEPTION 'node % was deleted', node; END IF;
    RETURN new_generation;
END $$;
