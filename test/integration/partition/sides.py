"""Clients on both sides of a partition, in one load generator: each client thread moves into
its side's network namespace before it connects, and each side keeps its own view of the
latest generations, so a zombie node validates what its side of the partition last saw.

A target's kind names its side ("old-sql", "new-sql-rr", "old-http-validate"); Load's
per-kind outcome counts and the summary line then tell the sides apart.
"""
import threading
from collections import defaultdict

import netns
from history import OK, VALIDATE, VALIDATE_BATCH
from load import Load
from shimproc import Shim


# Client-side failure detection: a connection to a primary behind a cut link fails within a few
# seconds (keepalives while waiting, tcp_user_timeout while sending) instead of TCP's minutes.
CLIENT_TIMEOUTS = ("connect_timeout=2 keepalives=1 keepalives_idle=1 keepalives_interval=1 "
                   "keepalives_count=2 tcp_user_timeout=2000")
# A zombie node gives up on a validate after half a second (a pageserver retries forever).
ZOMBIE_OPTIONS = "options='-c statement_timeout=500'"

VALIDATES = (VALIDATE, VALIDATE_BATCH)


class SideTarget:
    """A load target whose client threads live in `namespace`. validate_only clients stand for
    zombie storage nodes: they never attach, they only ask whether they may still delete."""

    def __init__(self, side, namespace, inner, validate_only=False):
        self.side, self.namespace, self.inner = side, namespace, inner
        self.validate_only = validate_only
        self.kind = f"{side}-{inner.kind}" + ("-validate" if validate_only else "")

    def connect(self):
        netns.enter(self.namespace)
        return self.inner.connect()


def side_of(client_name):
    return client_name.split("-", 1)[0]


class SidedLoad(Load):
    def __init__(self, targets, **kwargs):
        super().__init__(targets, clients=len(targets), **kwargs)
        self.latest_by_side = defaultdict(dict)

    def prepare(self, dsn):
        super().prepare(dsn)
        for target in self.targets:
            self.latest_by_side[target.side] = dict(self.latest)

    def _latest(self):
        # Each side sees only the generations its own clients were given.
        return self.latest_by_side[side_of(threading.current_thread().name)]

    def _next_op(self, rng, name):
        op = super()._next_op(rng, name)
        if "-validate-" in name:
            while op.kind not in (VALIDATE, VALIDATE_BATCH):
                op = super()._next_op(rng, name)
        return op


class NamespacedShim(Shim):
    """gencontrol-http running in a network namespace; the test talks to it from a thread there."""

    def __init__(self, namespace, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.namespace = namespace

    def argv(self):
        return ["ip", "netns", "exec", self.namespace] + super().argv()

    def request(self, *args, **kwargs):
        return netns.call_in(self.namespace, lambda: Shim.request(self, *args, **kwargs))


def kinds(report):
    """Violations by kind, for the summary line."""
    found = {v.kind for v in report.violations}
    return "violations by kind: " + (", ".join(f"{k} {report.count(k)}" for k in sorted(found)) or "none")


def count(ops, since=0, until=float("inf"), side=None, kinds=VALIDATES, outcome=None):
    """How many operations of `kinds` a side invoked in [since, until), with that outcome."""
    return sum(1 for op in ops
               if op.kind in kinds and since <= op.invoked < until
               and (side is None or side_of(op.client) == side)
               and (outcome is None or op.outcome == outcome))


def first_write(ops, since, side):
    """When the first attach or re-attach a side invoked at or after `since` was acknowledged."""
    done = [op.completed for op in ops
            if op.kind in ("attach", "re_attach") and op.outcome == OK and op.invoked >= since
            and side_of(op.client) == side]
    return min(done) if done else None
