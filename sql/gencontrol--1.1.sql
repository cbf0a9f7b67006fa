-- gencontrol 1.1: generation numbers for tenant shards, issued linearizably and durably.
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
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- (1.1) The optional fields of Neon's registration, after the 1.0 columns so that an
    -- updated database has the same column order as a fresh one.
    listen_https_port integer CHECK (listen_https_port BETWEEN 1 AND 65535),
    listen_grpc_addr  text CHECK (listen_grpc_addr <> '' AND octet_length(listen_grpc_addr) <= 255),
    listen_grpc_port  integer CHECK (listen_grpc_port BETWEEN 1 AND 65535),
    node_ip_addr      inet,
    -- The login role that alone (with controllers) may register and re-attach this node.
    owner_role        name,
    -- (1.1) How many times the node has re-attached. gen_re_attach bumps it instead of every
    -- shard row: an attached shard's generation is base_generation + (epoch - base_epoch).
    epoch             bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    CONSTRAINT nodes_field_lengths CHECK (octet_length(listen_http_addr) <= 255
                                          AND octet_length(listen_pg_addr) <= 255
                                          AND octet_length(availability_zone) <= 255)
);

-- (1.1) The stored form of tenant shards; read them through the view tenant_shards, which
-- computes each shard's current generation. A shard stores the generation it was given when it
-- was last attached or detached (base_generation) and, while attached, its node's epoch at that
-- moment (base_epoch). Its current generation is base_generation while detached, and
-- base_generation + (node epoch now - base_epoch) while attached: gen_re_attach bumps the node's
-- epoch, one row, instead of rewriting every shard row. gen_attach and gen_detach materialise
-- the current generation into base_generation when a shard moves.
-- The free space keeps updates that change no indexed column heap-only (HOT).
CREATE TABLE gencontrol.tenant_shards_stored (
    id              gencontrol.tenant_shard_id CONSTRAINT tenant_shards_pkey PRIMARY KEY,
    base_generation integer CONSTRAINT tenant_shards_generation_check CHECK (base_generation >= 1),
    -- Not a foreign key: the functions check the node, and a foreign key's row lock on the
    -- node would cost every attach a WAL record and, under concurrency, a MultiXact.
    attached_node   bigint,
    stripe_size     integer NOT NULL DEFAULT 2048
                    CONSTRAINT tenant_shards_stripe_size_check CHECK (stripe_size > 0),
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    base_epoch      bigint,
    -- (1.1) Every node that may hold a row of this shard in secondary_locations, NULL for none:
    -- tenant_set_secondaries sets it under the shard's row lock, gen_attach drops the node it
    -- attaches to. gen_attach looks in secondary_locations only for a node listed here.
    secondary_nodes bigint[],
    CONSTRAINT tenant_shards_check CHECK (deleted_at IS NULL OR attached_node IS NULL),
    CONSTRAINT tenant_shards_base_epoch_check
        CHECK (CASE WHEN attached_node IS NULL THEN base_epoch IS NULL
                    ELSE base_epoch IS NOT NULL AND base_generation IS NOT NULL END)
) WITH (fillfactor = 70);

-- gen_re_attach reads a node's shards in primary-key order from this index alone (an
-- index-only scan where the visibility map allows): it carries what re-attach returns.
CREATE INDEX tenant_shards_attached_node ON gencontrol.tenant_shards_stored (attached_node, id)
    INCLUDE (base_generation, base_epoch, stripe_size)
    WHERE attached_node IS NOT NULL;

CREATE TABLE gencontrol.secondary_locations (
    tenant     gencontrol.tenant_shard_id NOT NULL REFERENCES gencontrol.tenant_shards_stored (id),
    node       bigint NOT NULL REFERENCES gencontrol.nodes (node_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, node)
);
CREATE INDEX secondary_locations_node ON gencontrol.secondary_locations (node, tenant);

-- (1.1) The history is stored in two tables and read through the view generation_log: one
-- row per shard change here, and one row per re-attach in re_attach_log (a re-attach changes
-- every shard of its node; one row holding them all costs a fraction of one row each).
CREATE SEQUENCE gencontrol.generation_log_log_id_seq;
CREATE TABLE gencontrol.generation_log_entries (
    log_id         bigint NOT NULL DEFAULT nextval('gencontrol.generation_log_log_id_seq')
                   CONSTRAINT generation_log_pkey PRIMARY KEY,
    tenant         gencontrol.tenant_shard_id NOT NULL,
    old_generation integer,
    new_generation integer,
    node           bigint,
    operation      text NOT NULL
                   CONSTRAINT generation_log_operation_check
                   CHECK (operation IN ('attach', 're_attach', 'detach', 'delete', 'advance_all',
                                        'exhausted', 'split')),
    role           name NOT NULL,
    logged_at      timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE gencontrol.generation_log_log_id_seq OWNED BY gencontrol.generation_log_entries.log_id;
-- Rows arrive in time order, so a BRIN index serves time windows and pruning for almost
-- nothing per row. There is no per-tenant index: a random btree insert for every bumped shard
-- was most of what logging cost gen_re_attach; an incident's per-tenant question scans instead.
CREATE INDEX generation_log_logged_at ON gencontrol.generation_log_entries USING brin (logged_at);

-- One row per gen_re_attach: the node, its new epoch, and every shard it bumped with the
-- generation it had before (the new one is one more). The view generation_log unnests it.
CREATE TABLE gencontrol.re_attach_log (
    log_id          bigint NOT NULL DEFAULT nextval('gencontrol.generation_log_log_id_seq') PRIMARY KEY,
    node            bigint NOT NULL,
    epoch           bigint NOT NULL,
    tenants         gencontrol.tenant_shard_id[] NOT NULL,
    old_generations integer[] NOT NULL
                    CHECK (cardinality(old_generations) = cardinality(tenants)),
    role            name NOT NULL,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX re_attach_log_logged_at ON gencontrol.re_attach_log (logged_at);
-- Random tenant ids do not compress: trying (pglz over megabytes) cost a re-attach of 100,000
-- shards five times what storing them does.
ALTER TABLE gencontrol.re_attach_log ALTER COLUMN tenants SET STORAGE EXTERNAL;

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

SELECT pg_catalog.pg_extension_config_dump('gencontrol.nodes', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.tenant_shards_stored', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.secondary_locations', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.generation_log_entries', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.re_attach_log', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.generation_log_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('gencontrol.timeline_import_shards', '');

------------------------------------------------------------------------------------------
-- Guards: generations only grow, and the rows that carry them are never removed.
------------------------------------------------------------------------------------------

CREATE FUNCTION gencontrol.tenant_shards_guard() RETURNS trigger
    AS 'MODULE_PATHNAME' LANGUAGE C;

-- A shard's current generation never decreases, and a shard that moves to another node gets a
-- higher one, whoever writes the row (even the table owner with a direct UPDATE). AFTER with a
-- WHEN clause: the writes that are safe on their face (a detached shard's generation growing;
-- an attached shard staying on its node with base_generation - base_epoch not shrinking, as
-- gen_advance_all and an attach to the same node do) queue nothing and take no extra row lock.
-- Any other change of these columns (a move, a detach) is checked against the nodes' epochs.
CREATE TRIGGER tenant_shards_generation_only_grows
    AFTER UPDATE OF base_generation, base_epoch, attached_node ON gencontrol.tenant_shards_stored
    FOR EACH ROW
    WHEN (NOT coalesce((OLD.attached_node IS NULL AND NEW.attached_node IS NULL
                        AND (OLD.base_generation IS NULL OR NEW.base_generation >= OLD.base_generation))
                       OR (OLD.attached_node = NEW.attached_node
                           AND NEW.base_generation::bigint - NEW.base_epoch
                               >= OLD.base_generation::bigint - OLD.base_epoch), false))
    EXECUTE FUNCTION gencontrol.tenant_shards_guard();
CREATE TRIGGER tenant_shards_never_deleted
    BEFORE DELETE ON gencontrol.tenant_shards_stored
    FOR EACH ROW EXECUTE FUNCTION gencontrol.tenant_shards_guard();
CREATE TRIGGER tenant_shards_no_truncate
    BEFORE TRUNCATE ON gencontrol.tenant_shards_stored
    FOR EACH STATEMENT EXECUTE FUNCTION gencontrol.tenant_shards_guard();

-- A node's epoch only grows (it is part of every attached shard's generation), never so far
-- that a shard would pass the last generation, and a node row keeps its id and is never
-- removed (its shards' generations depend on it).
CREATE FUNCTION gencontrol.nodes_guard() RETURNS trigger
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE TRIGGER nodes_epoch_only_grows
    AFTER UPDATE OF epoch, node_id ON gencontrol.nodes
    FOR EACH ROW
    WHEN (NEW.epoch IS DISTINCT FROM OLD.epoch OR NEW.node_id IS DISTINCT FROM OLD.node_id)
    EXECUTE FUNCTION gencontrol.nodes_guard();
CREATE TRIGGER nodes_never_deleted
    BEFORE DELETE ON gencontrol.nodes
    FOR EACH ROW EXECUTE FUNCTION gencontrol.nodes_guard();
CREATE TRIGGER nodes_no_truncate
    BEFORE TRUNCATE ON gencontrol.nodes
    FOR EACH STATEMENT EXECUTE FUNCTION gencontrol.nodes_guard();

------------------------------------------------------------------------------------------
-- What readers query: tenant_shards and generation_log, views over the storage.
------------------------------------------------------------------------------------------

-- Every shard with its current generation: base_generation while detached, and
-- base_generation + (node epoch - base_epoch) while attached. The epoch comes from a subquery,
-- not a join, so that SELECT ... FROM tenant_shards ... FOR UPDATE still locks the shard's row
-- (as it did on 1.0's table) and nothing else.
CREATE VIEW gencontrol.tenant_shards AS
SELECT s.id,
       CASE WHEN s.attached_node IS NULL THEN s.base_generation
            ELSE (s.base_generation::bigint
                  + ((SELECT n.epoch FROM gencontrol.nodes n WHERE n.node_id = s.attached_node) - s.base_epoch))::integer
       END AS generation,
       s.attached_node,
       s.stripe_size,
       s.deleted_at,
       s.created_at,
       s.updated_at
  FROM gencontrol.tenant_shards_stored s;

-- Direct writes to the view (the table owner's, as 1.0 allowed on the table) are translated to
-- the storage, whose guard then applies: a generation may only be raised; rows are never removed.
CREATE FUNCTION gencontrol.tenant_shards_write() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    node_epoch bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of gencontrol.tenant_shards are never removed'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A removed row would let its generations be handed out again.',
                  HINT = 'Use gencontrol.tenant_delete(): it keeps the generation as a tombstone.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id OPERATOR(gencontrol.<>) OLD.id THEN
            RAISE EXCEPTION 'the id of a tenant shard never changes'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        -- As on 1.0's table: a generation that does not grow is refused, and so is restating
        -- it with nothing else changed (SET generation = generation).
        IF OLD.generation IS NOT NULL
           AND (NEW.generation IS NULL OR NEW.generation < OLD.generation
                OR (NEW.generation = OLD.generation
                    AND (NEW.attached_node, NEW.stripe_size, NEW.deleted_at)
                        IS NOT DISTINCT FROM (OLD.attached_node, OLD.stripe_size, OLD.deleted_at))) THEN
            RAISE EXCEPTION 'generation of tenant shard % may only increase: % -> %',
                OLD.id, OLD.generation, coalesce(NEW.generation::text, 'NULL')
                USING ERRCODE = 'check_violation',
                      DETAIL = 'A generation that was handed out must never be handed out again.',
                      HINT = 'Use gencontrol.gen_attach() or gencontrol.gen_re_attach() to issue a new generation.';
        END IF;
    END IF;
    IF NEW.attached_node IS NOT NULL THEN
        SELECT n.epoch INTO node_epoch FROM gencontrol.nodes n WHERE n.node_id = NEW.attached_node;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'node % is not registered', NEW.attached_node USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gencontrol.tenant_shards_stored (id, base_generation, attached_node, stripe_size, deleted_at,
                                                     created_at, updated_at, base_epoch)
        VALUES (NEW.id, NEW.generation, NEW.attached_node, coalesce(NEW.stripe_size, 2048), NEW.deleted_at,
                coalesce(NEW.created_at, now()), coalesce(NEW.updated_at, now()), node_epoch);
    ELSE
        UPDATE gencontrol.tenant_shards_stored s
           SET base_generation = NEW.generation, attached_node = NEW.attached_node, base_epoch = node_epoch,
               stripe_size = NEW.stripe_size, deleted_at = NEW.deleted_at, created_at = NEW.created_at,
               updated_at = NEW.updated_at
         WHERE s.id OPERATOR(gencontrol.=) OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER tenant_shards_write
    INSTEAD OF INSERT OR UPDATE OR DELETE ON gencontrol.tenant_shards
    FOR EACH ROW EXECUTE FUNCTION gencontrol.tenant_shards_write();

-- Every generation change, one row per shard: the per-shard entries, and each re-attach
-- unnested into one row per shard it bumped (those rows share the re-attach's log_id).
CREATE VIEW gencontrol.generation_log AS
SELECT e.log_id, e.tenant, e.old_generation, e.new_generation, e.node, e.operation, e.role, e.logged_at
  FROM gencontrol.generation_log_entries e
UNION ALL
SELECT r.log_id, x.tenant, x.old_generation, x.old_generation + 1, r.node, 're_attach'::text, r.role, r.logged_at
  FROM gencontrol.re_attach_log r,
       LATERAL unnest(r.tenants, r.old_generations) AS x(tenant, old_generation);

-- The exclusive side of the per-node lock that every gen_attach holds shared.
CREATE FUNCTION gencontrol.node_lock_for_delete(node bigint) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

-- (1.1) The shared side: every writer that reads or moves a generation of a shard on the node
-- holds it, so gen_re_attach (which holds it exclusively) cannot bump the node's epoch meanwhile.
CREATE FUNCTION gencontrol.node_lock_shared(node bigint) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

-- (1.1) The PL/pgSQL writers' way to lock one shard: its node's lock (shared), then its row
-- ('update': FOR UPDATE, 'share': FOR SHARE), never waiting for a node lock while holding the
-- row (a shard that moved meanwhile is unlocked and locked again, inside a subtransaction). True
-- when the row exists, deleted or not. Both locks are held until the transaction ends.
CREATE FUNCTION gencontrol.tenant_shard_lock(tenant gencontrol.tenant_shard_id, mode text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;

-- Raises a clear error when called on a hot standby; used by every PL/pgSQL writer below.
CREATE FUNCTION gencontrol.require_primary(operation text) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

------------------------------------------------------------------------------------------
-- Generations: the C++ core.
------------------------------------------------------------------------------------------

-- gen_attach is not SECURITY DEFINER: its common path (an existing shard under READ COMMITTED)
-- writes the tables directly, naming every object by schema, and runs no SQL, so the definer
-- switch and the search_path change were per-call overhead only. The SQL of its other paths
-- (a new shard, a secondary to remove, the locked way) runs as the extension's owner with
-- search_path pinned to pg_catalog, gencontrol, pg_temp, as a SECURITY DEFINER function's would
-- (src/extension/statements.cpp); EXECUTE on it is the permission check.
CREATE FUNCTION gencontrol.gen_attach(tenant gencontrol.tenant_shard_id, node bigint,
                                      min_generation integer DEFAULT NULL,
                                      stripe_size integer DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;

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
-- Nodes, secondaries and tenant lifecycle: PL/pgSQL, off the hot path. Each one that changes
-- state calls commit_durably(), so an acknowledged change survives a crash (invariant 2).
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
    IF FOUND THEN
        PERFORM gencontrol.commit_durably();
    END IF;
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
    SELECT count(*) INTO attached FROM gencontrol.tenant_shards_stored t
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
    SELECT t.attached_node, t.deleted_at INTO shard FROM gencontrol.tenant_shards_stored t
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
    -- The shard's row lists its secondary nodes for gen_attach (which probes only those).
    UPDATE gencontrol.tenant_shards_stored t
       SET secondary_nodes = wanted.nodes
      FROM (SELECT array_agg(DISTINCT x ORDER BY x) AS nodes
              FROM unnest(tenant_set_secondaries.nodes) AS x) AS wanted
     WHERE t.id OPERATOR(gencontrol.=) tenant_set_secondaries.tenant
       AND t.secondary_nodes IS DISTINCT FROM wanted.nodes;
    PERFORM gencontrol.commit_durably();
END;
$$;

CREATE FUNCTION gencontrol.tenant_delete(tenant gencontrol.tenant_shard_id)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, gencontrol, pg_temp
AS $$
DECLARE
    shard record;
    generation integer;
BEGIN
    PERFORM gencontrol.require_primary('tenant_delete');
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'tenant_delete: tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The node's lock, then the shard's row: the order of every writer. Holding the node lock
    -- shared keeps gen_re_attach from bumping its epoch, and with it the generation kept below.
    IF NOT gencontrol.tenant_shard_lock(tenant, 'update') THEN
        RETURN;  -- deleting what is not there is done already: callers retry
    END IF;
    SELECT t.base_generation, t.base_epoch, t.attached_node, t.deleted_at INTO shard
      FROM gencontrol.tenant_shards_stored t
     WHERE t.id OPERATOR(gencontrol.=) tenant_delete.tenant;
    IF shard.deleted_at IS NOT NULL THEN
        RETURN;
    END IF;
    generation := shard.base_generation;
    IF shard.attached_node IS NOT NULL THEN
        SELECT (shard.base_generation::bigint + (n.epoch - shard.base_epoch))::integer INTO generation
          FROM gencontrol.nodes n WHERE n.node_id = shard.attached_node;
    END IF;
    DELETE FROM gencontrol.secondary_locations s WHERE s.tenant OPERATOR(gencontrol.=) tenant_delete.tenant;
    -- The tombstone keeps the current generation: a later attach of this id continues above it.
    UPDATE gencontrol.tenant_shards_stored t
       SET attached_node = NULL, base_generation = generation, base_epoch = NULL, deleted_at = now(),
           updated_at = now(), secondary_nodes = NULL
     WHERE t.id OPERATOR(gencontrol.=) tenant_delete.tenant;
    INSERT INTO gencontrol.generation_log_entries (tenant, old_generation, new_generation, node, operation, role)
    VALUES (tenant, generation, generation, shard.attached_node, 'delete', session_user);
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

    -- Node locks first, then shard rows: the order of every writer. A re-attach of a parent's
    -- node (which holds the node lock exclusively) then either bumps the parents before the
    -- split copies their generations, or waits and sees the children (the race Neon's two-step
    -- split leaves open).
    SELECT array_agg(DISTINCT t.attached_node ORDER BY t.attached_node) INTO locked_nodes
      FROM gencontrol.tenant_shards_stored t
     WHERE t.id OPERATOR(gencontrol.>=) first_id AND t.id OPERATOR(gencontrol.<=) last_id
       AND t.deleted_at IS NULL AND t.attached_node IS NOT NULL;
    PERFORM gencontrol.node_lock_shared(x)
       FROM (SELECT unnest(locked_nodes) AS x ORDER BY 1) AS sorted;
    -- The parents' rows locked first, then their current generations read in a statement of
    -- their own (a join in the locking statement could be re-checked against a stale node row).
    -- Their nodes are locked, so the epochs stand still.
    PERFORM 1 FROM gencontrol.tenant_shards_stored t
     WHERE t.id OPERATOR(gencontrol.>=) first_id AND t.id OPERATOR(gencontrol.<=) last_id
       AND t.deleted_at IS NULL
     ORDER BY t.id FOR NO KEY UPDATE;
    FOR parent IN
        SELECT t.id,
               CASE WHEN t.attached_node IS NULL THEN t.base_generation
                    ELSE (t.base_generation::bigint + (n.epoch - t.base_epoch))::integer END AS generation,
               t.attached_node, t.stripe_size
          FROM gencontrol.tenant_shards_stored t
          LEFT JOIN gencontrol.nodes n ON n.node_id = t.attached_node
         WHERE t.id OPERATOR(gencontrol.>=) first_id AND t.id OPERATOR(gencontrol.<=) last_id
           AND t.deleted_at IS NULL
         ORDER BY t.id
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
    UPDATE gencontrol.tenant_shards_stored t
       SET attached_node = NULL, base_generation = x.generation, base_epoch = NULL, deleted_at = now(),
           updated_at = now(), secondary_nodes = NULL
      FROM unnest(parent_ids, parent_generations) AS x(id, generation)
     WHERE t.id OPERATOR(gencontrol.=) x.id;
    INSERT INTO gencontrol.generation_log_entries (tenant, old_generation, new_generation, node, operation, role)
    SELECT x.id, x.generation, x.generation, x.node, 'split', session_user
      FROM unnest(parent_ids, parent_generations, parent_nodes) AS x(id, generation, node);

    FOR n IN 0 .. new_shard_count - 1 LOOP
        child := gencontrol.tenant_shard(tenant, n, new_shard_count);
        p := n % greatest(old_count, 1) + 1;
        -- A child id that exists is a tombstone (live shards all have the old count): it
        -- continues above its own generation if that is not below the parent's. A child starts
        -- at its node's epoch now, so its current generation is the one stored here.
        INSERT INTO gencontrol.tenant_shards_stored AS t (id, base_generation, attached_node, stripe_size, base_epoch)
        VALUES (child, parent_generations[p], parent_nodes[p],
                coalesce(tenant_shard_split.stripe_size, parent_stripes[p]),
                (SELECT n.epoch FROM gencontrol.nodes n WHERE n.node_id = parent_nodes[p]))
        ON CONFLICT (id) DO UPDATE
           SET base_generation = greatest(excluded.base_generation, coalesce(t.base_generation, 0) + 1),
               attached_node = excluded.attached_node, base_epoch = excluded.base_epoch,
               stripe_size = excluded.stripe_size, deleted_at = NULL, updated_at = now()
        RETURNING t.base_generation INTO child_generation;
        INSERT INTO gencontrol.generation_log_entries (tenant, old_generation, new_generation, node, operation, role)
        VALUES (child, NULL, child_generation, parent_nodes[p], 'split', session_user);
        RETURN NEXT child;
    END LOOP;
    PERFORM gencontrol.commit_durably();
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
    DELETE FROM gencontrol.generation_log_entries l WHERE l.logged_at < now() - older_than;
    GET DIAGNOSTICS removed = ROW_COUNT;
    -- A re-attach's row counts as the shard rows it stands for in the view generation_log.
    WITH gone AS (DELETE FROM gencontrol.re_attach_log r WHERE r.logged_at < now() - older_than
                  RETURNING cardinality(r.tenants) AS shards)
    SELECT removed + coalesce(sum(gone.shards), 0) INTO removed FROM gone;
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
    shard_exists boolean;
    shard_deleted_at timestamptz;
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
    -- The node's lock (shared) conflicts with the one gen_re_attach holds, and the shard's row
    -- FOR SHARE with the one every attach and detach takes: a change that supersedes this
    -- generation commits before this check or waits until this write is done, so a stale node
    -- can never overwrite the progress of a newer one. Node lock first: every writer's order.
    shard_exists := gencontrol.tenant_shard_lock(tenant, 'share');
    IF shard_exists THEN
        SELECT t.deleted_at INTO shard_deleted_at FROM gencontrol.tenant_shards_stored t
         WHERE t.id OPERATOR(gencontrol.=) timeline_import_set_status.tenant;
        SELECT t.generation INTO current_generation FROM gencontrol.tenant_shards t
         WHERE t.id OPERATOR(gencontrol.=) timeline_import_set_status.tenant;
    END IF;
    IF NOT shard_exists OR shard_deleted_at IS NOT NULL THEN
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
       (SELECT count(*) FROM gencontrol.tenant_shards_stored t
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
    gencontrol.node_lock_shared(bigint),
    gencontrol.tenant_shard_lock(gencontrol.tenant_shard_id, text),
    gencontrol.tenant_shards_guard(),
    gencontrol.nodes_guard(),
    gencontrol.tenant_shards_write()
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
COMMENT ON FUNCTION gencontrol.require_primary(text) IS
'Raises SQLSTATE 25006 on a hot standby, naming the operation; gencontrol writers call it first';

COMMENT ON VIEW gencontrol.tenant_shards IS
'One row per tenant shard: its current generation and attached node, computed from tenant_shards_stored and the node''s epoch. Rows are never removed: a deleted shard keeps its generation. A direct write by the owner goes to the storage and may only raise a generation';
COMMENT ON TABLE gencontrol.tenant_shards_stored IS
'The storage behind the view tenant_shards: per shard the generation it got when last attached or detached (base_generation) and, while attached, its node''s epoch then (base_epoch). Current generation: base_generation + (nodes.epoch - base_epoch) while attached, base_generation while detached';
COMMENT ON VIEW gencontrol.generation_log IS
'Every generation change, one row per shard: generation_log_entries, and each re-attach of re_attach_log unnested (its rows share its log_id). Bounded by generation_log_prune';
COMMENT ON TABLE gencontrol.generation_log_entries IS 'Append-only history of the generation changes of single shards (attach, detach, delete, split, advance_all, exhausted)';
COMMENT ON TABLE gencontrol.re_attach_log IS 'One row per gen_re_attach: the node, its new epoch, and every shard it bumped with its previous generation';
COMMENT ON COLUMN gencontrol.tenant_shards_stored.secondary_nodes IS 'Every node that may hold a row of this shard in secondary_locations (NULL for none); gen_attach looks for a secondary location only on a node listed here';
COMMENT ON COLUMN gencontrol.nodes.epoch IS 'How many times the node has re-attached (gen_re_attach bumps it); part of every attached shard''s generation. Only grows';
COMMENT ON FUNCTION gencontrol.nodes_guard() IS
'Trigger on nodes: refuses an epoch that does not grow or that would take an attached shard past 2147483647, a changed node_id, and any DELETE or TRUNCATE';
COMMENT ON FUNCTION gencontrol.tenant_shards_write() IS
'INSTEAD OF trigger on the view tenant_shards: a direct write goes to tenant_shards_stored (generation only raised, rows never removed)';
COMMENT ON TABLE gencontrol.secondary_locations IS 'Warm standby locations of tenant shards: they hold no generation';

COMMENT ON FUNCTION gencontrol.gen_detach(gencontrol.tenant_shard_id) IS
'Detaches a tenant shard; its generation stays and stays valid. A no-op for an unknown or detached shard';
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id, integer) IS
'True iff generation is the shard''s current generation, read from a fresh snapshot whatever the isolation level; NULL for an unknown shard. Primary only. With synchronous standbys configured it first waits until one confirms a fresh WAL record (the read barrier, gencontrol.validate_read_barrier), so a primary cut off from its promoted standby answers nothing; 57014 when that wait is cancelled';
COMMENT ON FUNCTION gencontrol.gen_validate(gencontrol.tenant_shard_id[], integer[]) IS
'Batch validate: one row per (tenant, generation) pair in input order, unknown shards omitted. Primary only; behind the same read barrier as the single form';
COMMENT ON FUNCTION gencontrol.gen_re_attach(bigint) IS
'A node restarted: increments the generation of every shard attached to it (by bumping the node''s epoch, one row) and lists them (AttachedSingle) with its secondary locations (Secondary). A shard at 2147483647 is detached with a WARNING. Sets the node active';
COMMENT ON FUNCTION gencontrol.gen_inspect(gencontrol.tenant_shard_id) IS
'The shard''s current generation and attached node; zero rows for an unknown shard. Allowed on a standby';
COMMENT ON VIEW gencontrol.attachments IS
'Every live tenant shard with its generation and the node it is attached to';
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
'Trigger on tenant_shards_stored: refuses an update that lowers a shard''s current generation or moves it to another node without raising it, and any DELETE or TRUNCATE';
COMMENT ON FUNCTION gencontrol.gen_attach(gencontrol.tenant_shard_id, bigint, integer, integer) IS
'Attaches a tenant shard to a node (creating the shard if unknown) and returns its new generation: greatest(old + 1, min_generation). stripe_size is stored when the shard is created; for an existing shard it must be NULL or the stored one. Removes the node from the shard''s secondary locations. Commits durably even with synchronous_commit = off. Not SECURITY DEFINER: the SQL it runs on its rarer paths runs as the extension''s owner with a pinned search_path';
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
'After a restore from backup: adds margin to every shard''s generation in one transaction and returns the number of shards changed. A shard that cannot take the whole margin is raised to 2147483647 and detached with a WARNING (logged as exhausted). Under REPEATABLE READ or SERIALIZABLE, 40001 when a shard got its generation after the transaction''s snapshot';
COMMENT ON FUNCTION gencontrol.node_lock_shared(bigint) IS
'Internal: takes the node''s lock shared until the end of the transaction, as every writer of a generation of a shard on the node does (gen_re_attach and node_delete take it exclusively). An object lock under gencontrol.nodes that no other SQL can take';
COMMENT ON FUNCTION gencontrol.tenant_shard_lock(gencontrol.tenant_shard_id, text) IS
'Internal: locks the shard''s node shared and then its row (mode update: FOR UPDATE, share: FOR SHARE) until the end of the transaction, never waiting for a node lock while holding the row (a shard that moved meanwhile is unlocked and locked again). True when the row exists, deleted or not';
COMMENT ON FUNCTION gencontrol.node_lock_for_delete(bigint) IS
'Takes the node''s lock exclusively until the end of the transaction (node_delete does, so no attach to the node is in flight). An object lock under gencontrol.nodes that no other SQL can take';
COMMENT ON TABLE gencontrol.timeline_import_shards IS
'Per timeline import, each shard''s status as its pageserver reports it (Neon''s ShardImportStatus JSON)';
COMMENT ON VIEW gencontrol.timeline_imports IS
'Every timeline import with its shards: how many, how many are Done, whether all are done or one failed, and each shard''s status';
COMMENT ON VIEW gencontrol.node_overview IS
'Every node with its status, its attached and secondary shard counts, and the role it is bound to';
COMMENT ON TABLE gencontrol.nodes IS 'Registered storage nodes (pageservers) with their addresses and bound role; deleted ones are kept as tombstones';
