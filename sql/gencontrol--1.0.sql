-- gencontrol 1.0: generation numbers for tenant shards, issued linearizably and durably.
-- Reads top to bottom: type, tables, guards, functions, views, privileges, comments.

\echo Use "CREATE EXTENSION gencontrol" to load this file. \quit

------------------------------------------------------------------------------------------
-- The tenant_shard_id type: 16 tenant bytes + shard number + shard count, compared bytewise.
------------------------------------------------------------------------------------------

CREATE TYPE gencontrol.tenant_shard_id;

CREATE FUNCTION gencontrol.tenant_shard_id_in(cstring) RETURNS gencontrol.tenant_shard_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.tenant_shard_id_out(gencontrol.tenant_shard_id) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.tenant_shard_id_recv(internal) RETURNS gencontrol.tenant_shard_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.tenant_shard_id_send(gencontrol.tenant_shard_id) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE gencontrol.tenant_shard_id (
    INPUT = gencontrol.tenant_shard_id_in,
    OUTPUT = gencontrol.tenant_shard_id_out,
    RECEIVE = gencontrol.tenant_shard_id_recv,
    SEND = gencontrol.tenant_shard_id_send,
    INTERNALLENGTH = 18,
    ALIGNMENT = char,
    STORAGE = plain
);

CREATE FUNCTION gencontrol.tenant_shard_id_cmp(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS integer AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_eq(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_ne(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_lt(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_le(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_gt(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_ge(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id)
    RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_hash(gencontrol.tenant_shard_id)
    RETURNS integer AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_hash_extended(gencontrol.tenant_shard_id, bigint)
    RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gencontrol.tenant_shard_id_sortsupport(internal)
    RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR gencontrol.= (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_eq, COMMUTATOR = OPERATOR(gencontrol.=),
    NEGATOR = OPERATOR(gencontrol.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR gencontrol.<> (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_ne, COMMUTATOR = OPERATOR(gencontrol.<>),
    NEGATOR = OPERATOR(gencontrol.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR gencontrol.< (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_lt, COMMUTATOR = OPERATOR(gencontrol.>),
    NEGATOR = OPERATOR(gencontrol.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR gencontrol.<= (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_le, COMMUTATOR = OPERATOR(gencontrol.>=),
    NEGATOR = OPERATOR(gencontrol.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR gencontrol.> (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_gt, COMMUTATOR = OPERATOR(gencontrol.<),
    NEGATOR = OPERATOR(gencontrol.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR gencontrol.>= (
    LEFTARG = gencontrol.tenant_shard_id, RIGHTARG = gencontrol.tenant_shard_id,
    FUNCTION = gencontrol.tenant_shard_id_ge, COMMUTATOR = OPERATOR(gencontrol.<=),
    NEGATOR = OPERATOR(gencontrol.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS gencontrol.tenant_shard_id_btree_ops
    DEFAULT FOR TYPE gencontrol.tenant_shard_id USING btree AS
        OPERATOR 1 gencontrol.<,
        OPERATOR 2 gencontrol.<=,
        OPERATOR 3 gencontrol.=,
        OPERATOR 4 gencontrol.>=,
        OPERATOR 5 gencontrol.>,
        FUNCTION 1 gencontrol.tenant_shard_id_cmp(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id),
        FUNCTION 2 gencontrol.tenant_shard_id_sortsupport(internal);

CREATE OPERATOR CLASS gencontrol.tenant_shard_id_hash_ops
    DEFAULT FOR TYPE gencontrol.tenant_shard_id USING hash AS
        OPERATOR 1 gencontrol.=,
        FUNCTION 1 gencontrol.tenant_shard_id_hash(gencontrol.tenant_shard_id),
        FUNCTION 2 gencontrol.tenant_shard_id_hash_extended(gencontrol.tenant_shard_id, bigint);

CREATE FUNCTION gencontrol.tenant_shard_id(text) RETURNS gencontrol.tenant_shard_id
    AS 'MODULE_PATHNAME', 'tenant_shard_id_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.text(gencontrol.tenant_shard_id) RETURNS text
    AS 'MODULE_PATHNAME', 'tenant_shard_id_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (text AS gencontrol.tenant_shard_id) WITH FUNCTION gencontrol.tenant_shard_id(text) AS ASSIGNMENT;
CREATE CAST (gencontrol.tenant_shard_id AS text) WITH FUNCTION gencontrol.text(gencontrol.tenant_shard_id) AS ASSIGNMENT;

CREATE FUNCTION gencontrol.tenant_hex(t gencontrol.tenant_shard_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.shard_number(t gencontrol.tenant_shard_id) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.shard_count(t gencontrol.tenant_shard_id) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gencontrol.tenant_shard(tenant_hex text, shard_number integer, shard_count integer)
    RETURNS gencontrol.tenant_shard_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------------------

CREATE TABLE gencontrol.nodes (
    node_id           bigint PRIMARY KEY CHECK (node_id > 0),
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'paused', 'draining', 'deleted')),
    listen_http_addr  text NOT NULL CHECK (listen_http_addr <> ''),
    listen_http_port  integer NOT NULL CHECK (listen_http_port BETWEEN 1 AND 65535),
    listen_pg_addr    text NOT NULL CHECK (listen_pg_addr <> ''),
    listen_pg_port    integer NOT NULL CHECK (listen_pg_port BETWEEN 1 AND 65535),
    availability_zone text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Generation bumps touch no indexed column; the free space keeps them heap-only (HOT).
CREATE TABLE gencontrol.tenant_shards (
    id            gencontrol.tenant_shard_id PRIMARY KEY,
    generation    integer CHECK (generation >= 1),
    -- Not a foreign key: the functions check the node, and a foreign key's row lock on the
    -- node would cost every attach a WAL record and, under concurrency, a MultiXact.
    attached_node bigint,
    stripe_size   integer NOT NULL DEFAULT 2048 CHECK (stripe_size > 0),
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (deleted_at IS NULL OR attached_node IS NULL)
) WITH (fillfactor = 70);

-- gen_re_attach reads a node's shards in primary-key order from this index alone.
CREATE INDEX tenant_shards_attached_node ON gencontrol.tenant_shards (attached_node, id)
    WHERE attached_node IS NOT NULL;

CREATE TABLE gencontrol.secondary_locations (
    tenant     gencontrol.tenant_shard_id NOT NULL REFERENCES gencontrol.tenant_shards (id),
    node       bigint NOT NULL REFERENCES gencontrol.nodes (node_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, node)
);
CREATE INDEX secondary_locations_node ON gencontrol.secondary_locations (node, tenant);

CREATE TABLE gencontrol.generation_log (
    log_id         bigserial PRIMARY KEY,
    tenant         gencontrol.tenant_shard_id NOT NULL,
    old_generation integer,
    new_generation integer,
    node           bigint,
    operation      text NOT NULL
                   CHECK (operation IN ('attach', 're_attach', 'detach', 'delete', 'advance_all',
                                        'exhausted')),
    role           name NOT NULL,
    logged_at      timestamptz NOT NULL DEFAULT now()
);
-- Rows arrive in time order, so a BRIN index serves time windows and pruning for almost
-- nothing per row. There is no per-tenant index: a random btree insert for every bumped shard
-- was most of what logging cost gen_re_attach; an incident's per-tenant question scans instead.
CREATE INDEX generation_log_logged_at ON gencontrol.generation_log USING brin (logged_at);

SELECT pg_catalog.pg_extension_config_dump('gencontrol.nodes', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.tenant_shards', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.secondary_locations', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.generation_log', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.generation_log_log_id_seq', '');

------------------------------------------------------------------------------------------
-- Guards: generations only grow, and the rows that carry them are never removed.
------------------------------------------------------------------------------------------

CREATE FUNCTION gencontrol.tenant_shards_guard() RETURNS trigger
    AS 'MODULE_PATHNAME' LANGUAGE C;

-- AFTER with a WHEN clause: an update that raises the generation queues nothing and takes no
-- extra row lock (a BEFORE row trigger makes PostgreSQL lock every updated row first, one
-- more WAL record per bump). An offending update still fails, and with it its transaction.
-- UPDATE OF generation: a generation not in the SET list cannot change.
CREATE TRIGGER tenant_shards_generation_only_grows
    AFTER UPDATE OF generation ON gencontrol.tenant_shards
    FOR EACH ROW
    WHEN (OLD.generation IS NOT NULL AND (NEW.generation IS NULL OR NEW.generation <= OLD.generation))
    EXECUTE FUNCTION gencontrol.tenant_shards_guard();
CREATE TRIGGER tenant_shards_never_deleted
    BEFORE DELETE ON gencontrol.tenant_shards
    FOR EACH ROW EXECUTE FUNCTION gencontrol.tenant_shards_guard();
CREATE TRIGGER tenant_shards_no_truncate
    BEFORE TRUNCATE ON gencontrol.tenant_shards
    FOR EACH STATEMENT EXECUTE FUNCTION gencontrol.tenant_shards_guard();

-- The exclusive side of the per-node lock that every gen_attach holds shared.
CREATE FUNCTION gencontrol.node_lock_for_delete(node bigint) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

-- Raises a clear error when called on a hot standby; used by every PL/pgSQL writer below.
CREATE FUNCTION gencontrol.require_primary(operation text) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

------------------------------------------------------------------------------------------
-- Generations: the C++ core.
------------------------------------------------------------------------------------------

CREATE FUNCTION gencontrol.gen_attach(tenant gencontrol.tenant_shard_id, node bigint,
                                      min_generation integer DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

CREATE FUNCTION gencontrol.gen_detach(tenant gencontrol.tenant_shard_id)
    RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

-- gen_validate reads tenant_shards through its primary-key index directly, naming every
-- object by schema; it runs no SQL, so it needs neither SECURITY DEFINER nor a search_path,
-- and EXECUTE on it is the whole permission check. Skipping the definer switch and the
-- search_path change on every call is most of its per-call overhead.
CREATE FUNCTION gencontrol.gen_validate(tenant gencontrol.tenant_shard_id, generation integer)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'gen_validate' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION gencontrol.gen_validate(tenants gencontrol.tenant_shard_id[], generations integer[])
    RETURNS TABLE (tenant gencontrol.tenant_shard_id, valid boolean)
    AS 'MODULE_PATHNAME', 'gen_validate_batch' LANGUAGE C VOLATILE STRICT ROWS 128;

CREATE FUNCTION gencontrol.gen_re_attach(node bigint)
    RETURNS TABLE (tenant gencontrol.tenant_shard_id, generation integer, mode text,
                   stripe_size integer)
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE ROWS 1000
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

CREATE FUNCTION gencontrol.gen_inspect(tenant gencontrol.tenant_shard_id)
    RETURNS TABLE (generation integer, node bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT ROWS 1
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

CREATE FUNCTION gencontrol.gen_advance_all(margin integer)
    RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp;

------------------------------------------------------------------------------------------
-- Nodes, secondaries and tenant lifecycle: PL/pgSQL, off the hot path.
------------------------------------------------------------------------------------------

CREATE FUNCTION gencontrol.node_register(node bigint, listen_http_addr text,
                                         listen_http_port integer, listen_pg_addr text,
                                         listen_pg_port integer,
                                         availability_zone text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    PERFORM gencontrol.require_primary('node_register');
    IF node IS NULL OR listen_http_addr IS NULL OR listen_http_port IS NULL
       OR listen_pg_addr IS NULL OR listen_pg_port IS NULL THEN
        RAISE EXCEPTION 'node_register: only availability_zone may be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF node <= 0 THEN
        RAISE EXCEPTION 'node_register: node id must be positive, got %', node
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF listen_http_port NOT BETWEEN 1 AND 65535 OR listen_pg_port NOT BETWEEN 1 AND 65535 THEN
        RAISE EXCEPTION 'node_register: ports must be between 1 and 65535, got % and %',
            listen_http_port, listen_pg_port
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF listen_http_addr = '' OR listen_pg_addr = '' THEN
        RAISE EXCEPTION 'node_register: listen addresses must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT n.status INTO current_status FROM gencontrol.nodes n
     WHERE n.node_id = node_register.node FOR NO KEY UPDATE;
    IF current_status = 'deleted' THEN
        RAISE EXCEPTION 'node % was deleted; node ids are not reused', node
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register the node under a new id.';
    END IF;

    INSERT INTO gencontrol.nodes AS n (node_id, listen_http_addr, listen_http_port,
                                       listen_pg_addr, listen_pg_port, availability_zone)
    VALUES (node, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port,
            availability_zone)
    ON CONFLICT (node_id) DO UPDATE
       SET listen_http_addr = excluded.listen_http_addr,
           listen_http_port = excluded.listen_http_port,
           listen_pg_addr = excluded.listen_pg_addr,
           listen_pg_port = excluded.listen_pg_port,
           availability_zone = excluded.availability_zone,
           updated_at = now()
     WHERE (n.listen_http_addr, n.listen_http_port, n.listen_pg_addr, n.listen_pg_port,
            n.availability_zone)
           IS DISTINCT FROM
           (excluded.listen_http_addr, excluded.listen_http_port, excluded.listen_pg_addr,
            excluded.listen_pg_port, excluded.availability_zone);
END;
$$;

CREATE FUNCTION gencontrol.node_set_status(node bigint, status text)
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
END;
$$;

CREATE FUNCTION gencontrol.node_delete(node bigint)
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
END;
$$;

CREATE FUNCTION gencontrol.tenant_set_secondaries(tenant gencontrol.tenant_shard_id, nodes bigint[])
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
END;
$$;

CREATE FUNCTION gencontrol.tenant_delete(tenant gencontrol.tenant_shard_id)
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
END;
$$;

CREATE FUNCTION gencontrol.generation_log_prune(older_than interval)
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
    RETURN removed;
END;
$$;

------------------------------------------------------------------------------------------
-- Views for people at a psql prompt
------------------------------------------------------------------------------------------

CREATE VIEW gencontrol.attachments AS
SELECT t.id AS tenant_shard_id,
       gencontrol.tenant_hex(t.id) AS tenant,
       gencontrol.shard_number(t.id) AS shard_number,
       gencontrol.shard_count(t.id) AS shard_count,
       t.generation,
       t.attached_node AS node,
       n.status AS node_status,
       n.listen_http_addr || ':' || n.listen_http_port AS node_http,
       n.availability_zone,
       t.stripe_size,
       t.updated_at
  FROM gencontrol.tenant_shards t
  LEFT JOIN gencontrol.nodes n ON n.node_id = t.attached_node
 WHERE t.deleted_at IS NULL;

CREATE VIEW gencontrol.node_overview AS
SELECT n.node_id,
       n.status,
       n.availability_zone,
       n.listen_http_addr || ':' || n.listen_http_port AS http,
       n.listen_pg_addr || ':' || n.listen_pg_port AS pg,
       (SELECT count(*) FROM gencontrol.tenant_shards t
         WHERE t.attached_node = n.node_id) AS attached,
       (SELECT count(*) FROM gencontrol.secondary_locations s
         WHERE s.node = n.node_id) AS secondaries,
       n.updated_at
  FROM gencontrol.nodes n;

------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; three roles for pageservers, controllers and readers.
------------------------------------------------------------------------------------------

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['gencontrol_pageserver', 'gencontrol_controller',
                                     'gencontrol_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA gencontrol FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA gencontrol FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer),
    gencontrol.gen_detach(gencontrol.tenant_shard_id),
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.gen_inspect(gencontrol.tenant_shard_id),
    gencontrol.gen_advance_all(integer),
    gencontrol.node_register(bigint, text, integer, text, integer, text),
    gencontrol.node_set_status(bigint, text),
    gencontrol.node_delete(bigint),
    gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]),
    gencontrol.tenant_delete(gencontrol.tenant_shard_id),
    gencontrol.generation_log_prune(interval),
    gencontrol.require_primary(text),
    gencontrol.node_lock_for_delete(bigint),
    gencontrol.tenant_shards_guard()
  FROM PUBLIC;

GRANT USAGE ON SCHEMA gencontrol
   TO gencontrol_pageserver, gencontrol_controller, gencontrol_reader;

GRANT EXECUTE ON FUNCTION
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.node_register(bigint, text, integer, text, integer, text)
  TO gencontrol_pageserver;

GRANT EXECUTE ON FUNCTION
    gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer),
    gencontrol.gen_detach(gencontrol.tenant_shard_id),
    gencontrol.gen_validate(gencontrol.tenant_shard_id, integer),
    gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]),
    gencontrol.gen_re_attach(bigint),
    gencontrol.gen_inspect(gencontrol.tenant_shard_id),
    gencontrol.gen_advance_all(integer),
    gencontrol.node_register(bigint, text, integer, text, integer, text),
    gencontrol.node_set_status(bigint, text),
    gencontrol.node_delete(bigint),
    gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]),
    gencontrol.tenant_delete(gencontrol.tenant_shard_id),
    gencontrol.generation_log_prune(interval)
  TO gencontrol_controller;
GRANT SELECT ON ALL TABLES IN SCHEMA gencontrol TO gencontrol_controller;

GRANT EXECUTE ON FUNCTION gencontrol.gen_inspect(gencontrol.tenant_shard_id) TO gencontrol_reader;
GRANT SELECT ON gencontrol.attachments, gencontrol.node_overview TO gencontrol_reader;

------------------------------------------------------------------------------------------
-- Comments: what \dT+, \df+ and \dv+ show
------------------------------------------------------------------------------------------

COMMENT ON TYPE gencontrol.tenant_shard_id IS
'A tenant shard: 32 hex digits of tenant id, then -NNCC (shard number, shard count) when sharded';
COMMENT ON FUNCTION gencontrol.tenant_hex(gencontrol.tenant_shard_id) IS
'The tenant id of a tenant shard id: 32 lower-case hex digits';
COMMENT ON FUNCTION gencontrol.shard_number(gencontrol.tenant_shard_id) IS
'The shard number of a tenant shard id (0 when unsharded)';
COMMENT ON FUNCTION gencontrol.shard_count(gencontrol.tenant_shard_id) IS
'The shard count of a tenant shard id (0 when unsharded)';
COMMENT ON FUNCTION gencontrol.tenant_shard(text, integer, integer) IS
'Builds a tenant shard id from 32 hex digits, a shard number and a shard count';
COMMENT ON FUNCTION gencontrol.node_lock_for_delete(bigint) IS
'Takes the node''s lock exclusively until the end of the transaction (node_delete does, so no attach to the node is in flight)';
COMMENT ON FUNCTION gencontrol.require_primary(text) IS
'Raises SQLSTATE 25006 on a hot standby, naming the operation; gencontrol writers call it first';

COMMENT ON TABLE gencontrol.nodes IS 'Registered storage nodes (pageservers); deleted ones are kept as tombstones';
COMMENT ON TABLE gencontrol.tenant_shards IS
'One row per tenant shard: its current generation and attached node. Rows are never removed: a deleted shard keeps its generation';
COMMENT ON TABLE gencontrol.secondary_locations IS 'Warm standby locations of tenant shards: they hold no generation';
COMMENT ON TABLE gencontrol.generation_log IS 'Append-only history of every generation change; bounded by generation_log_prune';

COMMENT ON FUNCTION gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer) IS
'Attaches a tenant shard to a node (creating the shard if unknown) and returns its new generation: greatest(old + 1, min_generation). Commits durably even with synchronous_commit = off';
COMMENT ON FUNCTION gencontrol.gen_detach(gencontrol.tenant_shard_id) IS
'Detaches a tenant shard; its generation stays and stays valid. A no-op for an unknown or detached shard';
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id, integer) IS
'True iff generation is the shard''s current generation, read from a fresh snapshot whatever the isolation level; NULL for an unknown shard. Primary only';
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]) IS
'Batch validate: one row per (tenant, generation) pair in input order, unknown shards omitted. Primary only';
COMMENT ON FUNCTION gencontrol.gen_re_attach(bigint) IS
'A node restarted: increments the generation of every shard attached to it and lists them (AttachedSingle) with its secondary locations (Secondary). Sets the node active';
COMMENT ON FUNCTION gencontrol.gen_inspect(gencontrol.tenant_shard_id) IS
'The shard''s current generation and attached node; zero rows for an unknown shard. Allowed on a standby';
COMMENT ON FUNCTION gencontrol.gen_advance_all(integer) IS
'After a restore from backup: adds margin to every shard''s generation in one transaction and returns the number of shards changed';
COMMENT ON FUNCTION gencontrol.node_register(bigint, text, integer, text, integer, text) IS
'Registers a node or updates its addresses (idempotent)';
COMMENT ON FUNCTION gencontrol.node_set_status(bigint, text) IS
'Sets a node''s status to active, paused or draining';
COMMENT ON FUNCTION gencontrol.node_delete(bigint) IS
'Marks a node deleted and drops its secondary locations; refused while shards are attached to it';
COMMENT ON FUNCTION gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id, bigint[]) IS
'Replaces the secondary locations of a tenant shard';
COMMENT ON FUNCTION gencontrol.tenant_delete(gencontrol.tenant_shard_id) IS
'Detaches and deletes a tenant shard, keeping its generation as a tombstone so that no generation is ever handed out twice';
COMMENT ON FUNCTION gencontrol.generation_log_prune(interval) IS
'Deletes generation_log entries older than the given interval; returns how many';
COMMENT ON VIEW gencontrol.attachments IS
'Every live tenant shard with its generation and the node it is attached to';
COMMENT ON VIEW gencontrol.node_overview IS
'Every node with its status and its attached and secondary shard counts';
COMMENT ON FUNCTION gencontrol.tenant_shard_id(text) IS 'Cast from text: parses Neon''s text form (22P02 when malformed)';
COMMENT ON FUNCTION gencontrol.text(gencontrol.tenant_shard_id) IS 'Cast to text: Neon''s text form, lower case';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_in(cstring) IS 'Type input: Neon''s text form, either case';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_out(gencontrol.tenant_shard_id) IS 'Type output: Neon''s text form, lower case';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_recv(internal) IS 'Binary input: 16 tenant bytes, shard number, shard count';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_send(gencontrol.tenant_shard_id) IS 'Binary output: 16 tenant bytes, shard number, shard count';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_cmp(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'btree support: bytewise order (tenant, number, count)';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_sortsupport(internal) IS 'btree sort support: bytewise order';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_eq(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements =';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_ne(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements <>';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_lt(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements <';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_le(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements <=';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_gt(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements >';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_ge(gencontrol.tenant_shard_id, gencontrol.tenant_shard_id) IS 'Implements >=';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_hash(gencontrol.tenant_shard_id) IS 'hash support (hash joins, hash aggregation)';
COMMENT ON FUNCTION gencontrol.tenant_shard_id_hash_extended(gencontrol.tenant_shard_id, bigint) IS 'hash support with a seed (hash partitioning)';
COMMENT ON FUNCTION gencontrol.tenant_shards_guard() IS
'Trigger on tenant_shards: refuses an update that lowers a generation or sets it to an equal value, and any DELETE or TRUNCATE';
