-- (1.1) Node identity: a registration that names other addresses is refused, node_update
-- moves a node, node_bind_role ties a node to the login role its process uses, and every
-- registered field is bounded. Finding 5 of issue 9 is the scenario of the last block.
BEGIN;
SET search_path = gencontrol, public;
SELECT plan(38);

CREATE ROLE gencontrol_pgtap_ps1 LOGIN IN ROLE gencontrol_pageserver;
CREATE ROLE gencontrol_pgtap_ps2 LOGIN IN ROLE gencontrol_pageserver;
CREATE ROLE gencontrol_pgtap_ps_nologin NOLOGIN IN ROLE gencontrol_pageserver;
CREATE ROLE gencontrol_pgtap_plain LOGIN;
CREATE ROLE gencontrol_pgtap_ctl1 LOGIN IN ROLE gencontrol_controller;
-- pgTAP keeps its state in temporary tables that the test roles must be able to write.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

-- Registration with Neon's optional fields
SELECT lives_ok($$SELECT node_register(1201, 'ps1201', 9898, 'ps1201', 6400, 'az-a', 9899, 'ps1201', 51051, '198.18.0.1')$$,
                'register with every optional field');
SELECT is((SELECT row(listen_https_port, listen_grpc_addr, listen_grpc_port, node_ip_addr, owner_role)::text
             FROM nodes WHERE node_id = 1201), '(9899,ps1201,51051,198.18.0.1,)', 'the optional fields are stored');
SELECT lives_ok($$SELECT node_register(1201, 'ps1201', 9898, 'ps1201', 6400, 'az-b')$$,
                'the same addresses again: idempotent');
SELECT is((SELECT row(availability_zone, listen_https_port, listen_grpc_addr, node_ip_addr)::text FROM nodes WHERE node_id = 1201),
          '(az-b,,,)', '... and the zone and optional fields take the new values');
SELECT throws_ok($$SELECT node_register(1201, 'ps1201', 9897, 'ps1201', 6400, 'az-b')$$, '23505', NULL,
                 'another HTTP port is refused with 23505');
SELECT throws_ok($$SELECT node_register(1201, 'ps1201', 9898, 'elsewhere', 6400, 'az-b')$$, '23505', NULL,
                 'another libpq address is refused with 23505');
SELECT is((SELECT row(listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port)::text FROM nodes WHERE node_id = 1201),
          '(ps1201,9898,ps1201,6400)', 'the refused registrations changed nothing');
SELECT throws_ok($$SELECT node_register(1201, 'ps1201', 9898, 'ps1201', 6400, NULL, 0)$$, '22023', NULL,
                 'an optional port outside 1..65535 is refused');
SELECT throws_ok($$SELECT node_register(1201, 'ps1201', 9898, 'ps1201', 6400, NULL, NULL, '')$$, '22023', NULL,
                 'an empty gRPC address is refused');

-- Length limits: 255 bytes for host names and zones
SELECT lives_ok(format($$SELECT node_register(1202, %L, 1, 'ps', 1, %L)$$, repeat('h', 255), repeat('z', 255)),
                '255-byte address and zone are accepted');
SELECT throws_ok(format($$SELECT node_register(1203, %L, 1, 'ps', 1)$$, repeat('h', 256)), '22023', NULL,
                 'a 256-byte HTTP address is refused');
SELECT throws_ok(format($$SELECT node_register(1203, 'ps', 1, %L, 1)$$, repeat('é', 128)), '22023', NULL,
                 'a 256-byte libpq address is refused (bytes, not characters)');
SELECT throws_ok(format($$SELECT node_register(1203, 'ps', 1, 'ps', 1, %L)$$, repeat('z', 256)), '22023', NULL,
                 'a 256-byte zone is refused');
SELECT throws_ok(format($$SELECT node_register(1203, 'ps', 1, 'ps', 1, NULL, NULL, %L)$$, repeat('g', 256)), '22023', NULL,
                 'a 256-byte gRPC address is refused');
SELECT throws_ok(format($$UPDATE nodes SET availability_zone = %L WHERE node_id = 1202$$, repeat('z', 256)), '23514', NULL,
                 'the table itself refuses a longer zone, whoever writes it');

-- node_update: controller only
SELECT lives_ok($$SELECT node_update(1201, 'ps1201-new', 9898, 'ps1201-new', 6400, 'az-c')$$, 'node_update moves a node');
SELECT is((SELECT row(listen_http_addr, listen_pg_addr, availability_zone)::text FROM nodes WHERE node_id = 1201),
          '(ps1201-new,ps1201-new,az-c)', 'its addresses and zone are updated');
SELECT lives_ok($$SELECT node_register(1201, 'ps1201-new', 9898, 'ps1201-new', 6400, 'az-c')$$,
                'the node then registers at its new addresses');
SELECT throws_ok($$SELECT node_update(1299, 'a', 1, 'a', 1)$$, 'P0002', NULL, 'node_update of an unknown node: P0002');
SELECT node_register(1204, 'ps1204', 1, 'ps1204', 1);
SELECT node_delete(1204);
SELECT throws_ok($$SELECT node_update(1204, 'a', 1, 'a', 1)$$, '55000', NULL, 'node_update of a deleted node: 55000');
SELECT throws_ok(format($$SELECT node_update(1201, %L, 1, 'a', 1)$$, repeat('h', 256)), '22023', NULL,
                 'node_update has the same limits');
SET SESSION AUTHORIZATION gencontrol_pgtap_ps1;
SELECT throws_ok($$SELECT node_update(1201, 'mine', 1, 'mine', 1)$$, '42501', NULL, 'a pageserver may not call node_update');
SELECT throws_ok($$SELECT node_bind_role(1201, 'gencontrol_pgtap_ps1')$$, '42501', NULL,
                 'a pageserver may not call node_bind_role');
RESET SESSION AUTHORIZATION;

-- node_bind_role: which roles qualify
SELECT throws_ok($$SELECT node_bind_role(1201, 'gencontrol_pgtap_nobody_at_all')$$, '42704', NULL, 'an unknown role: 42704');
SELECT throws_ok($$SELECT node_bind_role(1201, 'gencontrol_pgtap_ps_nologin')$$, '22023', NULL, 'a NOLOGIN role is refused');
SELECT throws_ok($$SELECT node_bind_role(1201, 'gencontrol_pgtap_plain')$$, '22023', NULL,
                 'a role without gencontrol_pageserver is refused');
SELECT throws_ok($$SELECT node_bind_role(1299, 'gencontrol_pgtap_ps1')$$, 'P0002', NULL, 'an unknown node: P0002');
SELECT throws_ok($$SELECT node_bind_role(1204, 'gencontrol_pgtap_ps1')$$, '55000', NULL, 'a deleted node: 55000');
SELECT lives_ok($$SELECT node_bind_role(1201, 'gencontrol_pgtap_ps1')$$, 'bind node 1201 to its login role');
SELECT is((SELECT owner_role FROM node_overview WHERE node_id = 1201), 'gencontrol_pgtap_ps1'::name,
          'node_overview shows the binding');

-- Finding 5: another pageserver role re-registered node 1201 with its own addresses, then
-- re-attached it, invalidating the real node's generations and undoing the controller's
-- draining. Now the addresses are refused, and a bound node answers only to its role.
SELECT gen_attach('c1201000000000000000000000000000', 1201);
SELECT node_set_status(1201, 'draining');
SET SESSION AUTHORIZATION gencontrol_pgtap_ps2;
SELECT throws_ok($$SELECT node_register(1201, 'evil', 9898, 'evil', 6400, 'az-x')$$, '42501', NULL,
                 'finding 5: another pageserver role cannot re-register a bound node');
SELECT throws_ok($$SELECT * FROM gen_re_attach(1201)$$, '42501', NULL,
                 'finding 5: ... nor re-attach it');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT row(status, listen_http_addr)::text FROM nodes WHERE node_id = 1201), '(draining,ps1201-new)',
          'finding 5: the node keeps its addresses and the controller''s status');
SELECT is(gen_validate('c1201000000000000000000000000000', 1), true, 'finding 5: the real node''s generation stays valid');
SET SESSION AUTHORIZATION gencontrol_pgtap_ps1;
SELECT is((SELECT generation FROM gen_re_attach(1201)), 2, 'the bound role re-attaches its node');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION gencontrol_pgtap_ctl1;
SELECT is((SELECT generation FROM gen_re_attach(1201)), 3, 'a controller may re-attach a bound node');
RESET SESSION AUTHORIZATION;
SELECT node_bind_role(1201, NULL);
SET SESSION AUTHORIZATION gencontrol_pgtap_ps2;
SELECT is((SELECT generation FROM gen_re_attach(1201)), 4, 'unbound (NULL), any pageserver role may again, as in 1.0');
SELECT throws_ok($$SELECT node_register(1201, 'evil', 9898, 'evil', 6400)$$, '23505', NULL,
                 'finding 5: but still not with other addresses');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
