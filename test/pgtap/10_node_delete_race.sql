-- node_delete against an attach in flight: whichever takes the node's lock first wins, and
-- the other sees its effect; a shard is never left attached to a deleted node.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(6);

\ir dblink_sessions.psql
-- True once some session waits for a gencontrol node lock (or, for rows, any lock).
CREATE FUNCTION pg_temp.someone_waits(kind text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        IF EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND (kind <> 'node' OR
                   (locktype = 'object' AND classid = 'gencontrol.nodes'::regclass))) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END;
$$;
SELECT dblink_connect('a', pg_temp.conninfo());
SELECT dblink_connect('b', pg_temp.conninfo());

-- Nodes of this run's own (a deleted node's id is never registered again).
SELECT pg_temp.unused_node_id(1000000) AS busy_node, pg_temp.unused_node_id(1000000) + 1 AS doomed_node \gset
SELECT pg_temp.run('a', format($$SELECT gencontrol.node_register(%s, 'ps', 1, 'ps', 1)$$, :busy_node));
SELECT pg_temp.run('a', format($$SELECT gencontrol.node_register(%s, 'ps', 1, 'ps', 1)$$, :doomed_node));

-- An attach in flight holds the node: node_delete waits, then refuses.
SELECT dblink_exec('a', 'BEGIN');
SELECT pg_temp.run('a', format($$SELECT gencontrol.gen_attach('a0010000000000000000000000000000', %s)$$, :busy_node));
SELECT dblink_send_query('b', format($$SELECT gencontrol.node_delete(%s)$$, :busy_node));
SELECT ok(pg_temp.someone_waits('node'), 'node_delete waits for the attach in flight');
SELECT dblink_exec('a', 'COMMIT');
SELECT throws_ok($$SELECT * FROM dblink_get_result('b') AS t(r text)$$, '55006', NULL,
                 'then refuses: the shard it waited for is attached');
SELECT * FROM dblink_get_result('b') AS t(r text);

-- A node_delete in flight: the attach waits, then refuses.
SELECT dblink_exec('b', 'BEGIN');
SELECT pg_temp.run('b', format($$SELECT gencontrol.node_delete(%s)$$, :doomed_node));
SELECT dblink_send_query('a', format($$SELECT gencontrol.gen_attach('a0020000000000000000000000000000', %s)$$, :doomed_node));
SELECT ok(pg_temp.someone_waits('node'), 'the attach waits for the node_delete in flight');
SELECT dblink_exec('b', 'COMMIT');
SELECT throws_ok($$SELECT * FROM dblink_get_result('a') AS t(r int)$$, '55000', NULL,
                 'then refuses: the node is deleted');
SELECT * FROM dblink_get_result('a') AS t(r int);
SELECT is((SELECT count(*) FROM tenant_shards t JOIN nodes n ON n.node_id = t.attached_node
            WHERE n.status = 'deleted'), 0::bigint, 'no shard is attached to a deleted node');
SELECT is((SELECT count(*) FROM tenant_shards WHERE id = 'a0020000000000000000000000000000'), 0::bigint,
          'the refused attach created nothing');

SELECT pg_temp.run('a', $$SELECT gencontrol.gen_detach('a0010000000000000000000000000000')$$);
SELECT pg_temp.run('a', $$SELECT gencontrol.tenant_delete('a0010000000000000000000000000000')$$);
SELECT pg_temp.run('a', format($$SELECT gencontrol.node_delete(%s)$$, :busy_node));
SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');

SELECT * FROM finish();
ROLLBACK;
