"""A seeded chaos run over a Fleet: three nodes, several tenant shards, random writes,
checkpoints, compactions, deletion-queue flushes, clean and dirty migrations, a node frozen with
SIGSTOP while its shards move away (a zombie) and thawed later, kill -9 and restart (sometimes in
the middle of an upload). It ends by thawing everyone and running the checker.

The seed fixes every choice; the timing of a kill in mid-upload is the one thing left to the
machine, so two runs of one seed make the same requests in the same order but may cut an upload
at a different byte. Bounded by a number of operations and a wall-clock limit, whichever is first.
"""
import random
import time

from fleet import TIMELINE, in_background, tenant_id
from nodeproc import NodeError

TIMELINES = (TIMELINE, "0b1a2ea1e5b5a1d5b1a2ea1e5b5a1d5b")
TIMELINE_WEIGHTS = (4, 1)  # most traffic on one timeline, so layers pile up where nodes compete
KEYS = [f"k{i}" for i in range(12)]


class Chaos:
    def __init__(self, fleet, seed, nodes=3, tenants=4):
        self.f = fleet
        self.rng = random.Random(seed)
        self.nodes = [fleet.add_node() for _ in range(nodes)]
        # Two unsharded tenants and one tenant in two shards.
        ids = [tenant_id(100), tenant_id(101, (0, 2)), tenant_id(101, (1, 2)), tenant_id(102)]
        self.tenants = ids[:tenants]
        self.owner = {}    # tenant -> the node the controller last attached it to
        self.holders = {}  # tenant -> nodes that may still hold it (the owner and dirty-stale ones)
        self.outcomes = {}  # "operation status" -> count, for the run's log

    # --- choosing ------------------------------------------------------------------------------
    def timeline(self):
        return self.rng.choices(TIMELINES, TIMELINE_WEIGHTS)[0]

    def tally(self, what, resp):
        key = f"{what} {resp.status}"
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        return resp

    def live(self, exclude=()):
        return [n for n in self.nodes if n.alive() and not n.paused and n not in exclude]

    def some_holder(self, t):
        """Mostly the owner; sometimes a stale holder, as a client that was not told would."""
        candidates = [n for n in self.holders[t] if n.alive() and not n.paused]
        if not candidates:
            return None
        owner = self.owner[t]
        if owner in candidates and self.rng.random() < 0.5:
            return owner
        return self.rng.choice(sorted(candidates, key=lambda n: n.node_id))

    def lost(self, t, node):
        """The node answered 404 on one of t's routes: if it does not know the tenant any more
        (it restarted and dropped it) it is no longer a holder; a 404 for a timeline it never
        had is an ordinary answer."""
        if node.request("GET", f"/v1/tenant/{t}").status != 404:
            return
        self.holders[t].discard(node)
        if self.owner[t] is node and node.alive() and not node.paused:
            self.attach(t, node)

    def attach(self, t, node):
        self.f.attach(t, node)
        self.owner[t] = node
        self.holders[t].add(node)

    # --- the operations ------------------------------------------------------------------------
    def op_write(self):
        t = self.rng.choice(self.tenants)
        node = self.some_holder(t)
        if node is None:
            return
        keys = self.rng.sample(KEYS, self.rng.randint(1, 3))
        tl = self.timeline()
        resp = self.tally("write", self.f.write(node, t, self.f.records(node, len(keys), keys), timeline=tl,
                                                status=(200, 404, 409)))
        if resp.status == 404:
            self.lost(t, node)

    def op_checkpoint(self):
        t = self.rng.choice(self.tenants)
        node = self.some_holder(t)
        if node is None:
            return
        resp = self.tally("checkpoint", self.f.checkpoint(node, t, timeline=self.timeline(), status=(200, 404, 409)))
        if resp.status == 404:
            self.lost(t, node)

    def op_compact(self):
        t = self.rng.choice(self.tenants)
        node = self.some_holder(t)
        if node is None:
            return
        resp = self.tally("compact", self.f.compact(node, t, timeline=self.timeline(), status=(200, 404, 409)))
        if resp.status == 404:
            self.lost(t, node)

    def op_flush(self):
        nodes = self.live()
        if nodes:
            self.rng.choice(nodes).flush_deletions()

    def op_migrate_clean(self):
        t = self.rng.choice(self.tenants)
        old = self.owner[t]
        targets = self.live(exclude=(old,))
        if not (old.alive() and not old.paused and targets):
            return
        if old.request("GET", f"/v1/tenant/{t}").status != 200:
            return
        new = self.rng.choice(targets)
        self.f.migrate_clean(t, old, new)
        self.holders[t].discard(old)
        self.owner[t] = new
        self.holders[t].add(new)

    def op_migrate_dirty(self, t=None):
        t = t or self.rng.choice(self.tenants)
        targets = self.live(exclude=(self.owner[t],))
        if not targets:
            return
        new = self.rng.choice(targets)
        self.f.counts["migrations"] += 1
        self.attach(t, new)

    def op_zombie(self):
        """Freeze a node; the controller presumes it dead and moves its shards elsewhere."""
        if any(n.paused for n in self.nodes):
            return
        candidates = self.live()
        if len(candidates) < 2:
            return
        node = self.rng.choice(candidates)
        node.pause()
        for t in self.tenants:
            if self.owner[t] is node:
                self.op_migrate_dirty(t)

    def op_thaw(self):
        for node in self.nodes:
            if node.paused:
                node.resume()

    def op_kill(self):
        node = self.rng.choice(self.nodes)
        mid_upload = self.rng.random() < 0.5 and not node.paused
        t = next((t for t in self.tenants if self.owner[t] is node), None)
        if mid_upload and t is not None:
            self.f.write(node, t, self.f.records(node, 6, KEYS), status=(200, 404, 409))
            thread, _ = in_background(lambda: node.request(
                "POST", f"/v1/tenant/{t}/timeline/{TIMELINE}/checkpoint", timeout=30))
            time.sleep(self.rng.random() * 0.01)
            self.f.kill9(node)
            thread.join(30)
        else:
            self.f.kill9(node)
        node.start()
        # Re-attach returned what the database holds for it; it dropped the rest.
        for t in self.tenants:
            if self.owner[t] is not node:
                self.holders[t].discard(node)
            elif self.f.no_generations:
                self.attach(t, node)  # no re-attach without generations: the controller re-sends it

    # Mostly traffic, so layers pile up between migrations; a stale holder gets half of its
    # tenant's traffic (some_holder), which is what a split brain needs to do damage.
    WEIGHTS = {"op_write": 45, "op_checkpoint": 25, "op_compact": 8, "op_flush": 5, "op_migrate_clean": 3,
               "op_migrate_dirty": 3, "op_zombie": 1.5, "op_thaw": 2, "op_kill": 2.5}

    def run(self, operations, limit_seconds):
        for t in self.tenants:
            self.owner[t] = None
            self.holders[t] = set()
            self.attach(t, self.rng.choice(self.nodes))
        names = list(self.WEIGHTS)
        weights = [self.WEIGHTS[n] for n in names]
        deadline = time.monotonic() + limit_seconds
        steps = 0
        while steps < operations and time.monotonic() < deadline:
            self.attempt(getattr(self, self.rng.choices(names, weights)[0]))
            steps += 1
        self.f.counts["operations"] = steps
        self.op_thaw()
        # The end: every node uploads what it holds once more, in a seeded order, as its periodic
        # checkpoint would, and flushes its deletion queue.
        ends = [(t, n) for t in self.tenants for n in sorted(self.holders[t], key=lambda n: n.node_id)]
        self.rng.shuffle(ends)
        for t, node in ends:
            self.attempt(lambda: self.tally("checkpoint", self.f.checkpoint(node, t, status=(200, 404, 409))))
        for node in self.nodes:
            self.attempt(node.flush_deletions)
        return self.f.check()

    def attempt(self, operation):
        """Runs one operation. With generations every answer must be one docs/design.md allows (a
        NodeError fails the run); without, nodes work on a store the split brain broke, so a
        refused or failed request is an outcome of the control run, counted and carried past."""
        try:
            operation()
        except (NodeError, OSError) as e:
            if not self.f.no_generations:
                raise
            key = f"failed on the broken store ({type(e).__name__})"
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def summary(self, report):
        c = self.f.counts
        return (f"e2e: {c['operations']} operations, {c['migrations']} migrations, {c['kills']} kills, "
                f"violations {len(report.violations)}")
