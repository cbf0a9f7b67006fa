"""The node-row position cache of src/extension/node_epochs.cpp: each backend remembers where it
last found a node's row and fetches it there (following its HOT chain) before asking the primary
key. A remembered position goes stale in two ways, and either must send the lookup to the index,
never to a wrong or missing row:

- the row moved to another page (an update that did not fit on its page);
- VACUUM then truncated the page it was on, so that the position lies past the end of the table.
  The length the position is checked against is the one smgr last learned (asking the kernel was
  a few percent of a single validate); a truncation by another backend must make it be asked again.

The layout is built, not hoped for: the nodes table gets pages of rolled-back rows in front of the
node's page, so that VACUUM frees them and the node's row, grown, moves there; every step checks
the page numbers it relies on.

VACUUM also changes the table's statistics, and that relcache invalidation makes every backend
forget its positions, but only when VACUUM commits: in between, after the truncation, a backend
meets a stale position with only smgr's invalidation processed. The controls, run by hand
(2026-12-02), widen that window to the whole test by keeping the positions through the relcache
invalidation (forget_shape without positions.clear()):
- with the length check as it is, this test passes;
- with the check removed, the validate after the truncation fails with XX001 "could not read
  block 6 in file ...: read only 0 of 8192 bytes";
- with the length cached per backend and asked again only for a block past it, it fails too.
"""

from harness import ClusterTestCase

SHARD = "b1000000000000000000000000000001"
NODE = 1
MEDIUM = "m" * 100       # a registration of about 290 bytes
LARGE = "L" * 255        # the longest a host name or zone may be: about 1.1 kB a row


class NodePositionTest(ClusterTestCase):
    PORT = 15446

    def block_of(self, cur, node):
        cur.execute("SELECT (ctid::text::point)[0]::int FROM nodes WHERE node_id = %s", (node,))
        return cur.fetchone()[0]

    def blocks(self, cur):
        cur.execute("SELECT pg_relation_size('gencontrol.nodes') / current_setting('block_size')::int")
        return cur.fetchone()[0]

    def insert_node(self, cur, node, addr=MEDIUM):
        cur.execute("INSERT INTO nodes (node_id, listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port)"
                    " VALUES (%s, %s, 9898, %s, 6400)", (node, addr, addr))
        return self.block_of(cur, node)

    def test_a_moved_node_row_and_a_truncated_page_are_found_through_the_index(self):
        builder, cur, _ = self.session(autocommit=False)

        # Pages 0..5 full of rolled-back rows; the node and its neighbours on page 6, filling it.
        cur.execute("SAVEPOINT fillers")
        filler = 100000
        while self.insert_node(cur, filler) < 6:
            filler += 1
        cur.execute("ROLLBACK TO SAVEPOINT fillers")
        self.assertEqual(self.insert_node(cur, NODE), 6, "the node's row is on page 6")
        neighbours = []
        for node in range(2, 1000):
            cur.execute("SAVEPOINT neighbour")
            if self.insert_node(cur, node) > 6:
                cur.execute("ROLLBACK TO SAVEPOINT neighbour")  # page 6 is full: page 7 gets none
                break
            cur.execute("RELEASE SAVEPOINT neighbour")
            neighbours.append(node)
        builder.commit()
        builder.autocommit = True
        cur.execute("VACUUM gencontrol.nodes")
        self.assertEqual(self.blocks(cur), 7, "VACUUM emptied pages 0..5 and cut page 7")
        cur.execute("SELECT gen_attach(%s, %s)", (SHARD, NODE))
        generation = cur.fetchone()[0]

        # Two other backends find the node's row through the index, then at its remembered
        # position: one sees it moved, the other only after the truncation.
        _, moved_reader, _ = self.session()
        _, reader, _ = self.session()
        for session in (moved_reader, reader):
            for _ in range(2):
                session.execute("SELECT gen_validate(%s, %s)", (SHARD, generation))
                self.assertEqual(session.fetchone()[0], True)

        # Every row of page 6 grows past what the page has free and moves to pages 0..5 (one
        # statement: none of the old versions is dead before it ends). A re-attach then bumps the
        # node's epoch, so that only the moved row answers right.
        cur.execute("UPDATE nodes SET listen_http_addr = %s, listen_pg_addr = %s, availability_zone = %s,"
                    " listen_grpc_addr = %s WHERE node_id = ANY(%s)",
                    (LARGE, LARGE, LARGE, LARGE, [NODE] + neighbours))
        self.assertLess(self.block_of(cur, NODE), 6, "the node's row moved to an earlier page")
        cur.execute("SELECT count(*) FROM nodes WHERE (ctid::text::point)[0] >= 6")
        self.assertEqual(cur.fetchone()[0], 0, "no row is left on page 6 or after it")
        cur.execute("SELECT count(*) FROM gen_re_attach(%s)", (NODE,))

        # Moved: the remembered position holds a dead version.
        moved_reader.execute("SELECT gen_validate(%s, %s), gen_validate(%s, %s)",
                             (SHARD, generation, SHARD, generation + 1))
        self.assertEqual(moved_reader.fetchone(), (False, True), "the moved row is read, with the new epoch")

        # Truncated: the remembered position lies past the end of the table.
        cur.execute("VACUUM gencontrol.nodes")
        self.assertLessEqual(self.blocks(cur), 6, "VACUUM cut page 6 (and any empty pages before it)")
        for _ in range(2):
            reader.execute("SELECT gen_validate(%s, %s), gen_validate(%s, %s)",
                           (SHARD, generation, SHARD, generation + 1))
            self.assertEqual(reader.fetchone(), (False, True), "the row is found after the truncation")
        # gen_attach reads the node the same way (it locks, then reads the epochs).
        reader.execute("SELECT gen_attach(%s, %s)", (SHARD, NODE))
        self.assertEqual(reader.fetchone()[0], generation + 2)
