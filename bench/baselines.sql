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
    SELECT t.generation INTO old_generation FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) plpgsql_attach.tenant FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        new_generation := greatest(1, min_generation);
        INSERT INTO gencontrol.tenant_shards (id, generation, attached_node)
        VALUES (tenant, new_generation, node);
        INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
        VALUES (tenant, NULL, new_generation, node, 'attach', session_user);
        RETURN new_generation;
    END IF;
    IF old_generation = 2147483647 THEN
        RAISE EXCEPTION 'tenant shard % has used up its generations', tenant
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    new_generation := greatest(coalesce(old_generation, 0) + 1, min_generation);
    WITH updated AS (
        UPDATE gencontrol.tenant_shards t
           SET generation = new_generation, attached_node = plpgsql_attach.node, deleted_at = NULL,
               updated_at = now()
         WHERE t.id OPERATOR(gencontrol.=) plpgsql_attach.tenant
        RETURNING t.id)
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
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
BEGIN
    PERFORM gencontrol.require_primary('plpgsql_re_attach');
    PERFORM 1 FROM gencontrol.nodes n WHERE n.node_id = plpgsql_re_attach.node FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE gencontrol.nodes n SET status = 'active', updated_at = now()
     WHERE n.node_id = plpgsql_re_attach.node AND n.status <> 'active';
    RETURN QUERY
    WITH locked AS MATERIALIZED (
        SELECT t.id, t.generation FROM gencontrol.tenant_shards t
         WHERE t.attached_node = plpgsql_re_attach.node AND t.generation IS NOT NULL
         ORDER BY t.id FOR NO KEY UPDATE),
    bumped AS (
        UPDATE gencontrol.tenant_shards t
           SET generation = l.generation + 1, updated_at = now()
          FROM locked l
         WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation < 2147483647
        RETURNING t.id, l.generation AS old_generation, t.generation, t.stripe_size),
    logged AS (
        INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node,
                                               operation, role)
        SELECT b.id, b.old_generation, b.generation, plpgsql_re_attach.node, 're_attach',
               session_user
          FROM bumped b)
    SELECT b.id, b.generation, 'AttachedSingle'::text, b.stripe_size FROM bumped b ORDER BY 1;
    RETURN QUERY
    SELECT s.tenant, NULL::integer, 'Secondary'::text, t.stripe_size
      FROM gencontrol.secondary_locations s
      JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) s.tenant
     WHERE s.node = plpgsql_re_attach.node AND t.deleted_at IS NULL
     ORDER BY s.tenant;
END;
$$;
