"""The partition of test_partition.py under Patroni: three etcd members, three Patroni-managed
PostgreSQL nodes with synchronous_mode_strict, every member in its own network namespace on
one bridge. (With two nodes, strict mode would block every commit of the new leader until the
old one is rebuilt; with three, the remaining replica becomes its synchronous standby.)

Under load the leader is isolated from etcd and from the other nodes (its port on the bridge is
cut) while zombie clients on a link of their own still reach it. Patroni promotes the
synchronous standby once the leader key expires, the third node becomes its synchronous
standby, and the new side's clients follow. Then the bridge port heals and the old leader is
stopped. No acknowledged generation may be lost and no validate may answer true for a
superseded generation; the time until the new leader served its first write after the cut is
reported.

With ttl 10, loop_wait 1 and retry_timeout 3, the isolated leader's Patroni demotes its
PostgreSQL about retry_timeout after it lost etcd, before the leader key expires: Patroni's own
timing keeps the two primaries apart. The read barrier is what still holds if that timing
fails (a paused VM, a hung Patroni): until the demotion, the isolated leader's validates block.
make test-long only.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "guarantees"), os.path.dirname(HERE)]

import psutil  # noqa: E402

import netns  # noqa: E402
from harness import DATABASE  # noqa: E402
from history import FALSE_INVALID, LOST, OK, STALE_VALID, check, lost_acknowledgements  # noqa: E402
from load import LONG, SqlTarget, scaled, stored_generations, summary  # noqa: E402
from patroni_cluster import ETCD, PATRONI, _kill_leftovers, _stop_process  # noqa: E402
from pgcluster import BASE, PG_BIN, Cluster, ensure_base  # noqa: E402
from sides import CLIENT_TIMEOUTS, ZOMBIE_OPTIONS, SideTarget, SidedLoad, count, kinds  # noqa: E402

SCOPE = "gencontrol-partition"
PG_PORT, REST_PORT, ETCD_CLIENT, ETCD_PEER = 5432, 8008, 2379, 2380  # each in its own namespace
ETCD_HOSTS = (1, 2, 3)
NODE_HOSTS = (11, 12, 13)
CLIENT_HOST = 20
PRE, PARTITION, AFTER = scaled(3, 10), scaled(20, 40), scaled(2, 10)
OVERLAP = 8  # seconds both leaders serve after the new one's first write


def address(host):
    return f"198.18.0.{host}"


class EtcdMember:
    def __init__(self, namespace, host, tag):
        self.namespace, self.host = namespace, host
        self.name = f"etcd{host}"
        self.root = os.path.join(BASE, f"it-partition-{tag}-{self.name}")
        self.logfile = os.path.join(self.root, "etcd.log")
        self.process = None

    def start(self):
        ensure_base()
        _kill_leftovers("etcd", os.path.join(self.root, "data"))
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        client, peer = f"http://{address(self.host)}:{ETCD_CLIENT}", f"http://{address(self.host)}:{ETCD_PEER}"
        cluster = ",".join(f"etcd{h}=http://{address(h)}:{ETCD_PEER}" for h in ETCD_HOSTS)
        with open(self.logfile, "wb") as log:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, ETCD, "--name", self.name,
                 "--data-dir", os.path.join(self.root, "data"), "--listen-client-urls", client,
                 "--advertise-client-urls", client, "--listen-peer-urls", peer,
                 "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
                 "--initial-cluster-state", "new", "--initial-cluster-token", SCOPE, "--enable-v2=true"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def stop(self):
        _stop_process(self.process)


class PatroniMember:
    """One Patroni daemon and its PostgreSQL, both inside `namespace`."""

    def __init__(self, namespace, host, viewer, tag, barrier=True):
        self.namespace, self.host, self.viewer = namespace, host, viewer
        self.barrier = barrier
        self.name = f"it-partition-{tag}-pg{host}"
        self.cluster = Cluster(self.name, PG_PORT)
        self.root = self.cluster.root
        self.config_path = os.path.join(self.root, "patroni.yml")
        self.logfile = os.path.join(self.root, "patroni.log")
        self.process = None

    def config(self):
        me = address(self.host)
        return {
            "scope": SCOPE, "name": self.name,
            "restapi": {"listen": f"{me}:{REST_PORT}", "connect_address": f"{me}:{REST_PORT}"},
            "etcd3": {"hosts": [f"{address(h)}:{ETCD_CLIENT}" for h in ETCD_HOSTS]},
            "bootstrap": {
                "dcs": {
                    # ttl >= loop_wait + 2 * retry_timeout; failover about ttl s after the leader
                    # stops renewing its key.
                    "ttl": 10, "loop_wait": 1, "retry_timeout": 3,
                    "maximum_lag_on_failover": 1048576,
                    # Only the synchronous standby may be promoted, and with strict mode commits
                    # wait even when no standby is left, instead of running on one disk.
                    "synchronous_mode": True, "synchronous_mode_strict": True,
                    "postgresql": {
                        # A replica that received WAL the promoted standby never had is rewound.
                        "use_pg_rewind": True,
                        "parameters": {"synchronous_commit": "on", "wal_level": "replica", "hot_standby": "on",
                                       "max_wal_senders": 10, "max_replication_slots": 10,
                                       "wal_keep_size": "256MB", "max_connections": 200,
                                       "gencontrol.validate_read_barrier": "on" if self.barrier else "off"},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, {"auth": "trust"}],
            },
            "postgresql": {
                # Its own namespace: its bridge address, the zombies' link and loopback.
                "listen": f"0.0.0.0:{PG_PORT}", "connect_address": f"{me}:{PG_PORT}",
                "data_dir": self.cluster.data, "bin_dir": PG_BIN,
                "pgpass": os.path.join(self.root, "pgpass"),
                "authentication": {"superuser": {"username": "postgres"},
                                   "replication": {"username": "postgres"}},
                "parameters": {"unix_socket_directories": self.cluster.sockdir, "shared_buffers": "128MB",
                               "fsync": "on", "log_min_messages": "warning"},
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust", "host all all 198.18.0.0/15 trust",
                           "local replication all trust", "host replication all 198.18.0.0/15 trust"],
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
        }

    def start(self):
        ensure_base()
        _kill_leftovers("patroni", self.config_path)
        self.cluster.stop_if_running()
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.cluster.sockdir)
        with open(self.config_path, "w") as f:
            json.dump(self.config(), f, indent=1)
        argv = ["ip", "netns", "exec", self.namespace]
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", self.root], check=True)
            argv += ["runuser", "-u", "postgres", "--"]
        env = dict(os.environ, HOME="/var/lib/postgresql") if os.geteuid() == 0 else None
        with open(self.logfile, "wb") as log:
            self.process = subprocess.Popen(argv + [PATRONI, self.config_path], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.root, env=env)
        return self

    def rest(self, path):
        """GET on this member's REST API, from the viewer namespace (the new side's)."""
        def get():
            import http.client
            try:
                conn = http.client.HTTPConnection(address(self.host), REST_PORT, timeout=2)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
                return status
            except OSError:
                return None
        return netns.call_in(self.viewer, get)

    def is_primary(self):
        return self.rest("/primary") == 200

    def _patroni_processes(self):
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [p for p in [root] + root.children(recursive=True)
                    if any(PATRONI in arg for arg in p.cmdline()[:2])]
        except psutil.Error:
            return []

    def hang(self):
        """Stops the Patroni daemon (SIGSTOP), as a paused VM or a hung process would: it
        neither renews nor gives up leadership, and never demotes its PostgreSQL."""
        for process in self._patroni_processes():
            process.send_signal(signal.SIGSTOP)

    def resume(self):
        for process in self._patroni_processes():
            process.send_signal(signal.SIGCONT)

    def is_sync_standby(self):
        return self.rest("/sync") == 200

    def stop(self):
        _stop_process(self.process, timeout=40)
        self.cluster.stop_if_running()

    def log_tail(self, lines=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def wait_for(predicate, timeout, what, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log()}")


@unittest.skipUnless(LONG, "make test-long only (GENCONTROL_LONG=1): nine processes and a minute of set-up")
@unittest.skipUnless(netns.available() and os.access(PATRONI, os.X_OK) and os.access(ETCD, os.X_OK),
                     "needs root (ip netns), patroni and etcd-server (scripts/bootstrap.sh)")
class PatroniPartitionTest(unittest.TestCase):
    TAG = "patroni"
    BARRIER = True
    HANG = False  # whether the isolated leader's Patroni hangs (SIGSTOP) at the cut

    @classmethod
    def setUpClass(cls):
        cls.topology = topo = netns.Topology(cls.TAG)
        cls.addClassCleanup(topo.remove)
        switch = topo.switch("sw")
        etcd_ns = [topo.namespace(f"e{h}") for h in ETCD_HOSTS]
        node_ns = [topo.namespace(f"n{h}") for h in NODE_HOSTS]
        new_ns, old_ns = topo.namespace("new"), topo.namespace("old")
        for ns, h in zip(etcd_ns, ETCD_HOSTS):
            topo.plug(switch, ns, h)
        cls.ports = [topo.plug(switch, ns, h) for ns, h in zip(node_ns, NODE_HOSTS)]
        topo.plug(switch, new_ns, CLIENT_HOST)
        cls.zombie_link = topo.link(old_ns, node_ns[0])

        cls.etcd = [EtcdMember(ns, h, cls.TAG) for ns, h in zip(etcd_ns, ETCD_HOSTS)]
        for member in cls.etcd:
            cls.addClassCleanup(member.stop)
            member.start()
        wait_for(lambda: all(netns.call_in(new_ns, lambda h=h: _health(h)) for h in ETCD_HOSTS), 60,
                 "the three etcd members to be healthy")
        cls.nodes = [PatroniMember(ns, h, new_ns, cls.TAG, cls.BARRIER) for ns, h in zip(node_ns, NODE_HOSTS)]
        first = cls.nodes[0]
        for node in reversed(cls.nodes):
            cls.addClassCleanup(node.stop)
        first.start()
        cls.addClassCleanup(first.resume)  # runs before the stops: a stopped Patroni ignores SIGTERM
        wait_for(first.is_primary, 90, "the first node to lead", first.log_tail)
        for node in cls.nodes[1:]:
            node.start()
        wait_for(lambda: all(n.rest("/replica") == 200 for n in cls.nodes[1:]), 180,
                 "the other nodes to replicate", lambda: cls.nodes[1].log_tail() + cls.nodes[2].log_tail())
        wait_for(lambda: any(n.is_sync_standby() for n in cls.nodes[1:]), 60, "a synchronous standby")
        cls.leader = first
        cls.sync = next(n for n in cls.nodes[1:] if n.is_sync_standby())
        first.cluster.create_database(DATABASE, ["gencontrol"])
        cls.settings = first.cluster.psql("SELECT current_setting('synchronous_standby_names')")

        new_dsn = (f"host={','.join(address(h) for h in NODE_HOSTS)} port={','.join([str(PG_PORT)] * 3)} "
                   f"dbname={DATABASE} user=postgres target_session_attrs=read-write {CLIENT_TIMEOUTS}")
        old_dsn = (f"host={cls.zombie_link.address_in(node_ns[0])} port={PG_PORT} dbname={DATABASE} "
                   f"user=postgres {CLIENT_TIMEOUTS} {ZOMBIE_OPTIONS}")
        targets = []
        for _ in range(scaled(6, 12)):
            targets += [SideTarget("new", new_ns, SqlTarget(new_dsn)),
                        SideTarget("new", new_ns, SqlTarget(new_dsn, snapshot_age_ms=250))]
        targets += [SideTarget("old", old_ns, SqlTarget(old_dsn), validate_only=True)] * scaled(6, 12)
        targets += [SideTarget("old", old_ns, SqlTarget(old_dsn))] * scaled(2, 4)
        cls.load = SidedLoad(targets, seed=53)
        cls.run_scenario()

    @classmethod
    def run_scenario(cls):
        load, topo = cls.load, cls.topology
        leader, standby = cls.leader, cls.sync
        load.prepare(leader.cluster.conninfo(DATABASE))
        began = time.monotonic()
        load.start()
        try:
            time.sleep(PRE)
            topo.cut(cls.ports[0])  # the leader loses etcd, the standby and the new side
            cls.cut_at = time.monotonic_ns()
            if cls.HANG:
                leader.hang()
            wait_for(standby.is_primary, 60, "Patroni to promote the synchronous standby", standby.log_tail)
            cls.promoted_at = time.monotonic_ns()

            def first_write_after(t):
                writes = [op.completed for op in load.history
                          if op.kind in ("attach", "re_attach") and op.outcome == OK and op.invoked >= t
                          and op.client.startswith("new")]
                return min(writes) if writes else None
            wait_for(lambda: first_write_after(cls.promoted_at) is not None, 30, "a write on the new leader")
            cls.serving_seconds = (first_write_after(cls.promoted_at) - cls.cut_at) / 1e9
            # Both leaders serve for a while: OVERLAP at least, PARTITION in all.
            time.sleep(max(OVERLAP, PARTITION - (time.monotonic_ns() - cls.cut_at) / 1e9))
            topo.heal(cls.ports[0])
            cls.healed_at = time.monotonic_ns()
            time.sleep(0.5)
            leader.resume()
            leader.stop()  # the old leader is fenced
            cls.fenced_at = time.monotonic_ns()
            time.sleep(AFTER)
        finally:
            cls.stuck = load.stop()
        ops = load.history
        cls.stored = stored_generations(standby.cluster.conninfo(DATABASE))
        cls.report = check(ops, cls.stored)
        cls.lost = lost_acknowledgements(ops, cls.stored)
        cls.old_answered_after_promotion = count(ops, since=cls.promoted_at, until=cls.fenced_at, side="old",
                                                 outcome=OK)
        label = ("partition (Patroni + 3 etcd, synchronous_mode_strict, leader isolated"
                 + (", its Patroni hung" if cls.HANG else "")
                 + (", read barrier on)" if cls.BARRIER else ", read barrier off (control))"))
        summary(label, cls.report,
                f"1 (leader's bridge port cut {PARTITION} s, healed, old leader stopped)", time.monotonic() - began,
                load, f"stale valid answers {cls.report.count(STALE_VALID)}, acknowledged then lost {cls.lost}, "
                      f"new leader served its first write {cls.serving_seconds:.1f} s after the cut, "
                      f"old leader's validates answered after the promotion {cls.old_answered_after_promotion}, "
                      f"{kinds(cls.report)}")

    def test_settings(self):
        self.assertEqual(self.settings, f'"{self.sync.name}"')

    def test_nothing_acknowledged_was_lost(self):
        self.assertEqual(self.lost, 0)
        self.assertEqual(self.report.count(LOST), 0, self.report.explain())

    def test_history_checks_clean(self):
        self.assertEqual(self.report.violations, [], self.report.explain())

    def test_old_leader_answered_no_validate_after_the_promotion(self):
        self.assertEqual(self.old_answered_after_promotion, 0)

    def test_new_side_was_served(self):
        self.assertGreater(count(self.load.history, since=self.promoted_at, side="new", outcome=OK,
                                 kinds=("validate", "validate_batch", "attach", "re_attach")), 100)

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])


class PatroniHungLeaderTest(PatroniPartitionTest):
    """The same, with the isolated leader's Patroni hung from the cut on: it never demotes its
    PostgreSQL, so two primaries serve at once and only the read barrier keeps the old one's
    validates from answering."""
    TAG = "patroni-hung"
    HANG = True


class PatroniHungLeaderControlTest(PatroniHungLeaderTest):
    """The control: the hung leader without the barrier answers stale valid: true."""
    TAG = "patroni-ctl"
    BARRIER = False

    def test_history_checks_clean(self):
        self.assertGreater(self.report.count(STALE_VALID), 0,
                           "the control found no stale valid answer: the scenario cannot see the hazard")
        # Once the cut heals, the new side reaches the hung old leader too (its connection string
        # lists every node and takes the first read-write one, and a connection held across the
        # cut resumes), and that leader serves until it is stopped. Without the barrier it answers
        # false as readily as true for what only the new leader issued: a validate that ended
        # after the heal and began before the fence may be such a stale false. Anything else is
        # a real violation.
        def stale_false_after_the_heal(v):
            validate = v.ops[-1]
            return (v.kind == FALSE_INVALID and validate.completed is not None
                    and validate.completed >= self.healed_at and validate.invoked < self.fenced_at)
        others = [v for v in self.report.violations if v.kind != STALE_VALID and not stale_false_after_the_heal(v)]
        self.assertEqual(others, [], "\n".join(str(v) for v in others[:10]))

    def test_old_leader_answered_no_validate_after_the_promotion(self):
        self.assertGreater(self.old_answered_after_promotion, 0)


def _health(host):
    status, body = _http_get_at(address(host), ETCD_CLIENT, "/health")
    return status == 200 and body and body.get("health") in ("true", True)


def _http_get_at(host, port, path):
    import http.client
    try:
        conn = http.client.HTTPConnection(host, port, timeout=2)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, None
    except OSError:
        return None, None


if __name__ == "__main__":
    unittest.main()
