-- gencontrol 1.0 -> 1.1: node identity (registration conflicts, bound roles, length limits),
-- stripe_size at attach, tenant shard splits, timeline imports, durable lifecycle writers.
-- Every row of 1.0 is kept as it is; the functions are the same text as gencontrol--1.1.sql.

\echo Use "ALTER EXTENSION gencontrol UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------------------

-- 1.0 stored addresses of any length; 1.1 allows 255 bytes. Say which node is in the way
-- instead of failing on the constraint below with no hint.
DO $$
DECLARE
    too_long bigint;
BEGIN
    SELECT n.node_id INTO too_long FROM gencontrol.nodes n
     WHERE octet_length(n.listen_http_addr) > 255 OR octet_length(n.listen_pg_addr) > 255
        OR octet_length(n.availability_zone) > 255
     ORDER BY n.node_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'gencontrol 1.1: node % has an address or zone longer than 255 bytes', too_long
            USING ERRCODE = 'check_violation',
                  HINT = 'Correct it (UPDATE gencontrol.nodes as the extension owner), then update again.';
    END IF;
END;
$$;

ALTER TABLE gencontrol.nodes
    ADD COLUMN listen_https_port integer CHECK (listen_https_port BETWEEN 1 AND 65535),
    ADD COLUMN listen_grpc_addr  text CHECK (listen_grpc_addr <> '' AND octet_length(listen_grpc_addr) <= 255),
    ADD COLUMN listen_grpc_port  integer CHECK (listen_grpc_port BETWEEN 1 AND 65535),
    ADD COLUMN node_ip_addr      inet,
    ADD COLUMN owner_role        name,
    ADD CONSTRAINT nodes_field_lengths CHECK (octet_length(listen_http_addr) <= 255
                                              AND octet_length(listen_pg_addr) <= 255
                                              AND octet_length(availability_zone) <= 255);

ALTER TABLE gencontrol.generation_log
    DROP CONSTRAINT generation_log_operation_check,
    ADD CONSTRAINT generation_log_operation_check
        CHECK (operation IN ('attach', 're_attach', 'detach', 'delete', 'advance_all', 'exhausted', 'split'));

-- (1.1) Per timeline import, each shard's status as the pageserver reports it (Neon's
-- ShardImportStatus JSON). The view timeline_imports shows one row per import.
CREATE TABLE gencontrol.timeline_import_shards (
    tenant_shard gencontrol.tenant_shard_id NOT NULL,
    timeline     text NOT NULL CHECK (timeline ~ '^[0-9a-f]{32}$'),
    status       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_shard, timeline)
);

SELECT pg_catalog.pg_extension_config_dump('gencontrol.timeline_import_shards', '');

-- 1.0 let a node be both attached and a secondary of one shard (gen_attach to a secondary):
-- gen_re_attach then listed the shard twice. 1.1 never stores that; drop what 1.0 left.
DELETE FROM gencontrol.secondary_locations s
 USING gencontrol.tenant_shards t
 WHERE t.id OPERATOR(gencontrol.=) s.tenant AND t.attached_node = s.node;

------------------------------------------------------------------------------------------
-- Functions whose signature grew: dropped and created again (their grants follow below)
------------------------------------------------------------------------------------------

DROP FUNCTION gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer);
DROP FUNCTION gencontrol.node_register(bigint, text, integer, text, integer, text);

CREATE FUNCTION gencontrol.gen_attach(tenant gencontrol.tenant_shard_id, node bigint,
                                      min_generation integer DEFAULT NULL,
                                      stripe_size integer DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

------------------------------------------------------------------------------------------
-- Lifecycle: new functions, and durable commits for the 1.0 writers
------------------------------------------------------------------------------------------

-- Marks the calling transaction durable: its commit is flushed and waits for a synchronous
-- standby whatever synchronous_commit says. For the PL/pgSQL writers below.
CREATE FUNCTION gencontrol.commit_durably() RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;

-- The checks node_register and node_update share: ids, ports, non-empty addresses, and the
-- length limit (255 bytes, a DNS name's) so that a caller cannot store megabytes.
CREATE FUNCTION gencontrol.node_fields_check(operation text, node bigint, listen_http_addr text,
                                             listen_http_port integer, listen_pg_addr text,
                                             listen_pg_port integer, availability_zone text,
                                             listen_https_port integer, listen_grpc_addr text,
                                             listen_grpc_port integer)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF node IS NULL OR listen_http_addr IS NULL OR listen_http_port IS NULL
       OR listen_pg_addr IS NULL OR listen_pg_port IS NULL THEN
        RAISE EXCEPTION '%: node, addresses and ports must not be NULL', operation
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF node <= 0 THEN
        RAISE EXCEPTION '%: node id must be positive, got %', operation, node
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF listen_http_port NOT BETWEEN 1 AND 65535 OR listen_pg_port NOT BETWEEN 1 AND 65535
       OR listen_https_port NOT BETWEEN 1 AND 65535 OR listen_grpc_port NOT BETWEEN 1 AND 65535 THEN
        RAISE EXCEPTION '%: ports must be between 1 and 65535', operation
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF listen_http_addr = '' OR listen_pg_addr = '' OR listen_grpc_addr = '' THEN
        RAISE EXCEPTION '%: listen addresses must not be empty', operation
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(listen_http_addr) > 255 OR octet_length(listen_pg_addr) > 255
       OR octet_length(listen_grpc_addr) > 255 OR octet_length(availability_zone) > 255 THEN
        RAISE EXCEPTION '%: host names and availability zones are at most 255 bytes', operation
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

CREATE FUNCTION gencontrol.node_register(node bigint, listen_http_addr text,
                                         listen_http_port integer, listen_pg_addr text,
                                         listen_pg_port integer,
                                         availability_zone text DEFAULT NULL,
                                         listen_https_port integer DEFAULT NULL,
                                         listen_grpc_addr text DEFAULT NULL,
                                         listen_grpc_port integer DEFAULT NULL,
                                         node_ip_addr inet DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    known record;
BEGIN
    PERFORM gencontrol.require_primary('node_register');
    PERFORM gencontrol.node_fields_check('node_register', node, listen_http_addr, listen_http_port,
                                         listen_pg_addr, listen_pg_port, availability_zone,
                                         listen_https_port, listen_grpc_addr, listen_grpc_port);
    FOR attempt IN 1 .. 2 LOOP
        SELECT n.status, n.listen_http_addr, n.listen_http_port, n.listen_pg_addr, n.listen_pg_port,
               n.owner_role
          INTO known FROM gencontrol.nodes n
         WHERE n.node_id = node_register.node FOR NO KEY UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO gencontrol.nodes (node_id, listen_http_addr, listen_http_port, listen_pg_addr,
                                      listen_pg_port, availability_zone, listen_https_port,
                                      listen_grpc_addr, listen_grpc_port, node_ip_addr)
        VALUES (node, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port,
                availability_zone, listen_https_port, listen_grpc_addr, listen_grpc_port, node_ip_addr)
        ON CONFLICT (node_id) DO NOTHING;
        IF FOUND THEN
            PERFORM gencontrol.commit_durably();
            RETURN;
        END IF;
        -- Registered concurrently: the second pass checks against that registration.
    END LOOP;

    IF known.status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted; node ids are not reused', node
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register the node under a new id.';
    END IF;
    -- A node bound with node_bind_role registers only as that role or a controller.
    IF known.owner_role IS NOT NULL
       AND NOT pg_has_role(session_user, 'gencontrol_controller', 'MEMBER')
       AND NOT (CASE WHEN EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = known.owner_role)
                     THEN pg_has_role(session_user, known.owner_role, 'MEMBER') ELSE false END) THEN
        RAISE EXCEPTION 'node_register: node % is bound to role "%"; role "%" may not register it',
            node, known.owner_role, session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Another process claiming a registered node's id is the node-level split brain.
    IF (known.listen_http_addr, known.listen_http_port, known.listen_pg_addr, known.listen_pg_port)
       IS DISTINCT FROM (listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port) THEN
        RAISE EXCEPTION 'node % is registered at http %:%, libpq %:%', node,
            known.listen_http_addr, known.listen_http_port, known.listen_pg_addr, known.listen_pg_port
            USING ERRCODE = 'unique_violation',
                  DETAIL = format('This registration names http %s:%s, libpq %s:%s.',
                                  left(listen_http_addr, 255), listen_http_port,
                                  left(listen_pg_addr, 255), listen_pg_port),
                  HINT = 'A node that really moved is moved by a controller with gencontrol.node_update().';
    END IF;
    UPDATE gencontrol.nodes n
       SET availability_zone = node_register.availability_zone,
           listen_https_port = node_register.listen_https_port,
           listen_grpc_addr = node_register.listen_grpc_addr,
           listen_grpc_port = node_register.listen_grpc_port,
           node_ip_addr = node_register.node_ip_addr,
           updated_at = now()
     WHERE n.node_id = node_register.node
       AND (n.availability_zone, n.listen_https_port, n.listen_grpc_addr, n.listen_grpc_port, n.node_ip_addr)
           IS DISTINCT FROM
           (node_register.availability_zone, node_register.listen_https_port, node_register.listen_grpc_addr,
            node_register.listen_grpc_port, node_register.node_ip_addr);
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    END IF;
END;
$$;

CREATE FUNCTION gencontrol.node_update(node bigint, listen_http_addr text, listen_http_port integer,
                                       listen_pg_addr text, listen_pg_port integer,
                                       availability_zone text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    PERFORM gencontrol.require_primary('node_update');
    PERFORM gencontrol.node_fields_check('node_update', node, listen_http_addr, listen_http_port,
                                         listen_pg_addr, listen_pg_port, availability_zone,
                                         NULL, NULL, NULL);
    SELECT n.status INTO current_status FROM gencontrol.nodes n
     WHERE n.node_id = node_update.node FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    IF current_status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted', node USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE gencontrol.nodes n
       SET listen_http_addr = node_update.listen_http_addr,
           listen_http_port = node_update.listen_http_port,
           listen_pg_addr = node_update.listen_pg_addr,
           listen_pg_port = node_update.listen_pg_port,
           availability_zone = node_update.availability_zone,
           updated_at = now()
     WHERE n.node_id = node_update.node
       AND (n.listen_http_addr, n.listen_http_port, n.listen_pg_addr, n.listen_pg_port, n.availability_zone)
           IS DISTINCT FROM
           (node_update.listen_http_addr, node_update.listen_http_port, node_update.listen_pg_addr,
            node_update.listen_pg_port, node_update.availability_zone);
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    END IF;
END;
$$;

CREATE FUNCTION gencontrol.node_bind_role(node bigint, role name)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    can_login boolean;
    current_status text;
BEGIN
    PERFORM gencontrol.require_primary('node_bind_role');
    IF node IS NULL THEN
        RAISE EXCEPTION 'node_bind_role: node must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF role IS NOT NULL THEN
        SELECT r.rolcanlogin INTO can_login FROM pg_roles r WHERE r.rolname = node_bind_role.role;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'undefined_object';
        END IF;
        IF NOT can_login OR NOT pg_has_role(role, 'gencontrol_pageserver', 'MEMBER') THEN
            RAISE EXCEPTION 'node_bind_role: role "%" must be a login role holding gencontrol_pageserver', role
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Bind the role the node''s process logs in as.';
        END IF;
    END IF;
    SELECT n.status INTO current_status FROM gencontrol.nodes n
     WHERE n.node_id = node_bind_role.node FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    IF current_status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted', node USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE gencontrol.nodes n SET owner_role = node_bind_role.role, updated_at = now()
     WHERE n.node_id = node_bind_role.node AND n.owner_role IS DISTINCT FROM node_bind_role.role;
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION gencontrol.node_set_status(node bigint, status text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    PERFORM gencontrol.require_primary('node_set_status');
    IF node IS NULL OR status IS NULL THEN
        RAISE EXCEPTION 'node_set_status: node and status must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF status NOT IN ('active', 'paused', 'draining') THEN
        RAISE EXCEPTION 'node_set_status: status must be active, paused or draining, got "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A node is deleted with node_delete(), which checks that nothing is attached.';
    END IF;
    SELECT n.status INTO current_status FROM gencontrol.nodes n
     WHERE n.node_id = node_set_status.node FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    IF current_status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted', node USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE gencontrol.nodes n SET status = node_set_status.status, updated_at = now()
     WHERE n.node_id = node_set_status.node AND n.status <> node_set_status.status;
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION gencontrol.node_delete(node bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_status text;
    attached bigint;
BEGIN
    PERFORM gencontrol.require_primary('node_delete');
    IF node IS NULL THEN
        RAISE EXCEPTION 'node_delete: node must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Every gen_attach holds this node's lock shared until it commits, so an attach to this
    -- node either commits first (and is counted below) or waits and then sees 'deleted'.
    -- FOR UPDATE also keeps tenant_set_secondaries (KEY SHARE) out.
    PERFORM gencontrol.node_lock_for_delete(node);
    SELECT n.status INTO current_status FROM gencontrol.nodes n
     WHERE n.node_id = node_delete.node FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', node USING ERRCODE = 'no_data_found';
    END IF;
    IF current_status = 'deleted' THEN
        RETURN;
    END IF;
    SELECT count(*) INTO attached FROM gencontrol.tenant_shards t
     WHERE t.attached_node = node_delete.node;
    IF attached > 0 THEN
        RAISE EXCEPTION 'node % still has % attached tenant shard(s)', node, attached
            USING ERRCODE = 'object_in_use',
                  HINT = 'Attach them elsewhere (gen_attach) or detach them (gen_detach) first.';
    END IF;
    DELETE FROM gencontrol.secondary_locations s WHERE s.node = node_delete.node;
    UPDATE gencontrol.nodes n SET status = 'deleted', updated_at = now()
     WHERE n.node_id = node_delete.node;
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE OR REPLACE FUNCTION gencontrol.tenant_set_secondaries(tenant gencontrol.tenant_shard_id, nodes bigint[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    shard record;
    missing bigint;
BEGIN
    PERFORM gencontrol.require_primary('tenant_set_secondaries');
    IF tenant IS NULL OR nodes IS NULL THEN
        RAISE EXCEPTION 'tenant_set_secondaries: tenant and nodes must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF array_position(nodes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'tenant_set_secondaries: nodes must not contain NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t.attached_node, t.deleted_at INTO shard FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) tenant_set_secondaries.tenant FOR UPDATE;
    IF NOT FOUND OR shard.deleted_at IS NOT NULL THEN
        RAISE EXCEPTION 'tenant shard % is not known', tenant USING ERRCODE = 'no_data_found';
    END IF;
    IF shard.attached_node = ANY (nodes) THEN
        RAISE EXCEPTION 'node % is where tenant shard % is attached; it cannot also be a secondary',
            shard.attached_node, tenant USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Lock the nodes in key order so that node_delete cannot remove one under us.
    PERFORM 1 FROM gencontrol.nodes n WHERE n.node_id = ANY (nodes) ORDER BY n.node_id FOR KEY SHARE;
    SELECT x INTO missing FROM unnest(nodes) AS x
     WHERE NOT EXISTS (SELECT 1 FROM gencontrol.nodes n WHERE n.node_id = x AND n.status <> 'deleted')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'node % is not registered (or was deleted)', missing USING ERRCODE = 'no_data_found';
    END IF;
    DELETE FROM gencontrol.secondary_locations s
     WHERE s.tenant OPERATOR(gencontrol.=) tenant_set_secondaries.tenant
       AND s.node <> ALL (nodes);
    INSERT INTO gencontrol.secondary_locations (tenant, node)
    SELECT DISTINCT tenant_set_secondaries.tenant, x FROM unnest(nodes) AS x
    ON CONFLICT DO NOTHING;
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE OR REPLACE FUNCTION gencontrol.tenant_delete(tenant gencontrol.tenant_shard_id)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    shard record;
BEGIN
    PERFORM gencontrol.require_primary('tenant_delete');
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'tenant_delete: tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t.generation, t.attached_node, t.deleted_at INTO shard FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) tenant_delete.tenant FOR UPDATE;
    IF NOT FOUND OR shard.deleted_at IS NOT NULL THEN
        RETURN;  -- deleting what is not there is done already: callers retry
    END IF;
    DELETE FROM gencontrol.secondary_locations s WHERE s.tenant OPERATOR(gencontrol.=) tenant_delete.tenant;
    UPDATE gencontrol.tenant_shards t
       SET attached_node = NULL, deleted_at = now(), updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) tenant_delete.tenant;
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    VALUES (tenant, shard.generation, shard.generation, shard.attached_node, 'delete', session_user);
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE FUNCTION gencontrol.tenant_shard_split(tenant text, new_shard_count integer,
                                              stripe_size integer DEFAULT NULL)
    RETURNS SETOF gencontrol.tenant_shard_id
    LANGUAGE plpgsql VOLATILE ROWS 8
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    first_id gencontrol.tenant_shard_id;
    last_id gencontrol.tenant_shard_id;
    parent record;
    parent_ids gencontrol.tenant_shard_id[] := '{}';
    parent_generations integer[] := '{}';
    parent_nodes bigint[] := '{}';
    parent_stripes integer[] := '{}';
    locked_nodes bigint[];
    old_count integer;
    child gencontrol.tenant_shard_id;
    child_generation integer;
    p integer;
BEGIN
    PERFORM gencontrol.require_primary('tenant_shard_split');
    IF tenant IS NULL OR new_shard_count IS NULL THEN
        RAISE EXCEPTION 'tenant_shard_split: tenant and new_shard_count must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF new_shard_count NOT BETWEEN 2 AND 255 THEN
        RAISE EXCEPTION 'tenant_shard_split: new_shard_count must be between 2 and 255, got %', new_shard_count
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tenant_shard_split.stripe_size <= 0 THEN
        RAISE EXCEPTION 'tenant_shard_split: stripe_size must be positive, got %', tenant_shard_split.stripe_size
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every shard id of the tenant sorts between these two (and tenant_shard checks the hex).
    first_id := gencontrol.tenant_shard(tenant, 0, 0);
    last_id := gencontrol.tenant_shard(tenant, 254, 255);

    -- Node rows first, then shard rows: the order gen_re_attach takes them in. A re-attach of
    -- a parent's node then either bumps the parents before the split copies their generations,
    -- or waits and sees the children (the race Neon's two-step split leaves open).
    SELECT array_agg(n.node_id ORDER BY n.node_id) INTO locked_nodes
      FROM (SELECT n.node_id FROM gencontrol.nodes n
             WHERE n.node_id IN (SELECT t.attached_node FROM gencontrol.tenant_shards t
                                  WHERE t.id OPERATOR(gencontrol.>=) first_id
                                    AND t.id OPERATOR(gencontrol.<=) last_id AND t.deleted_at IS NULL)
             ORDER BY n.node_id FOR SHARE) n;
    FOR parent IN
        SELECT t.id, t.generation, t.attached_node, t.stripe_size FROM gencontrol.tenant_shards t
         WHERE t.id OPERATOR(gencontrol.>=) first_id AND t.id OPERATOR(gencontrol.<=) last_id
           AND t.deleted_at IS NULL
         ORDER BY t.id FOR NO KEY UPDATE
    LOOP
        parent_ids := parent_ids || parent.id;
        parent_generations := parent_generations || parent.generation;
        parent_nodes := parent_nodes || parent.attached_node;
        parent_stripes := parent_stripes || parent.stripe_size;
    END LOOP;

    IF cardinality(parent_ids) = 0 THEN
        RAISE EXCEPTION 'tenant % has no live shards', tenant USING ERRCODE = 'no_data_found';
    END IF;
    old_count := gencontrol.shard_count(parent_ids[1]);
    IF EXISTS (SELECT 1 FROM unnest(parent_ids) AS x WHERE gencontrol.shard_count(x) <> old_count)
       OR cardinality(parent_ids) <> greatest(old_count, 1) THEN
        RAISE EXCEPTION 'tenant_shard_split: tenant % does not have every shard of one shard count', tenant
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Live shards: %s.', array_to_string(parent_ids::text[], ', '));
    END IF;
    IF array_position(parent_nodes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'tenant_shard_split: tenant % has a detached shard', tenant
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Attach every shard first: a child inherits its parent''s node and generation.';
    END IF;
    IF new_shard_count <= greatest(old_count, 1) OR new_shard_count % greatest(old_count, 1) <> 0 THEN
        RAISE EXCEPTION 'tenant_shard_split: % shards cannot split into %', greatest(old_count, 1), new_shard_count
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The new shard count is a larger multiple of the current one.';
    END IF;
    IF NOT parent_nodes <@ coalesce(locked_nodes, '{}') THEN
        RAISE EXCEPTION 'tenant_shard_split: a shard of tenant % moved while the split started', tenant
            USING ERRCODE = 'serialization_failure', HINT = 'Retry the split.';
    END IF;

    -- Parents become tombstones first (they keep their generations), then the children.
    DELETE FROM gencontrol.secondary_locations s WHERE s.tenant OPERATOR(gencontrol.=) ANY (parent_ids);
    UPDATE gencontrol.tenant_shards t SET attached_node = NULL, deleted_at = now(), updated_at = now()
     WHERE t.id OPERATOR(gencontrol.=) ANY (parent_ids);
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    SELECT x.id, x.generation, x.generation, x.node, 'split', session_user
      FROM unnest(parent_ids, parent_generations, parent_nodes) AS x(id, generation, node);

    FOR n IN 0 .. new_shard_count - 1 LOOP
        child := gencontrol.tenant_shard(tenant, n, new_shard_count);
        p := n % greatest(old_count, 1) + 1;
        -- A child id that exists is a tombstone (live shards all have the old count): it
        -- continues above its own generation if that is not below the parent's.
        INSERT INTO gencontrol.tenant_shards AS t (id, generation, attached_node, stripe_size)
        VALUES (child, parent_generations[p], parent_nodes[p],
                coalesce(tenant_shard_split.stripe_size, parent_stripes[p]))
        ON CONFLICT (id) DO UPDATE
           SET generation = greatest(excluded.generation, coalesce(t.generation, 0) + 1),
               attached_node = excluded.attached_node, stripe_size = excluded.stripe_size,
               deleted_at = NULL, updated_at = now()
        RETURNING t.generation INTO child_generation;
        INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
        VALUES (child, NULL, child_generation, parent_nodes[p], 'split', session_user);
        RETURN NEXT child;
    END LOOP;
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE OR REPLACE FUNCTION gencontrol.generation_log_prune(older_than interval)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    PERFORM gencontrol.require_primary('generation_log_prune');
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'generation_log_prune: older_than must be a non-negative interval'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM gencontrol.generation_log l WHERE l.logged_at < now() - older_than;
    GET DIAGNOSTICS removed = ROW_COUNT;
    IF removed > 0 THEN
        PERFORM gencontrol.commit_durably();
    END IF;
    RETURN removed;
END;
$$;


------------------------------------------------------------------------------------------
-- Timeline imports: each shard's import status, fenced by its current generation.
------------------------------------------------------------------------------------------

-- Neon's ShardImportStatus: {"InProgress": null | {...}}, "Done" or {"Error": "..."}.
CREATE FUNCTION gencontrol.import_status_is_valid(status jsonb)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE jsonb_typeof(status)
        WHEN 'string' THEN status = '"Done"'::jsonb
        WHEN 'object' THEN
            (SELECT count(*) FROM jsonb_object_keys(status)) = 1
            AND (coalesce(jsonb_typeof(status -> 'InProgress') IN ('null', 'object'), false)
                 OR coalesce(jsonb_typeof(status -> 'Error') = 'string', false))
        ELSE false
    END
$$;

CREATE FUNCTION gencontrol.timeline_import_create(tenant text, timeline text, shard_count integer)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    first_id gencontrol.tenant_shard_id;
    last_id gencontrol.tenant_shard_id;
    wanted gencontrol.tenant_shard_id[];
    existing gencontrol.tenant_shard_id[];
BEGIN
    PERFORM gencontrol.require_primary('timeline_import_create');
    IF tenant IS NULL OR timeline IS NULL OR shard_count IS NULL THEN
        RAISE EXCEPTION 'timeline_import_create: tenant, timeline and shard_count must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF timeline !~ '^[0-9a-fA-F]{32}$' THEN
        RAISE EXCEPTION 'timeline_import_create: timeline must be 32 hex digits, got "%"', left(timeline, 64)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF shard_count NOT BETWEEN 0 AND 255 THEN
        RAISE EXCEPTION 'timeline_import_create: shard_count must be between 0 (unsharded) and 255, got %',
            shard_count USING ERRCODE = 'invalid_parameter_value';
    END IF;
    first_id := gencontrol.tenant_shard(tenant, 0, 0);
    last_id := gencontrol.tenant_shard(tenant, 254, 255);
    SELECT array_agg(gencontrol.tenant_shard(tenant, n, shard_count) ORDER BY n) INTO wanted
      FROM generate_series(0, greatest(shard_count, 1) - 1) AS n;
    SELECT array_agg(s.tenant_shard ORDER BY s.tenant_shard) INTO existing
      FROM gencontrol.timeline_import_shards s
     WHERE s.tenant_shard OPERATOR(gencontrol.>=) first_id AND s.tenant_shard OPERATOR(gencontrol.<=) last_id
       AND s.timeline = lower(timeline_import_create.timeline);
    IF existing IS NOT NULL THEN
        IF existing::text[] = wanted::text[] THEN
            RETURN;  -- created already: callers retry
        END IF;
        RAISE EXCEPTION 'an import of timeline % of tenant % exists with other shards', lower(timeline), tenant
            USING ERRCODE = 'unique_violation',
                  DETAIL = format('Its shards: %s.', array_to_string(existing::text[], ', '));
    END IF;
    INSERT INTO gencontrol.timeline_import_shards (tenant_shard, timeline, status)
    SELECT x, lower(timeline_import_create.timeline), '{"InProgress": null}'::jsonb FROM unnest(wanted) AS x
    ON CONFLICT DO NOTHING;
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE FUNCTION gencontrol.timeline_import_status(tenant gencontrol.tenant_shard_id, timeline text,
                                                  generation integer)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_generation integer;
    result jsonb;
BEGIN
    PERFORM gencontrol.require_primary('timeline_import_status');
    IF tenant IS NULL OR timeline IS NULL OR generation IS NULL THEN
        RAISE EXCEPTION 'timeline_import_status: tenant, timeline and generation must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t.generation INTO current_generation FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) timeline_import_status.tenant AND t.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant shard % is not known', tenant USING ERRCODE = 'no_data_found';
    END IF;
    IF current_generation IS DISTINCT FROM timeline_import_status.generation THEN
        RAISE EXCEPTION 'invalid generation: % is not the current generation of tenant shard %',
            timeline_import_status.generation, tenant USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.status INTO result FROM gencontrol.timeline_import_shards s
     WHERE s.tenant_shard OPERATOR(gencontrol.=) timeline_import_status.tenant
       AND s.timeline = lower(timeline_import_status.timeline);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no import of timeline % for tenant shard %', left(timeline, 64), tenant
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN result;
END;
$$;

CREATE FUNCTION gencontrol.timeline_import_set_status(tenant gencontrol.tenant_shard_id, timeline text,
                                                      generation integer, status jsonb)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_generation integer;
BEGIN
    PERFORM gencontrol.require_primary('timeline_import_set_status');
    IF tenant IS NULL OR timeline IS NULL OR generation IS NULL OR status IS NULL THEN
        RAISE EXCEPTION 'timeline_import_set_status: tenant, timeline, generation and status must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT gencontrol.import_status_is_valid(status) THEN
        RAISE EXCEPTION 'timeline_import_set_status: status must be {"InProgress": null | {...}}, "Done" or {"Error": "..."}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size(status) > 65536 THEN
        RAISE EXCEPTION 'timeline_import_set_status: status is larger than 64 kB'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- FOR SHARE conflicts with the row lock every attach takes: an attach that supersedes this
    -- generation commits before this check or waits until this write is done, so a stale node
    -- can never overwrite the progress of a newer one.
    SELECT t.generation INTO current_generation FROM gencontrol.tenant_shards t
     WHERE t.id OPERATOR(gencontrol.=) timeline_import_set_status.tenant AND t.deleted_at IS NULL
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant shard % is not known', tenant USING ERRCODE = 'no_data_found';
    END IF;
    IF current_generation IS DISTINCT FROM timeline_import_set_status.generation THEN
        RAISE EXCEPTION 'invalid generation: % is not the current generation of tenant shard %',
            timeline_import_set_status.generation, tenant USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE gencontrol.timeline_import_shards s
       SET status = timeline_import_set_status.status, updated_at = now()
     WHERE s.tenant_shard OPERATOR(gencontrol.=) timeline_import_set_status.tenant
       AND s.timeline = lower(timeline_import_set_status.timeline)
       AND s.status IS DISTINCT FROM timeline_import_set_status.status;
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    ELSIF NOT EXISTS (SELECT 1 FROM gencontrol.timeline_import_shards s
                       WHERE s.tenant_shard OPERATOR(gencontrol.=) timeline_import_set_status.tenant
                         AND s.timeline = lower(timeline_import_set_status.timeline)) THEN
        RAISE EXCEPTION 'no import of timeline % for tenant shard %', left(timeline, 64), tenant
            USING ERRCODE = 'no_data_found';
    END IF;
END;
$$;

------------------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------------------

CREATE OR REPLACE VIEW gencontrol.node_overview AS
SELECT n.node_id,
       n.status,
       n.availability_zone,
       n.listen_http_addr || ':' || n.listen_http_port AS http,
       n.listen_pg_addr || ':' || n.listen_pg_port AS pg,
       (SELECT count(*) FROM gencontrol.tenant_shards t
         WHERE t.attached_node = n.node_id) AS attached,
       (SELECT count(*) FROM gencontrol.secondary_locations s
         WHERE s.node = n.node_id) AS secondaries,
       n.updated_at,
       n.owner_role
  FROM gencontrol.nodes n;

CREATE VIEW gencontrol.timeline_imports AS
SELECT gencontrol.tenant_hex(s.tenant_shard) AS tenant,
       s.timeline,
       count(*) AS shards,
       count(*) FILTER (WHERE s.status = '"Done"'::jsonb) AS shards_done,
       bool_and(s.status = '"Done"'::jsonb) AS done,
       bool_or(s.status ? 'Error') AS failed,
       jsonb_object_agg(gencontrol.text(s.tenant_shard), s.status) AS statuses,
       min(s.created_at) AS created_at,
       max(s.updated_at) AS updated_at
  FROM gencontrol.timeline_import_shards s
 GROUP BY 1, 2;


------------------------------------------------------------------------------------------
-- Privileges: the same statements as a fresh install (they are idempotent)
------------------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA gencontrol FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA gencontrol FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer, integer),
    gencontrol.gen_detach(gencontrol.tenant_shard_id),
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.gen_inspect(gencontrol.tenant_shard_id),
    gencontrol.gen_advance_all(integer),
    gencontrol.node_register(bigint, text, integer, text, integer, text, integer, text, integer, inet),
    gencontrol.node_update(bigint, text, integer, text, integer, text),
    gencontrol.node_bind_role(bigint, name),
    gencontrol.node_set_status(bigint, text),
    gencontrol.node_delete(bigint),
    gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]),
    gencontrol.tenant_delete(gencontrol.tenant_shard_id),
    gencontrol.tenant_shard_split(text, integer, integer),
    gencontrol.timeline_import_create(text, text, integer),
    gencontrol.timeline_import_status(gencontrol.tenant_shard_id, text, integer),
    gencontrol.timeline_import_set_status(gencontrol.tenant_shard_id, text, integer, jsonb),
    gencontrol.generation_log_prune(interval),
    gencontrol.require_primary(text),
    gencontrol.commit_durably(),
    gencontrol.node_fields_check(text, bigint, text, integer, text, integer, text, integer, text, integer),
    gencontrol.import_status_is_valid(jsonb),
    gencontrol.node_lock_for_delete(bigint),
    gencontrol.tenant_shards_guard()
  FROM PUBLIC;

GRANT USAGE ON SCHEMA gencontrol
   TO gencontrol_pageserver, gencontrol_controller, gencontrol_reader;

GRANT EXECUTE ON FUNCTION
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.node_register(bigint, text, integer, text, integer, text, integer, text, integer, inet),
    gencontrol.timeline_import_status(gencontrol.tenant_shard_id, text, integer),
    gencontrol.timeline_import_set_status(gencontrol.tenant_shard_id, text, integer, jsonb)
  TO gencontrol_pageserver;

GRANT EXECUTE ON FUNCTION
    gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer, integer),
    gencontrol.gen_detach(gencontrol.tenant_shard_id),
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.gen_inspect(gencontrol.tenant_shard_id),
    gencontrol.gen_advance_all(integer),
    gencontrol.node_register(bigint, text, integer, text, integer, text, integer, text, integer, inet),
    gencontrol.node_update(bigint, text, integer, text, integer, text),
    gencontrol.node_bind_role(bigint, name),
    gencontrol.node_set_status(bigint, text),
    gencontrol.node_delete(bigint),
    gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]),
    gencontrol.tenant_delete(gencontrol.tenant_shard_id),
    gencontrol.tenant_shard_split(text, integer, integer),
    gencontrol.timeline_import_create(text, text, integer),
    gencontrol.timeline_import_status(gencontrol.tenant_shard_id, text, integer),
    gencontrol.timeline_import_set_status(gencontrol.tenant_shard_id, text, integer, jsonb),
    gencontrol.generation_log_prune(interval)
  TO gencontrol_controller;
GRANT SELECT ON ALL TABLES IN SCHEMA gencontrol TO gencontrol_controller;

GRANT EXECUTE ON FUNCTION gencontrol.gen_inspect(gencontrol.tenant_shard_id) TO gencontrol_reader;
GRANT SELECT ON gencontrol.attachments, gencontrol.node_overview, gencontrol.timeline_imports
   TO gencontrol_reader;

------------------------------------------------------------------------------------------
-- Comments
------------------------------------------------------------------------------------------

COMMENT ON FUNCTION gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer, integer) IS
'Attaches a tenant shard to a node (creating the shard if unknown) and returns its new generation: greatest(old + 1, min_generation). stripe_size is stored when the shard is created; for an existing shard it must be NULL or the stored one. Removes the node from the shard''s secondary locations. Commits durably even with synchronous_commit = off';
COMMENT ON FUNCTION gencontrol.node_register(bigint, text, integer, text, integer, text, integer, text, integer, inet) IS
'Registers a node. For a registered node it is idempotent when the HTTP and libpq addresses and ports are the stored ones (the zone and optional fields are then updated); other addresses are refused with 23505. A node bound with node_bind_role registers only as that role or a controller (42501)';
COMMENT ON FUNCTION gencontrol.node_update(bigint, text, integer, text, integer, text) IS
'Controller only: moves a registered node to new HTTP and libpq addresses and zone. P0002 unknown node, 55000 deleted node';
COMMENT ON FUNCTION gencontrol.node_bind_role(bigint, name) IS
'Controller only: from now on only this login role (holding gencontrol_pageserver) or a controller may call node_register and gen_re_attach for the node (42501 otherwise). NULL unbinds';
COMMENT ON FUNCTION gencontrol.node_set_status(bigint, text) IS
'Sets a node''s status to active, paused or draining; commits durably';
COMMENT ON FUNCTION gencontrol.node_delete(bigint) IS
'Marks a node deleted and drops its secondary locations; refused while shards are attached to it; commits durably';
COMMENT ON FUNCTION gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]) IS
'Replaces the secondary locations of a tenant shard; commits durably';
COMMENT ON FUNCTION gencontrol.tenant_delete(gencontrol.tenant_shard_id) IS
'Detaches and deletes a tenant shard, keeping its generation as a tombstone so that no generation is ever handed out twice; commits durably';
COMMENT ON FUNCTION gencontrol.tenant_shard_split(text, integer, integer) IS
'Splits every shard of a tenant (32 hex digits) into new_shard_count in one transaction: child n inherits the generation and node of parent n % old_count, the parents become deleted tombstones, each change is logged as split. Returns the children in key order. 55000 for a detached or missing shard';
COMMENT ON FUNCTION gencontrol.timeline_import_create(text, text, integer) IS
'Controller only: records an import of a timeline (32 hex digits) of a tenant; each of its shard_count shards (0: unsharded) starts {"InProgress": null}. Idempotent';
COMMENT ON FUNCTION gencontrol.timeline_import_status(gencontrol.tenant_shard_id, text, integer) IS
'A shard''s import status (Neon''s ShardImportStatus JSON), only for its current generation: 22023 for a stale generation, P0002 for an unknown shard or import';
COMMENT ON FUNCTION gencontrol.timeline_import_set_status(gencontrol.tenant_shard_id, text, integer, jsonb) IS
'Records a shard''s import status ({"InProgress": null | {...}}, "Done" or {"Error": "..."}), fenced by its current generation (22023 when stale) so a stale node never overwrites a newer one''s progress; the same status again is a no-op';
COMMENT ON FUNCTION gencontrol.generation_log_prune(interval) IS
'Deletes generation_log entries older than the given interval; returns how many; commits durably';
COMMENT ON FUNCTION gencontrol.commit_durably() IS
'Internal: makes the calling transaction''s commit flushed and synchronously replicated whatever synchronous_commit says (the PL/pgSQL writers call it)';
COMMENT ON FUNCTION gencontrol.node_fields_check(text, bigint, text, integer, text, integer, text, integer, text, integer) IS
'Internal: the argument checks node_register and node_update share (ids, ports, non-empty addresses of at most 255 bytes)';
COMMENT ON FUNCTION gencontrol.import_status_is_valid(jsonb) IS
'Internal: true for a ShardImportStatus: {"InProgress": null | {...}}, "Done" or {"Error": "..."}';
COMMENT ON FUNCTION gencontrol.gen_advance_all(integer) IS
'After a restore from backup: adds margin to every shard''s generation in one transaction and returns the number of shards changed. A shard that cannot take the whole margin is raised to 2147483647 and detached with a WARNING (logged as exhausted)';
COMMENT ON FUNCTION gencontrol.node_lock_for_delete(bigint) IS
'Takes the node''s lock exclusively until the end of the transaction (node_delete does, so no attach to the node is in flight). An object lock under gencontrol.nodes that no other SQL can take';
COMMENT ON TABLE gencontrol.timeline_import_shards IS
'Per timeline import, each shard''s status as its pageserver reports it (Neon''s ShardImportStatus JSON)';
COMMENT ON VIEW gencontrol.timeline_imports IS
'Every timeline import with its shards: how many, how many are Done, whether all are done or one failed, and each shard''s status';
COMMENT ON VIEW gencontrol.node_overview IS
'Every node with its status, its attached and secondary shard counts, and the role it is bound to';
COMMENT ON TABLE gencontrol.nodes IS 'Registered storage nodes (pageservers) with their addresses and bound role; deleted ones are kept as tombstones';

-- gen_validate now waits behind the read barrier when synchronous standbys are configured.
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id, integer) IS
'True iff generation is the shard''s current generation, read from a fresh snapshot whatever the isolation level; NULL for an unknown shard. Primary only. With synchronous standbys configured it first waits until one confirms a fresh WAL record (the read barrier, gencontrol.validate_read_barrier), so a primary cut off from its promoted standby answers nothing; 57014 when that wait is cancelled';
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]) IS
'Batch validate: one row per (tenant, generation) pair in input order, unknown shards omitted. Primary only; behind the same read barrier as the single form';
