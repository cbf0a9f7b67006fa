"""The index entries gen_attach writes without SQL (src/extension/table_writer.cpp). Each backend
keeps what BuildIndexInfo derives for every index of the tables it writes, including whether an
index is ready for inserts, and forgets it when PostgreSQL invalidates the index or its table.

CREATE INDEX CONCURRENTLY is where a kept answer would go wrong. Its first transaction adds the
index as not ready for inserts; a writer that opens the table then keeps "not ready". The index
is built from a snapshot, marked ready, and validated: from then on every writer must add its own
rows, and a writer still trusting "not ready" leaves them out of the index for good.

The test holds the build at its first wait (a transaction holding ROW EXCLUSIVE on the history
table, which CREATE INDEX CONCURRENTLY waits out), attaches through a backend that so keeps the
index as not ready, lets the build finish, attaches again through that same backend, and checks
the new index against the table with amcheck (every heap row must be in it).

Only attaches that move an existing shard are written without SQL (a new shard is an INSERT
statement), so the shards are created first.

Control, run by hand (2026-12-02): with the invalidation callback (forget in table_writer.cpp)
returning at once, the backend keeps the index as not ready for inserts after the build, and the
probe through the index finds one history row of the last shard instead of two.

The history row's role (session_user) is kept per backend in the same way (generation_log.cpp),
and forgotten when pg_authid changes; the last test renames the session user from another
session. Its control, run by hand (2026-12-02): with the syscache callback (forget_user_name)
doing nothing, the last row names gc_operator instead of gc_operator_renamed.
"""

import threading

from harness import ClusterTestCase

SHARDS = ["c1000000000000000000000000000001", "c1000000000000000000000000000002",
          "c1000000000000000000000000000003"]


class WriterIndexesTest(ClusterTestCase):
    PORT = 15447
    EXTENSIONS = ("gencontrol", "amcheck")

    def test_an_index_built_concurrently_gets_the_rows_of_a_backend_that_saw_it_unready(self):
        _, admin, _ = self.session()
        for node in (1, 2, 3):
            admin.execute("SELECT node_register(%s, 'ps', 9898, 'ps', 6400)", (node,))
        _, writer, _ = self.session()
        # Attaches that move an existing shard are the ones written without SQL.
        for shard in SHARDS:
            writer.execute("SELECT gen_attach(%s, 1)", (shard,))
        writer.execute("SELECT gen_attach(%s, 2)", (SHARDS[0],))  # the backend now keeps the indexes

        holder_conn, holder, _ = self.session(autocommit=False)
        holder.execute("LOCK TABLE generation_log_entries IN ROW EXCLUSIVE MODE")
        _, builder, builder_pid = self.session()
        build = threading.Thread(target=builder.execute, daemon=True,
                                 args=("CREATE INDEX CONCURRENTLY generation_log_tenant"
                                       " ON generation_log_entries (tenant)",))
        build.start()
        self.lock_wait(builder_pid, build)
        admin.execute("SELECT indisready, indisvalid FROM pg_index"
                      " WHERE indexrelid = 'gencontrol.generation_log_tenant'::regclass")
        self.assertEqual(admin.fetchone(), (False, False), "the build waits with its index not ready")

        writer.execute("SELECT gen_attach(%s, 2)", (SHARDS[1],))  # sees the index, not ready
        holder_conn.commit()
        build.join(120)
        self.assertFalse(build.is_alive(), "CREATE INDEX CONCURRENTLY finished")
        admin.execute("SELECT indisready, indisvalid FROM pg_index"
                      " WHERE indexrelid = 'gencontrol.generation_log_tenant'::regclass")
        self.assertEqual(admin.fetchone(), (True, True))

        writer.execute("SELECT gen_attach(%s, 3)", (SHARDS[2],))
        admin.execute("SET enable_seqscan = off")
        admin.execute("SET enable_bitmapscan = off")
        for shard in SHARDS:
            admin.execute("EXPLAIN (COSTS OFF) SELECT count(*) FROM generation_log_entries WHERE tenant = %s",
                          (shard,))
            self.assertIn("generation_log_tenant", " ".join(row[0] for row in admin.fetchall()))
            admin.execute("SELECT count(*) FROM generation_log_entries WHERE tenant = %s", (shard,))
            self.assertEqual(admin.fetchone()[0], 2, f"{shard}'s two history rows are found through the new index")
        admin.execute("SELECT bt_index_check('gencontrol.generation_log_tenant', true)")

    def test_a_backend_writes_through_an_index_added_after_it_kept_the_others_and_not_a_dropped_one(self):
        # The shard table's indexes are read from its relcache entry on every call.
        _, admin, _ = self.session()
        admin.execute("SELECT node_register(10, 'ps', 9898, 'ps', 6400)")
        _, writer, _ = self.session()
        admin.execute("SELECT node_register(11, 'ps', 9898, 'ps', 6400)")
        shard = "d1000000000000000000000000000001"
        writer.execute("SELECT gen_attach(%s, 10)", (shard,))
        writer.execute("SELECT gen_attach(%s, 11)", (shard,))  # a move: written without SQL
        admin.execute("CREATE UNIQUE INDEX tenant_shards_updated ON tenant_shards_stored (updated_at, id)")
        writer.execute("SELECT gen_attach(%s, 10)", (shard,))
        admin.execute("SELECT bt_index_check('gencontrol.tenant_shards_updated', true)")
        admin.execute("DROP INDEX gencontrol.tenant_shards_updated")
        writer.execute("SELECT gen_attach(%s, 11)", (shard,))
        writer.execute("SELECT generation FROM tenant_shards WHERE id = %s", (shard,))
        self.assertEqual(writer.fetchone()[0], 4)

    def test_the_history_names_the_session_user_as_it_is_named_now(self):
        # A backend keeps its session user's name for the history's role column; a new session
        # user, or a rename of the kept one by another session, must show in the next row.
        _, admin, _ = self.session()
        admin.execute("CREATE ROLE gc_operator LOGIN")
        admin.execute("GRANT gencontrol_controller TO gc_operator")
        for node in (20, 21):
            admin.execute("SELECT node_register(%s, 'ps', 9898, 'ps', 6400)", (node,))
        _, writer, _ = self.session()
        shard = "e1000000000000000000000000000001"
        writer.execute("SELECT gen_attach(%s, 20)", (shard,))
        writer.execute("SELECT gen_attach(%s, 21)", (shard,))  # moves are written without SQL
        writer.execute("SET SESSION AUTHORIZATION gc_operator")
        writer.execute("SELECT gen_attach(%s, 20)", (shard,))
        admin.execute("ALTER ROLE gc_operator RENAME TO gc_operator_renamed")
        writer.execute("SELECT gen_attach(%s, 21)", (shard,))
        admin.execute("SELECT role::text FROM generation_log_entries WHERE tenant = %s ORDER BY log_id", (shard,))
        self.assertEqual([row[0] for row in admin.fetchall()],
                         ["postgres", "postgres", "gc_operator", "gc_operator_renamed"])
