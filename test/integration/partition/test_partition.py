"""Failover under a network partition (issue 11), in network namespaces the test creates:

    old (zombie clients, the shim) --- P (primary) --- S (synchronous standby) --- new (clients)
                                        \\_________________________________________/

Clients on the new side start on P (multi-host conninfo, P first) and follow to S; clients on
the old side reach only P: zombie nodes that keep validating, a few that keep writing, and the
HTTP shim when it is built. Under load the links P-S and new-P are cut, S is promoted and
serves the new side while P keeps running for the old side; then the links heal, P is stopped
(a fenced old primary) and the load runs on against S. The history checker must find no
acknowledged generation lost and no valid: true for a superseded generation, from either side.

- PartitionTest: gencontrol.validate_read_barrier on. P answers no validate asked after the cut.
- PartitionControlTest: the same with the barrier off must show stale valid: true answers from P
  (the test fails if it finds none: it proves the scenario can see the hazard).
- AsynchronousFailoverControlTest: the control of test_failover.py: an asynchronous standby,
  cut off from the primary for a moment (standing for replication lag), promoted after a
  kill -9 of the primary: acknowledged generations are lost and the checker reports them.

make test runs a few seconds of partition; make test-long (GENCONTROL_LONG=1) a longer one with
twice the clients. Each scenario prints its `guarantees:` line.
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "guarantees"), os.path.dirname(HERE)]

import netns  # noqa: E402
from harness import DATABASE  # noqa: E402
from history import DUPLICATE, LOST, OK, ORDER, STALE_VALID, VALIDATE, VALIDATE_BATCH, check  # noqa: E402
from history import lost_acknowledgements  # noqa: E402
from load import SqlTarget, HttpTarget, scaled, stored_generations, summary  # noqa: E402
from pgcluster import Cluster, run_as_server  # noqa: E402
from replication import add_standby, wait_for  # noqa: E402
from shimproc import available as shim_available  # noqa: E402
from sides import (CLIENT_TIMEOUTS, ZOMBIE_OPTIONS, NamespacedShim, SideTarget, SidedLoad, count,  # noqa: E402
                   first_write, kinds)

CONF = {
    "listen_addresses": "'*'",  # inside the server's own namespace: its veth addresses and loopback
    "synchronous_commit": "off",  # gencontrol alone makes its commits wait for the standby
}
HBA = "host all all 198.18.0.0/15 trust\nhost replication all 198.18.0.0/15 trust\n"

PRE, PARTITION, AFTER = scaled(2, 10), scaled(5, 30), scaled(2, 10)
OVERLAP = scaled(3, 10)  # seconds both primaries serve after the new one's first acknowledged write


def allow_partition_network(cluster):
    run_as_server(["sh", "-c", f"cat >> '{os.path.join(cluster.data, 'pg_hba.conf')}'"], input=HBA.encode())


def start_primary(name, port, namespace, conf):
    primary = Cluster(name, port, netns=namespace).init(conf)
    allow_partition_network(primary)
    primary.start()
    primary.create_database(DATABASE, ["gencontrol"])
    return primary


def dsn(*hosts_and_ports, extra=""):
    hosts = ",".join(h for h, _ in hosts_and_ports)
    ports = ",".join(str(p) for _, p in hosts_and_ports)
    return (f"host={hosts} port={ports} dbname={DATABASE} user=postgres "
            f"target_session_attrs=read-write {CLIENT_TIMEOUTS} {extra}").strip()


@unittest.skipUnless(netns.available(), "network namespaces need root (ip netns)")
class PartitionTest(unittest.TestCase):
    BARRIER = True
    PORTS = (15552, 15553, 15554)  # P, S, shim (each in its own namespace)
    SEED = 41

    @classmethod
    def setUpClass(cls):
        tag = "on" if cls.BARRIER else "off"
        cls.topology = topo = netns.Topology(tag)
        cls.addClassCleanup(topo.remove)  # class cleanups run last-in first-out: this one last
        p_ns, s_ns = topo.namespace("p"), topo.namespace("s")
        old_ns, new_ns = topo.namespace("old"), topo.namespace("new")
        cls.replication = topo.link(p_ns, s_ns)
        cls.old_to_p = topo.link(old_ns, p_ns)
        cls.new_to_p = topo.link(new_ns, p_ns)
        cls.new_to_s = topo.link(new_ns, s_ns)

        p_port, s_port, shim_port = cls.PORTS
        conf = dict(CONF)
        if not cls.BARRIER:
            conf["gencontrol.validate_read_barrier"] = "off"
        cls.primary = start_primary(f"it-partition-{tag}-p", p_port, p_ns, conf)
        cls.addClassCleanup(cls.primary.stop, "immediate")
        cls.standby = Cluster(f"it-partition-{tag}-s", s_port, netns=s_ns)
        cls.addClassCleanup(cls.standby.stop_if_running)
        add_standby(cls.primary, cls.standby, conf, host=cls.replication.address_in(p_ns))

        old_dsn = dsn((cls.old_to_p.address_in(p_ns), p_port), extra=ZOMBIE_OPTIONS)
        new_dsn = dsn((cls.new_to_p.address_in(p_ns), p_port), (cls.new_to_s.address_in(s_ns), s_port))
        targets = []
        for _ in range(scaled(6, 12)):
            targets += [SideTarget("new", new_ns, SqlTarget(new_dsn)),
                        SideTarget("new", new_ns, SqlTarget(new_dsn, snapshot_age_ms=250))]
        targets += [SideTarget("old", old_ns, SqlTarget(old_dsn), validate_only=True)] * scaled(6, 12)
        targets += [SideTarget("old", old_ns, SqlTarget(old_dsn))] * scaled(2, 4)
        cls.shim = None
        if shim_available():
            cls.shim = NamespacedShim(old_ns, f"it-partition-{tag}-shim", shim_port, old_dsn,
                                      args=["--pool-size", "4"], log_level="info")
            cls.addClassCleanup(cls.shim.stop)
            cls.shim.start()
            targets += [SideTarget("old", old_ns, HttpTarget("127.0.0.1", shim_port),
                                   validate_only=True)] * scaled(4, 8)
        cls.load = SidedLoad(targets, seed=cls.SEED)
        cls.run_scenario()

    @classmethod
    def run_scenario(cls):
        load, topo = cls.load, cls.topology
        load.prepare(cls.primary.conninfo(DATABASE))
        began = time.monotonic()
        load.start()
        try:
            time.sleep(PRE)
            topo.cut(cls.replication, cls.new_to_p)
            cls.cut_at = time.monotonic_ns()
            time.sleep(1)  # the time a failure detector would take
            cls.standby.promote()
            cls.promoted_at = time.monotonic_ns()
            # The new side needs a few seconds to give up on the old primary (keepalives) and
            # find the new one; the partition lasts until both primaries have served at once
            # for OVERLAP seconds, however long that took.
            wait_for(lambda: first_write(load.history, cls.promoted_at, "new") is not None, 60,
                     "a write acknowledged by the new primary")
            cls.serving_seconds = (first_write(load.history, cls.promoted_at, "new") - cls.cut_at) / 1e9
            time.sleep(max(OVERLAP, PARTITION - (time.monotonic_ns() - cls.cut_at) / 1e9))
            topo.heal(cls.replication, cls.new_to_p)
            cls.partition_seconds = (time.monotonic_ns() - cls.cut_at) / 1e9
            time.sleep(0.5)
            cls.primary.stop("immediate")  # the old primary is fenced
            cls.fenced_at = time.monotonic_ns()
            time.sleep(AFTER)
        finally:
            cls.stuck = load.stop()
        ops = load.history
        cls.stored = stored_generations(cls.standby.conninfo(DATABASE))
        cls.report = check(ops, cls.stored)
        cls.lost = lost_acknowledgements(ops, cls.stored)
        window = dict(since=cls.cut_at, until=cls.fenced_at, side="old")
        cls.old_asked = count(ops, **window)
        cls.old_answered = count(ops, outcome=OK, **window)
        cls.new_after_promotion = count(ops, since=cls.promoted_at, side="new", outcome=OK,
                                        kinds=(VALIDATE, VALIDATE_BATCH, "attach", "re_attach"))
        barrier = "on" if cls.BARRIER else "off (control)"
        cls.summary = summary(
            f"partition (synchronous standby promoted while the primary runs, read barrier {barrier})",
            cls.report, f"1 ({cls.partition_seconds:.1f} s partition, promote, heal, fence the old primary)",
            time.monotonic() - began, load,
            f"stale valid answers {cls.report.count(STALE_VALID)}, acknowledged then lost {cls.lost}, "
            f"validates asked of the old primary after the cut {cls.old_asked} (answered {cls.old_answered}), "
            f"new primary's first acknowledged write {cls.serving_seconds:.1f} s after the cut, "
            f"{kinds(cls.report)}")

    def test_nothing_acknowledged_was_lost(self):
        self.assertEqual(self.lost, 0)
        self.assertEqual(self.report.count(LOST), 0, self.report.explain())

    def test_no_duplicate_or_out_of_order_generation(self):
        self.assertEqual(self.report.count(DUPLICATE) + self.report.count(ORDER), 0, self.report.explain())

    def test_zombies_kept_asking_the_old_primary(self):
        # Without this the test would prove nothing: the hazard needs a question to answer.
        self.assertGreater(self.old_asked, 10, f"{self.load.errors.most_common(5)}")

    def test_new_side_was_served_by_the_new_primary(self):
        self.assertGreater(self.new_after_promotion, 100, f"{self.load.errors.most_common(5)}")

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])

    def test_old_primary_answered_no_validate_after_the_cut(self):
        self.assertEqual(self.old_answered, 0)

    def test_history_checks_clean(self):
        self.assertEqual(self.report.violations, [], self.report.explain())


class PartitionControlTest(PartitionTest):
    BARRIER = False
    PORTS = (15555, 15556, 15557)
    SEED = 43

    def test_old_primary_answered_no_validate_after_the_cut(self):
        self.assertGreater(self.old_answered, 0, "without the barrier the cut-off primary keeps answering")

    def test_history_checks_clean(self):
        self.assertGreater(self.report.count(STALE_VALID), 0,
                           "the control found no stale valid answer: the scenario cannot see the hazard")
        others = [v for v in self.report.violations if v.kind != STALE_VALID]
        self.assertEqual(others, [], "\n".join(str(v) for v in others[:10]))


@unittest.skipUnless(netns.available(), "network namespaces need root (ip netns)")
class AsynchronousFailoverControlTest(unittest.TestCase):
    PORTS = (15558, 15559)

    @classmethod
    def setUpClass(cls):
        cls.topology = topo = netns.Topology("async")
        cls.addClassCleanup(topo.remove)
        p_ns, s_ns, c_ns = topo.namespace("p"), topo.namespace("s"), topo.namespace("c")
        cls.replication = topo.link(p_ns, s_ns)
        to_p, to_s = topo.link(c_ns, p_ns), topo.link(c_ns, s_ns)
        p_port, s_port = cls.PORTS
        cls.primary = start_primary("it-partition-async-p", p_port, p_ns, CONF)
        cls.addClassCleanup(cls.primary.stop, "immediate")
        cls.standby = Cluster("it-partition-async-s", s_port, netns=s_ns)
        cls.addClassCleanup(cls.standby.stop_if_running)
        add_standby(cls.primary, cls.standby, CONF, host=cls.replication.address_in(p_ns), synchronous=False)
        client_dsn = dsn((to_p.address_in(p_ns), p_port), (to_s.address_in(s_ns), s_port))
        targets = []
        for _ in range(scaled(6, 12)):
            targets += [SideTarget("c", c_ns, SqlTarget(client_dsn)),
                        SideTarget("c", c_ns, SqlTarget(client_dsn, snapshot_age_ms=250))]
        cls.load = load = SidedLoad(targets, seed=47)
        load.prepare(cls.primary.conninfo(DATABASE))
        began = time.monotonic()
        load.start()
        try:
            time.sleep(PRE)
            # The standby falls behind (a cut link stands for replication lag); the primary,
            # with nothing to wait for, keeps acknowledging, then dies.
            topo.cut(cls.replication)
            time.sleep(1.5)
            cls.primary.kill9()
        finally:
            cls.stuck = load.stop()
        # What survived is read before anyone writes to the promoted standby: later attaches there
        # would reuse the lost numbers and hide the loss behind higher ones.
        cls.standby.promote()
        cls.stored = stored_generations(cls.standby.conninfo(DATABASE))
        cls.report = check(load.history, cls.stored)
        cls.lost = lost_acknowledgements(load.history, cls.stored)
        cls.summary = summary("failover control (asynchronous standby, kill -9, promote)", cls.report,
                              "1 (standby cut off 1.5 s, kill -9 of the primary, promote)",
                              time.monotonic() - began, load,
                              f"acknowledged then lost {cls.lost}, {kinds(cls.report)}")

    def test_acknowledged_generations_were_lost_and_reported(self):
        self.assertGreater(self.lost, 0, "the control lost nothing: it cannot show what a synchronous standby prevents")
        self.assertGreater(self.report.count(LOST), 0, "the checker did not report the lost acknowledgements")

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])


if __name__ == "__main__":
    unittest.main()
