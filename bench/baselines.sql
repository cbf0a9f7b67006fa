-- The baselines gencontrol is measured against, built in the benchmark database next to it.
-- Each does the same job as one gencontrol function with the SQL an operator would otherwise write.

CREATE SCHEMA bench;

-- 1. Plain SQL: the same rows in a table without the extension. The key is the text form of
--    the tenant shard id (C collation, so comparisons are memcmp); same fillfactor and the same
--    partial index as gencontrol.tenant_shards. No guard trigger, no foreign key, no history:
--    the least work a generation issuer can do, so the strictest baseline.
CREATE TABLE bench.plain_shards (
    id            text COLLATE "C" PRIMARY KEY,
    generation    integer,
    attached_node bigint,
    stripe_size   integer NOT NULL DEFAULT 2048,
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX plain_shards_attached_node ON bench.plain_shards (attached_node, id)
    WHERE attached_node IS NOT NULL;

CREATE TABLE bench.plain_nodes (
    node_id bigint PRIMARY KEY,
    status  text NOT NULL DEFAULT 'active'
);

-- 2. The Neon storage controller's schema (storage_controller/migrations, tenant_shards):
--    varchar tenant id plus shard number and count as the key, and no index on
--    generation_pageserver, exactly as Neon has it.
CREATE TABLE bench.neon_tenant_shards (
    tenant_id             varchar NOT NULL,
    shard_number          integer NOT NULL,
    shard_count           integer NOT NULL,
    shard_stripe_size     integer NOT NULL,
    generation            integer,
    generation_pageserver bigint,
    placement_policy      varchar NOT NULL,
    splitting             smallint NOT NULL,
    config                text NOT NULL,
    scheduling_policy     varchar NOT NULL DEFAULT '"Active"',
    preferred_az_id       varchar,
    PRIMARY KEY (tenant_id, shard_number, shard_count)
);

CREATE TABLE bench.neon_nodes (
    node_id           bigint PRIMARY KEY,
    scheduling_policy varchar NOT NULL DEFAULT '"Active"'
);

-- 3. PL/pgSQL doing what the C++ functions do, on gencontrol's own tables (same rows, same
--    guard trigger, same history): the difference measured is the language of the body.
CREATE FUNCTION bench.plpgsql_attach(tenant gencontrol.tenant_shard_id, node bigint,
                                     min_generation integer DEFAULT NULL)
    RETURNS integer LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    node_status text;
    old_generation integer;
    new_generation integer;
    node_epoch bigint;
    node_key bigint := (node # (node >> 32)) & 4294967295;
BEGIN
    PERFORM gencontrol.require_primary('plpgsql_attach');
    -- gen_attach's node lock: shared, heavyweight, in gencontrol's advisory key space.
    PERFORM pg_advisory_xact_lock_shared(1734569588,
        (node_key - CASE WHEN node_key >= 2147483648 THEN 4294967296 ELSE 0 END)::integer);
    SELECT n.status INTO node_status FROM gencontrol.nodes n WHERE n.node_id = plpgsql_attach.node;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    IF node_status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted', node USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT n.epoch INTO node_epoch FROM gencontrol.nodes n WHERE n.node_id = plpgsql_attach.node;
    -- The shard's row locked, then its current generation (1.1: base + its node's epoch growth).
    PERFORM 1 FROM gencontrol.tenant_shards_stored t
     WHERE t.id OPERATOR(gencontrol.=) plpgsql_attach.tenant FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        new_generation := greatest(1, min_generation);
        INSERT INTO gencontrol.tenant_shards_stored (id, base_generation, attached_node, base_epoch)
        VALUES (tenant, new_generation, node, node_epoch);
        INSERT INTO gencontrol.generation_log_entries (tenant, old_generation, new_generation, node, operation, role)
        VALUES (tenant, NULL, new_generation, node, 'attach', session_user);
        RETURN new_generation;
    END IF;
    SELECT t.generation INTO old_generation FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) plpgsql_attach.tenant;
    IF old_generation = 2147483647 THEN
        RAISE EXCEPTION 'tenant shard % has used up its generations', tenant
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    new_generation := greatest(coalesce(old_generation, 0) + 1, min_generation);
    WITH updated AS (
        UPDATE gencontrol.tenant_shards_stored t
           SET base_generation = new_generation, attached_node = plpgsql_attach.node, base_epoch = node_epoch,
               deleted_at = NULL, updated_at = now()
         WHERE t.id OPERATOR(gencontrol.=) plpgsql_attach.tenant
        RETURNING t.id)
    INSERT INTO gencontrol.generation_log_entries (tenant, old_generation, new_generation, node, operation, role)
    SELECT u.id, old_generation, new_generation, plpgsql_attach.node, 'attach', session_user FROM updated u;
    RETURN new_generation;
END;
$$;

CREATE FUNCTION bench.plpgsql_validate(tenant gencontrol.tenant_shard_id, generation integer)
    RETURNS boolean LANGUAGE plpgsql VOLATILE STRICT
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current integer;
BEGIN
    PERFORM gencontrol.require_primary('plpgsql_validate');
    SELECT t.generation INTO current FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) plpgsql_validate.tenant AND t.deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN current = plpgsql_validate.generation;
END;
$$;

CREATE FUNCTION bench.plpgsql_re_attach(node bigint)
    RETURNS TABLE (tenant gencontrol.tenant_shard_id, generation integer, mode text,
                   stripe_size integer)
    LANGUAGE plpgsql VOLATILE ROWS 1000
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    old_epoch bigint;
    ids gencontrol.tenant_shard_id[];
    old_generations integer[];
    stripes integer[];
BEGIN
    PERFORM gencontrol.require_primary('plpgsql_re_attach');
    SELECT n.epoch INTO old_epoch FROM gencontrol.nodes n WHERE n.node_id = plpgsql_re_attach.node FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    -- 1.1: one row bumped (the node's epoch), the shards read, one history row.
    UPDATE gencontrol.nodes n SET epoch = old_epoch + 1, status = 'active'
     WHERE n.node_id = plpgsql_re_attach.node;
    SELECT array_agg(t.id ORDER BY t.id), array_agg((t.base_generation::bigint + (old_epoch - t.base_epoch))::integer ORDER BY t.id),
           array_agg(t.stripe_size ORDER BY t.id)
      INTO ids, old_generations, stripes
      FROM gencontrol.tenant_shards_stored t WHERE t.attached_node = plpgsql_re_attach.node;
    INSERT INTO gencontrol.re_attach_log (node, epoch, tenants, old_generations, role)
    VALUES (node, old_epoch + 1, ids, old_generations, session_user);
    RETURN QUERY
    SELECT x.id, x.generation + 1, 'AttachedSingle'::text, x.stripe FROM unnest(ids, old_generations, stripes) AS x(id, generation, stripe);
    RETURN QUERY
    SELECT s.tenant, NULL::integer, 'Secondary'::text, t.stripe_size
      FROM gencontrol.secondary_locations s
      JOIN gencontrol.tenant_shards_stored t ON t.id OPERATOR(gencontrol.=) s.tenant
     WHERE s.node = plpgsql_re_attach.node AND t.deleted_at IS NULL
     ORDER BY s.tenant;
END;
$$;
