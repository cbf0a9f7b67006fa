"""The object-store checker against stores built by hand: good ones (with and without
generations, with legal garbage and dangling old indexes) pass, and each kind of broken one is
reported with the right kind of violation. No node, database or network needed."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from checker import DURABLE, FENCED, ORDERED, RESTORABLE, check, layer_key  # noqa: E402

T = "072f1291a5310026820b2fe4b2968934-0102"
TL = "de200bd42b49cc1814412c7e592dd6e9"


class StoreBuilder:
    """Writes layers and indexes in the node's formats (docs/design.md, "Object layout")."""

    def __init__(self, root):
        self.root = root

    def dir(self, tenant=T, timeline=TL):
        d = os.path.join(self.root, "tenants", tenant, "timelines", timeline)
        os.makedirs(d, exist_ok=True)
        return d

    def layer(self, name, gen, records, tenant=T, timeline=TL):
        """Uploads a layer of (lsn, key, value) records; returns its index metadata."""
        data = "".join(json.dumps({"lsn": lsn, "key": k, "value": v}) + "\n" for lsn, k, v in records).encode()
        with open(os.path.join(self.dir(tenant, timeline), layer_key(name, gen)), "wb") as f:
            f.write(data)
        return {"file_size": len(data), "generation": gen or 0, "checksum": hashlib.sha256(data).hexdigest()}

    def index(self, gen, layers, lsn=0, tenant=T, timeline=TL):
        name = "index_part.json" if gen is None else f"index_part.json-{gen:08x}"
        doc = {"version": 1, "disk_consistent_lsn": lsn, "layer_metadata": layers}
        with open(os.path.join(self.dir(tenant, timeline), name), "w") as f:
            json.dump(doc, f)

    def delete(self, name, gen, tenant=T, timeline=TL):
        os.unlink(os.path.join(self.dir(tenant, timeline), layer_key(name, gen)))

    def path(self, name, gen, tenant=T, timeline=TL):
        return os.path.join(self.dir(tenant, timeline), layer_key(name, gen))


def ack(lsn, key, value, tenant=T, timeline=TL):
    return {"tenant_shard_id": tenant, "timeline_id": timeline, "lsn": lsn, "key": key, "value": value}


class CheckerTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="gencontrol-checker-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.s = StoreBuilder(self.root)

    def history_with_generations(self):
        """A legal history: generation 1 uploads L1, L2 and compacts into L3 (deleting L1, L2);
        generation 2 attaches, writes L4, and leaves garbage from an upload that never made it
        into an index. The old index-1 stays dangling, as it may."""
        s = self.s
        l1 = s.layer("L1", 1, [(1, "a", "a1"), (2, "b", "b1")])
        l2 = s.layer("L2", 1, [(3, "a", "a2")])
        s.index(1, {"L1": l1, "L2": l2}, lsn=3)
        l3 = s.layer("L3", 1, [(3, "a", "a2"), (3, "b", "b1")])
        s.index(1, {"L3": l3}, lsn=3)
        s.delete("L1", 1)
        s.delete("L2", 1)
        l4 = s.layer("L4", 2, [(4, "c", "c2"), (5, "a", "a3")])
        s.index(2, {"L3": l3, "L4": l4}, lsn=5)
        s.layer("L5", 2, [(6, "d", "garbage")])
        return [ack(2, "b", "b1"), ack(3, "a", "a2"), ack(4, "c", "c2"), ack(5, "a", "a3")]

    def assertClean(self, report):
        self.assertEqual([str(v) for v in report.violations], [])

    def assertKinds(self, report, *kinds):
        self.assertEqual(report.kinds(), set(kinds), [str(v) for v in report.violations])

    # --- good stores ------------------------------------------------------------------------
    def test_empty_store_is_clean(self):
        self.assertClean(check(self.root))

    def test_good_store_with_generations(self):
        acks = self.history_with_generations()
        report = check(self.root, acks)
        self.assertClean(report)
        self.assertEqual((report.timelines, report.indexes, report.layers, report.acknowledged), (1, 2, 2, 4))

    def test_superseded_record_is_not_lost(self):
        self.history_with_generations()
        # a1 was acknowledged, then a later write of "a" (lsn 5) superseded it.
        self.assertClean(check(self.root, [ack(1, "a", "a1")]))

    def test_index_from_older_generation_may_list_deleted_layers(self):
        s = self.s
        l1 = s.layer("L1", 3, [(1, "k", "v")])
        s.index(3, {"L1": l1}, lsn=1)
        l2 = s.layer("L2", 4, [(1, "k", "v")])
        s.index(4, {"L2": l2}, lsn=1)
        s.delete("L1", 3)
        self.assertClean(check(self.root, [ack(1, "k", "v")]))

    def test_good_store_without_generations(self):
        s = self.s
        l1 = s.layer("L1", None, [(1, "a", "x")])
        l2 = s.layer("L2", None, [(2, "b", "y")])
        s.index(None, {"L1": l1, "L2": l2}, lsn=2)
        report = check(self.root, [ack(1, "a", "x"), ack(2, "b", "y")])
        self.assertClean(report)
        self.assertEqual(report.layers, 2)

    def test_suffixed_index_wins_over_legacy_one(self):
        s = self.s
        legacy = s.layer("L0", None, [(1, "a", "old")])
        s.index(None, {"L0": legacy}, lsn=1)
        l1 = s.layer("L1", 1, [(2, "a", "new")])
        s.index(1, {"L0": legacy, "L1": l1}, lsn=2)
        self.assertClean(check(self.root, [ack(2, "a", "new")]))
        os.unlink(os.path.join(s.dir(), "L0"))  # the legacy layer the newest index still lists
        self.assertKinds(check(self.root), RESTORABLE)

    def test_timelines_and_tenants_are_checked_apart(self):
        s = self.s
        other = "00000000000000000000000000000001"
        l1 = s.layer("L1", 1, [(1, "a", "x")], tenant=other)
        s.index(1, {"L1": l1}, tenant=other)
        l2 = s.layer("L1", 5, [(1, "a", "y")])
        s.index(5, {"L1": l2})
        report = check(self.root, [ack(1, "a", "x", tenant=other), ack(1, "a", "y")])
        self.assertClean(report)
        self.assertEqual(report.timelines, 2)

    # --- 1. restorable ------------------------------------------------------------------------
    def test_missing_layer(self):
        self.history_with_generations()
        self.s.delete("L4", 2)
        report = check(self.root)
        self.assertKinds(report, RESTORABLE)
        self.assertIn("L4-00000002", str(report.violations[0]))

    def test_wrong_size(self):
        self.history_with_generations()
        with open(self.s.path("L4", 2), "ab") as f:
            f.write(b"\n")
        self.assertKinds(check(self.root), RESTORABLE)

    def test_wrong_checksum_same_size(self):
        self.history_with_generations()
        path = self.s.path("L3", 1)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[data.index(b"a2")] = ord("z")
        with open(path, "wb") as f:
            f.write(data)
        self.assertKinds(check(self.root), RESTORABLE)

    def test_unreadable_highest_index(self):
        self.history_with_generations()
        with open(os.path.join(self.s.dir(), "index_part.json-00000002"), "w") as f:
            f.write('{"version": 1, "layer_metadata": ')
        self.assertKinds(check(self.root), RESTORABLE)

    def test_layer_not_in_lsn_order(self):
        meta = self.s.layer("L1", 1, [(2, "a", "x"), (1, "b", "y")])
        self.s.index(1, {"L1": meta})
        self.assertKinds(check(self.root), RESTORABLE)

    def test_layer_under_the_wrong_generation(self):
        # The index records generation 2 but the object was uploaded under generation 1.
        meta = self.s.layer("L1", 1, [(1, "a", "x")])
        meta["generation"] = 2
        self.s.index(2, {"L1": meta})
        self.assertKinds(check(self.root), RESTORABLE)

    # --- 2. durable ---------------------------------------------------------------------------
    def test_lost_record(self):
        self.history_with_generations()
        report = check(self.root, [ack(7, "e", "never uploaded")])
        self.assertKinds(report, DURABLE)

    def test_record_with_an_other_value_at_its_lsn(self):
        self.history_with_generations()
        self.assertKinds(check(self.root, [ack(4, "c", "forked")]), DURABLE)

    def test_record_replaced_by_an_older_one(self):
        self.history_with_generations()
        # "a" was acknowledged at lsn 9, but the highest index's newest "a" is lsn 5.
        self.assertKinds(check(self.root, [ack(9, "a", "a9")]), DURABLE)

    def test_record_of_a_timeline_not_in_the_store(self):
        self.history_with_generations()
        report = check(self.root, [ack(1, "a", "x", timeline="ab" * 16)])
        self.assertKinds(report, DURABLE)

    def test_record_behind_a_missing_layer(self):
        acks = self.history_with_generations()
        self.s.delete("L3", 1)
        self.assertKinds(check(self.root, acks), RESTORABLE, DURABLE)  # index-1 itself lists L3: no stale deleter

    # --- 3. fenced ------------------------------------------------------------------------------
    def test_split_brain_with_generations_broken_by_a_stale_deletion(self):
        """docs/design.md's four steps where the stale node deletes although it should not: B (gen 2)
        lists L1, L2, L4; A (gen 1) compacted into L3 and deleted L1."""
        s = self.s
        l1 = s.layer("L1", 1, [(1, "a", "a1")])
        l2 = s.layer("L2", 1, [(2, "b", "b1")])
        s.index(1, {"L1": l1, "L2": l2}, lsn=2)
        l3 = s.layer("L3", 1, [(1, "a", "a1"), (2, "b", "b1"), (3, "c", "c1")])
        s.index(1, {"L2": l2, "L3": l3}, lsn=3)
        l4 = s.layer("L4", 2, [(3, "d", "d2")])
        s.index(2, {"L1": l1, "L2": l2, "L4": l4}, lsn=3)
        s.delete("L1", 1)
        report = check(self.root, [ack(1, "a", "a1")])
        self.assertKinds(report, RESTORABLE, FENCED, DURABLE)
        self.assertIn("L1-00000001", str(report.of_kind(FENCED)[0]))

    def test_split_brain_with_generations_when_fenced(self):
        """The same steps with the deletion refused: L1 stays, nothing is broken; c1, which the
        stale node could never make visible, is not acknowledged."""
        s = self.s
        l1 = s.layer("L1", 1, [(1, "a", "a1")])
        l2 = s.layer("L2", 1, [(2, "b", "b1")])
        s.index(1, {"L1": l1, "L2": l2}, lsn=2)
        l3 = s.layer("L3", 1, [(1, "a", "a1"), (2, "b", "b1"), (3, "c", "c1")])
        s.index(1, {"L2": l2, "L3": l3}, lsn=3)
        l4 = s.layer("L4", 2, [(3, "d", "d2")])
        s.index(2, {"L1": l1, "L2": l2, "L4": l4}, lsn=3)
        self.assertClean(check(self.root, [ack(1, "a", "a1"), ack(2, "b", "b1"), ack(3, "d", "d2")]))

    def test_split_brain_without_generations(self):
        """The four steps of docs/design.md's "The problem" on unsuffixed keys: the index B wrote
        lists L1 (deleted by A's compaction) and A's L3 with c1 is lost."""
        s = self.s
        l1 = s.layer("L1", None, [(1, "a", "a1")])
        l2 = s.layer("L2", None, [(2, "b", "b1")])
        s.index(None, {"L1": l1, "L2": l2}, lsn=2)
        l3 = s.layer("L3", None, [(1, "a", "a1"), (2, "b", "b1"), (3, "c", "c1")])
        s.index(None, {"L3": l3}, lsn=3)
        s.delete("L1", None)
        s.delete("L2", None)
        l4 = s.layer("L4", None, [(3, "d", "d2")])
        s.index(None, {"L1": l1, "L2": l2, "L4": l4}, lsn=3)
        report = check(self.root, [ack(1, "a", "a1"), ack(3, "c", "c1"), ack(3, "d", "d2")])
        self.assertKinds(report, RESTORABLE, DURABLE)
        self.assertEqual(len(report.of_kind(RESTORABLE)), 2)
        self.assertEqual(len(report.of_kind(DURABLE)), 2)  # a1 behind the missing L1, and c1

    # --- 4. ordered -----------------------------------------------------------------------------
    def test_index_lists_a_newer_generation(self):
        s = self.s
        l1 = s.layer("L1", 3, [(1, "a", "x")])
        s.index(2, {"L1": l1})
        l2 = s.layer("L2", 3, [(1, "a", "x")])
        s.index(3, {"L2": l2})
        report = check(self.root, [ack(1, "a", "x")])
        self.assertKinds(report, ORDERED)
        self.assertIn("index_part.json-00000002", str(report.violations[0]))

    def test_bad_recorded_generation(self):
        meta = self.s.layer("L1", 1, [(1, "a", "x")])
        meta["generation"] = "one"
        self.s.index(1, {"L1": meta})
        self.assertKinds(check(self.root), ORDERED)

    # --- the command line -------------------------------------------------------------------------
    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "checker.py"), *args],
                              capture_output=True, text=True)

    def test_command_line(self):
        acks = self.history_with_generations()
        acks_path = os.path.join(self.root, "acks.jsonl")
        with open(acks_path, "w") as f:
            f.writelines(json.dumps(a) + "\n" for a in acks)
        good = self.run_cli(self.root, "--acks", acks_path)
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("checker: 1 timelines, 2 indexes, 2 layers, 4 acknowledged records, violations 0",
                      good.stdout)
        self.s.delete("L4", 2)
        bad = self.run_cli(self.root, "--acks", acks_path)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("restorable:", bad.stdout)
        self.assertIn("violations 3", bad.stdout)  # L4 missing, and c2 and a3 behind it
        self.assertEqual(self.run_cli(os.path.join(self.root, "nowhere")).returncode, 2)


if __name__ == "__main__":
    unittest.main()
