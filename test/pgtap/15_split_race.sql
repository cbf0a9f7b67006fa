-- (1.1) tenant_shard_split against a concurrent gen_re_attach of the parents' node. The split
-- takes the parents' node locks (shared) before the shard rows; re-attach holds the node's lock
-- exclusively while it bumps the node's epoch, so a re-attach that starts
-- while a split is in flight waits and then lists the children. The control runs the same
-- split without the node locks: the re-attach then does not wait, lists the parent that the
-- split deletes and none of the children, so the node drops a tenant it holds (the race Neon's
-- two-step split leaves open).
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(5);

\ir dblink_sessions.psql
CREATE FUNCTION pg_temp.a_finishes() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        IF dblink_is_busy('a') = 0 THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END;
$$;
-- Fresh tenant ids, so that the committed rows never meet an earlier run's.
SELECT md5(clock_timestamp()::text) AS protected, md5(clock_timestamp()::text || 'control') AS control \gset
SELECT dblink_connect('a', pg_temp.conninfo());
SELECT dblink_connect('b', pg_temp.conninfo());
SELECT pg_temp.run('a', $$SELECT gencontrol.node_register(1501, 'ps1501', 9898, 'ps1501', 6400)$$);
SELECT pg_temp.run('a', format($$SELECT gencontrol.gen_attach(%L, 1501, 10)$$, :'protected'));
SELECT pg_temp.run('a', format($$SELECT gencontrol.gen_attach(%L, 1501, 10)$$, :'control'));

-- The split holds the node row; the re-attach waits, then sees the children.
SELECT dblink_exec('b', 'BEGIN');
SELECT pg_temp.run('b', format($$SELECT gencontrol.tenant_shard_split(%L, 2)$$, :'protected'));
SELECT dblink_send_query('a', format($$SELECT tenant::text, generation FROM gencontrol.gen_re_attach(1501)
                                        WHERE gencontrol.tenant_hex(tenant) = %L ORDER BY 1$$, :'protected'));
SELECT ok(pg_temp.someone_waits(), 're-attach waits for the split in flight');
SELECT dblink_exec('b', 'COMMIT');
SELECT results_eq(format($$SELECT * FROM dblink_get_result('a') AS t(tenant text, generation int)$$),
                  format($$VALUES (%L, 11), (%L, 11)$$, :'protected' || '-0002', :'protected' || '-0102'),
                  'then lists both children, bumped from the generation they inherited');
SELECT * FROM dblink_get_result('a') AS t(tenant text, generation int);

-- Control: the same split without the node locks.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', format($$
    UPDATE gencontrol.tenant_shards SET attached_node = NULL, deleted_at = now()
     WHERE id OPERATOR(gencontrol.=) %1$L::gencontrol.tenant_shard_id;
    INSERT INTO gencontrol.tenant_shards (id, generation, attached_node)
    SELECT gencontrol.tenant_shard(%1$L, n, 2), 10, 1501 FROM generate_series(0, 1) AS n$$, :'control'));
SELECT dblink_send_query('a', format($$SELECT tenant::text, generation FROM gencontrol.gen_re_attach(1501)
                                        WHERE gencontrol.tenant_hex(tenant) = %L ORDER BY 1$$, :'control'));
SELECT ok(pg_temp.a_finishes(), 'control: the re-attach does not wait for the split in flight');
SELECT dblink_exec('b', 'COMMIT');
SELECT results_eq(format($$SELECT tenant FROM dblink_get_result('a') AS t(tenant text, generation int)$$),
                  format($$VALUES (%L)$$, :'control'),
                  'control: without the node locks the re-attach lists the parent the split deletes, no child');
SELECT * FROM dblink_get_result('a') AS t(tenant text, generation int);
SELECT is((SELECT count(*) FROM dblink('a', format($$SELECT 1 FROM gencontrol.tenant_shards
                                                     WHERE gencontrol.tenant_hex(id) = %L AND attached_node = 1501$$,
                                                   :'control')) AS t(x int)),
          2::bigint, 'control: ... although both children are attached to the node');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
SELECT * FROM finish();
ROLLBACK;
