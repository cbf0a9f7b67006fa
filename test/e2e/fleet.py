"""A storage fleet for end-to-end tests: a real PostgreSQL with gencontrol, the real shim, and
gencontrol-nodes sharing one local-directory object store, driven the way a storage controller
and its clients would.

Fleet plays the controller: it issues generations through the shim's attach-hook and tells nodes
their location with location_config (clean migrations tell the old node, dirty ones do not). Every
write and checkpoint goes through Fleet, so its Ledger knows which records some node acknowledged
as visible; check() hands them, with the store, to the checker.
FleetTestCase gives each test class one database and shim, and each test its own store and nodes,
all stopped on every exit path (addCleanup), with the node logs printed when a test fails.
"""
import itertools
import json
import os
import shutil
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))

import checker  # noqa: E402
import nodeproc  # noqa: E402
import shimproc  # noqa: E402
from harness import DATABASE, fresh_cluster  # noqa: E402

BASE_DIR = os.path.join(os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters"), "e2e")
TIMELINE = "de200bd42b49cc1814412c7e592dd6e9"


def tenant_id(i, shard=None):
    text = f"e2e{i:029x}"
    if shard:
        text += f"-{shard[0]:02x}{shard[1]:02x}"
    return text


def in_background(fn):
    """Runs fn in a thread and keeps its outcome: {"value": ...} or {"error": exception} (a node
    killed under a request drops the connection, which is expected)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn()
        except Exception as e:  # noqa: BLE001 - kept for the test to look at
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def wait_for(condition, what, timeout=60):
    """Waits until condition() holds: an outcome, not a timing (the limit only ends a hung test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


class Ledger:
    """Which records nodes acknowledged as visible. A record counts once the node that took it
    answered a remote_consistent_lsn_visible at or above its LSN, within the same incarnation
    (process and generation): a restart or a generation change starts a new one, since records
    not yet visible carry no promise across it."""

    def __init__(self):
        self.pending = {}  # (node_id, tenant, timeline) -> [(lsn, key, value)]
        self.acked = []
        self.written = 0

    def wrote(self, node_id, tenant, timeline, records, lsn):
        self.written += len(records)
        # The answer is the LSN of the batch's last record; each record's is at most that, and
        # batches hold distinct keys, so a later write of a key always has a higher LSN.
        self.pending.setdefault((node_id, tenant, timeline), []).extend((lsn, k, v) for k, v in records)

    def visible(self, node_id, tenant, timeline, lsn):
        pending = self.pending.get((node_id, tenant, timeline), [])
        done = [r for r in pending if r[0] <= lsn]
        self.pending[(node_id, tenant, timeline)] = [r for r in pending if r[0] > lsn]
        self.acked.extend({"tenant_shard_id": tenant, "timeline_id": timeline, "lsn": l, "key": k, "value": v}
                          for l, k, v in done)
        return len(done)

    def forget(self, node_id, tenant=None):
        for key in [k for k in self.pending if k[0] == node_id and (tenant is None or k[1] == tenant)]:
            del self.pending[key]

    def save(self, path):
        with open(path, "w") as f:
            f.writelines(json.dumps(a) + "\n" for a in self.acked)


class Fleet:
    """One object store, the nodes writing to it, and the controller's side of each operation."""

    def __init__(self, root, shim_port, node_ports, node_ids, no_generations=False):
        self.root = root
        self.store = os.path.join(root, "store")
        self.log_dir = os.path.join(root, "logs")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(self.store)
        self.shim_port = shim_port
        self.node_ports = node_ports
        self.node_ids = node_ids
        self.no_generations = no_generations
        self.nodes = {}
        self.ledger = Ledger()
        self.values = itertools.count(1)
        self.counts = {"operations": 0, "migrations": 0, "kills": 0}

    # --- processes --------------------------------------------------------------------------
    def add_node(self, start=True):
        i = len(self.nodes)
        node = nodeproc.Node(next(self.node_ids), next(self.node_ports), os.path.join(self.root, f"node-{i + 1}"),
                             self.store, self.log_dir,
                             control_plane_api=f"http://127.0.0.1:{self.shim_port}/upcall/v1/",
                             no_generations=self.no_generations)
        self.nodes[node.node_id] = node
        if self.no_generations:
            # Such a node never calls the control plane; the controller still needs it registered
            # to issue generations for the same steps (which the node then ignores).
            self.shim("/upcall/v1/re-attach", {"node_id": node.node_id, "register": {
                "node_id": node.node_id, "listen_http_addr": "127.0.0.1", "listen_http_port": node.port,
                "listen_pg_addr": "127.0.0.1", "listen_pg_port": 6400, "availability_zone_id": "local"}})
        if start:
            node.start()
        return node

    def stop(self):
        for node in self.nodes.values():
            node.stop()

    def kill9(self, node):
        node.kill9()
        self.ledger.forget(node.node_id)
        self.counts["kills"] += 1

    def restart(self, node, wait=True):
        self.kill9(node)
        node.start(wait)

    def logs(self):
        return "".join(f"---- node {n.node_id} ({n.log_path})\n{n.log_tail()}" for n in self.nodes.values())

    # --- the controller -----------------------------------------------------------------------
    def shim(self, path, body):
        resp = shimproc.request(self.shim_port, "POST", path, body, timeout=60)
        if resp.status != 200:
            raise AssertionError(f"shim {path} {body} answered {resp!r}")
        return resp.json()

    def issue(self, tenant, node):
        """A new generation for `tenant` on `node`, recorded in the database."""
        return self.shim("/debug/v1/attach-hook", {"tenant_shard_id": tenant, "node_id": node.node_id})["gen"]

    def attachment(self, tenant):
        return self.shim("/debug/v1/inspect", {"tenant_shard_id": tenant})["attachment"]

    def set_location(self, node, tenant, mode, generation=None, status=200):
        self.ledger.forget(node.node_id, tenant)
        return node.location_config(tenant, mode, generation, status=status)

    def attach(self, tenant, node):
        """Attach (or dirty-migrate: the node that held it is not told) `tenant` to `node`."""
        gen = self.issue(tenant, node)
        self.set_location(node, tenant, "AttachedSingle", gen)
        self.counts["operations"] += 1
        return gen

    def migrate_clean(self, tenant, old, new):
        """RFC 028's order: old to AttachedStale, a new generation for new as AttachedMulti,
        then AttachedSingle, then old Detached. Returns the new generation."""
        old_gen = old.tenant(tenant).json()["generation"]
        self.set_location(old, tenant, "AttachedStale", old_gen)
        gen = self.issue(tenant, new)
        self.set_location(new, tenant, "AttachedMulti", gen)
        self.set_location(new, tenant, "AttachedSingle", gen)
        self.set_location(old, tenant, "Detached")
        self.counts["migrations"] += 1
        self.counts["operations"] += 1
        return gen

    def migrate_dirty(self, tenant, new):
        gen = self.attach(tenant, new)
        self.counts["migrations"] += 1
        return gen

    # --- the clients ----------------------------------------------------------------------------
    def records(self, node, n, keys=None):
        """n records for distinct keys with values never written before."""
        keys = keys or [f"k{i}" for i in range(n)]
        return [(k, f"n{node.node_id}-v{next(self.values)}") for k in keys[:n]]

    def write(self, node, tenant, records, timeline=TIMELINE, status=200):
        resp = node.write(tenant, timeline, records, status=status)
        self.counts["operations"] += 1
        if resp.status == 200:
            self.ledger.wrote(node.node_id, tenant, timeline, records, resp.json()["lsn"])
        return resp

    def checkpoint(self, node, tenant, timeline=TIMELINE, status=200, timeout=60):
        resp = node.checkpoint(tenant, timeline, status=status, timeout=timeout)
        self.counts["operations"] += 1
        if resp.status == 200:
            self.ledger.visible(node.node_id, tenant, timeline, resp.json()["remote_consistent_lsn_visible"])
        return resp

    def compact(self, node, tenant, timeline=TIMELINE, status=200):
        self.counts["operations"] += 1
        return node.compact(tenant, timeline, status=status)

    # --- the object store -------------------------------------------------------------------------
    def timeline_dir(self, tenant, timeline=TIMELINE):
        return os.path.join(self.store, "tenants", tenant, "timelines", timeline)

    def objects(self, tenant, timeline=TIMELINE):
        try:
            return sorted(os.listdir(self.timeline_dir(tenant, timeline)))
        except FileNotFoundError:
            return []

    def index(self, tenant, generation=None, timeline=TIMELINE):
        """The layer map of one index (unsuffixed when generation is None)."""
        name = "index_part.json" if generation is None else f"index_part.json-{generation:08x}"
        with open(os.path.join(self.timeline_dir(tenant, timeline), name)) as f:
            return json.load(f)["layer_metadata"]

    def check(self):
        """The checker's report on the store against every acknowledged record."""
        self.ledger.save(os.path.join(self.root, "acks.jsonl"))
        return checker.check(self.store, self.ledger.acked)


class FleetTestCase(unittest.TestCase):
    """One database and shim per class on BASE_PORT, BASE_PORT+1; each test a fresh Fleet whose
    nodes listen from BASE_PORT+10 and get node ids no earlier test used."""

    BASE_PORT = None
    NO_GENERATIONS = False

    @classmethod
    def setUpClass(cls):
        if not nodeproc.available():
            raise unittest.SkipTest(f"{nodeproc.BINARY} is not built")
        name = f"e2e-{cls.__name__.lower()}"
        cls.cluster = fresh_cluster(name, cls.BASE_PORT)
        cls.addClassCleanup(cls.cluster.stop, "immediate")
        cls.shim_proc = shimproc.Shim(name, cls.BASE_PORT + 1, cls.cluster.conninfo(DATABASE), log_level="info")
        cls.addClassCleanup(cls.shim_proc.stop)
        cls.shim_proc.start()
        cls.node_ports = itertools.count(cls.BASE_PORT + 10)
        cls.node_ids = itertools.count(1)

    def setUp(self):
        root = os.path.join(BASE_DIR, f"{type(self).__name__}.{self._testMethodName}")
        self.fleet = Fleet(root, self.BASE_PORT + 1, type(self).node_ports, type(self).node_ids,
                           no_generations=self.NO_GENERATIONS)
        self.addCleanup(self.fleet.stop)
        self.addCleanup(self._logs_on_failure)

    def _logs_on_failure(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        failed = result is not None and any(t is self for t, _ in result.failures + result.errors)
        if failed:
            print(f"\n{self.id()}: store {self.fleet.store}\n{self.fleet.logs()}"
                  f"---- shim\n{self.shim_proc.log_tail()}", file=sys.stderr)

    def stop_shim(self):
        self.shim_proc.stop()

    def start_shim(self):
        self.shim_proc.start()

    def assertClean(self, report):
        self.assertEqual([str(v) for v in report.violations], [], report.summary())
