"""The load generator: many concurrent clients attaching, re-attaching and validating a few
hot tenant shards and many cold ones, through SQL (psycopg2) and through the HTTP shim,
recording every operation as history.Op for the checker.

Each client is a thread with its own connection. A client reconnects after any error; an
operation whose reply was lost stays recorded with outcome UNKNOWN. GENCONTROL_LONG=1 (make
test-long) scales durations, clients and shard counts up through scaled().
"""
import http.client
import json
import os
import random
import threading
import time
from collections import Counter

import psycopg2

from history import ATTACH, FAIL, OK, RE_ATTACH, UNKNOWN, VALIDATE, VALIDATE_BATCH, Op

LONG = os.environ.get("GENCONTROL_LONG") == "1"


def scaled(normal, long):
    return long if LONG else normal


def make_tenants(count, seed):
    """Deterministic tenant shard ids; every third one is sharded (e.g. '...-0102')."""
    rng = random.Random(seed)
    ids = []
    for i in range(count):
        tenant = f"{rng.getrandbits(128):032x}"
        if i % 3 == 1:
            shard_count = rng.choice([2, 4, 8])
            tenant += f"-{rng.randrange(shard_count):02x}{shard_count:02x}"
        ids.append(tenant)
    return ids


class Refused(Exception):
    """The server refused the operation: it took no effect."""


# SQLSTATE classes whose errors mean the statement was refused and rolled back, with the
# connection intact. Anything else (connection loss, admin shutdown, crash) leaves the
# outcome unknown: a commit may have happened before the reply was lost.
DEFINITE_SQLSTATE_CLASSES = ("22", "23", "25", "40", "42", "55", "P0")


class SqlSession:
    """A client connection through libpq; `dsn` may list several hosts.

    With snapshot_age_ms, validates run inside a REPEATABLE READ transaction whose snapshot
    is up to that old, as a caller batching reads in one transaction would: gen_validate must
    still answer from the latest committed state (docs/design.md, guarantee 3)."""

    def __init__(self, dsn, snapshot_age_ms=0):
        self.conn = psycopg2.connect(dsn, connect_timeout=3)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.snapshot_age = snapshot_age_ms / 1000
        self.snapshot_taken = None

    def _run(self, sql, args=None):
        try:
            self.cur.execute(sql, args)
            return self.cur.fetchall()
        except psycopg2.Error as e:
            if e.pgcode and e.pgcode[:2] in DEFINITE_SQLSTATE_CLASSES and not self.conn.closed:
                if self.snapshot_taken is not None:
                    self.snapshot_taken = None
                    self.cur.execute("ROLLBACK")
                raise Refused(f"{e.pgcode}: {e.pgerror.strip() if e.pgerror else e}") from e
            raise

    def _old_snapshot(self):
        if not self.snapshot_age:
            return
        if self.snapshot_taken is not None and time.monotonic() - self.snapshot_taken > self.snapshot_age:
            self._no_snapshot()
        if self.snapshot_taken is None:
            self.cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            self._run("SELECT 1")  # the transaction's snapshot is taken here
            self.snapshot_taken = time.monotonic()

    def _no_snapshot(self):
        if self.snapshot_taken is not None:
            self.snapshot_taken = None
            self.cur.execute("COMMIT")

    def attach(self, tenant, node):
        self._no_snapshot()
        return self._run("SELECT gencontrol.gen_attach(%s, %s)", (tenant, node))[0][0]

    def re_attach(self, node):
        self._no_snapshot()
        rows = self._run("SELECT tenant::text, generation FROM gencontrol.gen_re_attach(%s) "
                         "WHERE mode = 'AttachedSingle'", (node,))
        return [(tenant, generation) for tenant, generation in rows]

    def validate(self, tenant, generation):
        self._old_snapshot()
        return self._run("SELECT gencontrol.gen_validate(%s, %s)", (tenant, generation))[0][0]

    def validate_batch(self, pairs):
        self._old_snapshot()
        rows = self._run("SELECT tenant::text, valid FROM gencontrol.gen_validate("
                         "%s::gencontrol.tenant_shard_id[], %s::integer[])",
                         ([t for t, _ in pairs], [g for _, g in pairs]))
        answers = dict(rows)
        return [answers.get(t) for t, _ in pairs]

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


class HttpSession:
    """A keep-alive HTTP connection to the shim."""

    def __init__(self, host, port):
        self.conn = http.client.HTTPConnection(host, port, timeout=20)
        self.conn.connect()

    def _post(self, path, body):
        self.conn.request("POST", path, body=json.dumps(body),
                          headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status == 200:
            return json.loads(data)
        # 4xx: the shim rejected the request before touching the database. 5xx (503 while
        # the database is away): the outcome is unknown, the session is dropped.
        if 400 <= response.status < 500:
            raise Refused(f"HTTP {response.status}: {data[:200]!r}")
        raise ConnectionError(f"HTTP {response.status}: {data[:200]!r}")

    def attach(self, tenant, node):
        return self._post("/debug/v1/attach-hook", {"tenant_shard_id": tenant, "node_id": node})["gen"]

    def re_attach(self, node):
        reply = self._post("/upcall/v1/re-attach", {"node_id": node})
        return [(t["id"], t["gen"]) for t in reply["tenants"] if t.get("mode") == "AttachedSingle"]

    def validate(self, tenant, generation):
        return self.validate_batch([(tenant, generation)])[0]

    def validate_batch(self, pairs):
        reply = self._post("/upcall/v1/validate",
                           {"tenants": [{"id": t, "gen": g} for t, g in pairs]})
        answers = {t["id"]: t["valid"] for t in reply["tenants"]}
        return [answers.get(t) for t, _ in pairs]

    def close(self):
        self.conn.close()


class SqlTarget:
    def __init__(self, dsn, snapshot_age_ms=0):
        self.dsn, self.snapshot_age_ms = dsn, snapshot_age_ms
        self.kind = "sql-rr" if snapshot_age_ms else "sql"

    def connect(self):
        return SqlSession(self.dsn, self.snapshot_age_ms)


class HttpTarget:
    kind = "http"

    def __init__(self, host, port):
        self.host, self.port = host, port

    def connect(self):
        return HttpSession(self.host, self.port)


def standard_targets(dsn, shim_port=None):
    """The client mix of every scenario: per four clients, two plain SQL, one SQL validating
    from an old REPEATABLE READ snapshot, and one through the shim (SQL when it is not built)."""
    last = HttpTarget("127.0.0.1", shim_port) if shim_port else SqlTarget(dsn)
    return [SqlTarget(dsn), SqlTarget(dsn, snapshot_age_ms=250), SqlTarget(dsn), last]


class Load:
    """`clients` threads spread over `targets`, running until stop()."""

    # Operation mix: cumulative probabilities.
    MIX = ((0.30, ATTACH), (0.34, RE_ATTACH), (0.70, VALIDATE), (1.00, VALIDATE_BATCH))
    HOT_SHARE = 0.7

    def __init__(self, targets, clients=None, hot=None, cold=None, nodes=6, seed=1):
        self.targets = targets
        self.clients = clients or scaled(32, 64)
        self.hot = make_tenants(hot or scaled(4, 8), seed * 1000 + 1)
        self.cold = make_tenants(cold or scaled(200, 1000), seed * 1000 + 2)
        self.tenants = self.hot + self.cold
        self.nodes = list(range(1, nodes + 1))
        self.seed = seed
        self.histories = [[] for _ in range(self.clients)]
        self.setup_history = []
        self.latest = {}
        self.latest_lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.connect_failures = Counter()
        self.errors = Counter()  # first words of error messages, to explain an unhealthy run
        self.started = self.stopped = None

    # --- set-up -------------------------------------------------------------------------
    def prepare(self, dsn):
        """Registers the nodes and attaches every shard once, through SQL; recorded."""
        rng = random.Random(self.seed)
        session = SqlSession(dsn)
        try:
            for node in self.nodes:
                session._run("SELECT gencontrol.node_register(%s, 'localhost', %s, 'localhost', %s, "
                             "'az-1') IS NULL", (node, 9898 + node, 6400 + node))
            for tenant in self.tenants:
                node = rng.choice(self.nodes)
                op = Op("setup", ATTACH, tenant, {"node": node}, time.monotonic_ns())
                op.result = session.attach(tenant, node)
                op.completed, op.outcome = time.monotonic_ns(), OK
                self.setup_history.append(op)
                self.latest[tenant] = op.result
        finally:
            session.close()

    # --- running ------------------------------------------------------------------------
    def start(self):
        self.started = time.monotonic()
        for i in range(self.clients):
            target = self.targets[i % len(self.targets)]
            name = f"{target.kind}-{i:02d}"
            thread = threading.Thread(target=self._client, args=(i, name, target), name=name,
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout=60):
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.stopped = time.monotonic()
        stuck = [t.name for t in self.threads if t.is_alive()]
        return stuck

    def run_for(self, seconds):
        self.start()
        time.sleep(seconds)
        return self.stop()

    @property
    def history(self):
        """Every operation; ones still in flight at stop() stay UNKNOWN."""
        ops = list(self.setup_history)
        for h in self.histories:
            ops.extend(h)
        return ops

    def outcomes(self, client_kind=None, since_ns=0):
        counts = Counter()
        for op in self.history:
            if client_kind and op.client.rsplit("-", 1)[0] != client_kind:
                continue
            if op.invoked >= since_ns:
                counts[op.outcome] += 1
        return counts

    # --- one client ---------------------------------------------------------------------
    def _seen(self, tenant, generation):
        with self.latest_lock:
            latest = self._latest()
            if generation > latest.get(tenant, 0):
                latest[tenant] = generation

    def _pick_tenant(self, rng):
        pool = self.hot if rng.random() < self.HOT_SHARE else self.cold
        return rng.choice(pool)

    def _latest(self):
        """The newest generation seen per tenant, as the calling client knows it (a subclass may
        keep one view per side of a partition)."""
        return self.latest

    def _pick_generation(self, rng, tenant):
        latest = self._latest().get(tenant, 1)
        r = rng.random()
        if r < 0.6:
            return latest
        if r < 0.8:
            return max(1, latest - 1)
        return max(1, latest - rng.randrange(1, 5))

    def _next_op(self, rng, name):
        r = rng.random()
        kind = next(k for p, k in self.MIX if r < p)
        if kind == ATTACH:
            return Op(name, kind, self._pick_tenant(rng), {"node": rng.choice(self.nodes)}, 0)
        if kind == RE_ATTACH:
            return Op(name, kind, None, {"node": rng.choice(self.nodes)}, 0)
        if kind == VALIDATE:
            tenant = self._pick_tenant(rng)
            return Op(name, kind, tenant, {"gen": self._pick_generation(rng, tenant)}, 0)
        chosen = rng.sample(self.hot, rng.randrange(1, len(self.hot) + 1))
        chosen += rng.sample(self.cold, rng.randrange(1, 24))
        rng.shuffle(chosen)
        return Op(name, kind, None, {"pairs": [(t, self._pick_generation(rng, t)) for t in chosen]}, 0)

    @staticmethod
    def _perform(session, op):
        if op.kind == ATTACH:
            return session.attach(op.tenant, op.args["node"])
        if op.kind == RE_ATTACH:
            return session.re_attach(op.args["node"])
        if op.kind == VALIDATE:
            return session.validate(op.tenant, op.args["gen"])
        return session.validate_batch(op.args["pairs"])

    def _client(self, index, name, target):
        rng = random.Random(self.seed * 7919 + index)
        ops = self.histories[index]
        session = None
        while not self.stopping.is_set():
            if session is None:
                try:
                    session = target.connect()
                except Exception as e:
                    self.connect_failures[type(e).__name__] += 1
                    time.sleep(0.05)
                    continue
            op = self._next_op(rng, name)
            # Recorded before the call, so an op still in flight at the end counts as UNKNOWN.
            ops.append(op)
            op.invoked = time.monotonic_ns()
            try:
                result = self._perform(session, op)
                op.completed = time.monotonic_ns()
                op.result, op.outcome = result, OK
            except Refused as e:
                op.completed = time.monotonic_ns()
                op.result, op.outcome = str(e), FAIL
                self.errors[str(e)[:60]] += 1
                continue
            except Exception as e:
                op.result, op.outcome = repr(e), UNKNOWN
                self.errors[repr(e)[:60]] += 1
                session.close()
                session = None
                # Back off as a pageserver does, rather than spin on a server that is away.
                time.sleep(rng.uniform(0.02, 0.1))
                continue
            if op.kind == ATTACH:
                self._seen(op.tenant, result)
            elif op.kind == RE_ATTACH:
                for tenant, generation in result:
                    self._seen(tenant, generation)
        if session is not None:
            session.close()


def stored_generations(dsn):
    """{tenant: generation} as the database holds it now."""
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id::text, generation FROM gencontrol.tenant_shards")
            return dict(cur.fetchall())
    finally:
        conn.close()


def summary(scenario, report, faults, seconds, load=None, extra=""):
    """The one line per scenario the issue asks for."""
    line = (f"guarantees: {scenario}: operations checked {report.operations}, "
            f"acknowledged generations {report.acknowledged}, "
            f"validations {report.validations} ({report.decisive} decisive), "
            f"unknown outcomes {report.unknown}, faults injected {faults}, "
            f"violations {len(report.violations)}, run time {seconds:.1f} s")
    if load is not None:
        kinds = sorted({t.kind for t in load.targets})
        clients = " + ".join(
            f"{sum(1 for i in range(load.clients) if load.targets[i % len(load.targets)].kind == k)} {k}"
            for k in kinds)
        outcomes = "; ".join(f"{k} " + " ".join(f"{o} {n}" for o, n in sorted(load.outcomes(k).items()))
                             for k in kinds)
        line += f", clients {clients} ({outcomes})"
    if extra:
        line += f", {extra}"
    print("\n" + line, flush=True)
    return line
