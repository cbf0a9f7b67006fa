-- Nodes: register (idempotent for the same addresses), update, status, delete, and every refusal.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(29);

SELECT lives_ok($$SELECT node_register(101, 'ps101', 9898, 'ps101', 6400, 'az-a')$$, 'register a node');
SELECT is((SELECT row(status, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port, availability_zone)::text
             FROM nodes WHERE node_id = 101),
          '(active,ps101,9898,ps101,6400,az-a)', 'the node is stored, active');
SELECT lives_ok($$SELECT node_register(101, 'ps101', 9898, 'ps101', 6400, 'az-a')$$, 'registering again is idempotent');
SELECT throws_ok($$SELECT node_register(101, 'ps101b', 9899, 'ps101b', 6401)$$, '23505',
                 'node 101 is registered at http ps101:9898, libpq ps101:6400',
                 'register with other addresses is refused (1.1): node_update moves a node');
SELECT lives_ok($$SELECT node_update(101, 'ps101b', 9899, 'ps101b', 6401)$$, 'node_update moves it');
SELECT is((SELECT row(listen_http_addr, listen_http_port, availability_zone)::text FROM nodes WHERE node_id = 101),
          '(ps101b,9899,)', 'addresses updated, zone defaults to NULL');
SELECT is((SELECT count(*) FROM nodes WHERE node_id = 101), 1::bigint, 'still one row');

SELECT throws_ok($$SELECT node_register(0, 'a', 1, 'a', 1)$$, '22023', NULL, 'node id 0 refused');
SELECT throws_ok($$SELECT node_register(-5, 'a', 1, 'a', 1)$$, '22023', NULL, 'negative node id refused');
SELECT throws_ok($$SELECT node_register(102, 'a', 0, 'a', 1)$$, '22023', NULL, 'port 0 refused');
SELECT throws_ok($$SELECT node_register(102, 'a', 1, 'a', 65536)$$, '22023', NULL, 'port 65536 refused');
SELECT throws_ok($$SELECT node_register(102, '', 1, 'a', 1)$$, '22023', NULL, 'empty address refused');
SELECT throws_ok($$SELECT node_register(NULL, 'a', 1, 'a', 1)$$, '22004', NULL, 'NULL node refused');
SELECT throws_ok($$SELECT node_register(102, NULL, 1, 'a', 1)$$, '22004', NULL, 'NULL address refused');

SELECT lives_ok($$SELECT node_set_status(101, 'draining')$$, 'set draining');
SELECT is((SELECT status FROM nodes WHERE node_id = 101), 'draining', 'status is draining');
SELECT lives_ok($$SELECT node_set_status(101, 'paused')$$, 'set paused');
SELECT throws_ok($$SELECT node_set_status(101, 'sleeping')$$, '22023', NULL, 'unknown status refused');
SELECT throws_ok($$SELECT node_set_status(101, 'deleted')$$, '22023', NULL, 'deleted is set by node_delete only');
SELECT throws_ok($$SELECT node_set_status(999999, 'active')$$, 'P0002', NULL, 'unknown node: P0002');
SELECT throws_ok($$SELECT node_set_status(NULL, 'active')$$, '22004', NULL, 'NULL node refused');

-- node_delete: refused while attached, then a tombstone
SELECT node_register(103, 'ps103', 9898, 'ps103', 6400);
SELECT gen_attach('10300000000000000000000000000000', 103);
SELECT throws_ok($$SELECT node_delete(103)$$, '55006', NULL, 'node_delete refused while a shard is attached');
SELECT gen_detach('10300000000000000000000000000000');
SELECT node_register(104, 'ps104', 9898, 'ps104', 6400);
SELECT tenant_set_secondaries('10300000000000000000000000000000', ARRAY[103::bigint, 104]);
SELECT lives_ok($$SELECT node_delete(103)$$, 'node_delete once nothing is attached');
SELECT is((SELECT status FROM nodes WHERE node_id = 103), 'deleted', 'the node is kept as a deleted tombstone');
SELECT is((SELECT array_agg(node ORDER BY node) FROM secondary_locations
            WHERE tenant = '10300000000000000000000000000000'), ARRAY[104::bigint],
          'its secondary locations are dropped');
SELECT lives_ok($$SELECT node_delete(103)$$, 'deleting again is a no-op');
SELECT throws_ok($$SELECT node_delete(999999)$$, 'P0002', NULL, 'unknown node: P0002');
SELECT throws_ok($$SELECT node_register(103, 'ps103', 9898, 'ps103', 6400)$$, '55000', NULL,
                 'a deleted node id is not reused');
SELECT throws_ok($$SELECT node_set_status(103, 'active')$$, '55000', NULL, 'a deleted node cannot be revived');

SELECT * FROM finish();
ROLLBACK;
