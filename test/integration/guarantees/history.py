"""Histories of generation operations as clients saw them, and the checker of gencontrol's
guarantees over them: unique, ordered, durable generations and linearizable validates.

A history is a list of Op records. Times come from time.monotonic_ns() in the one process
that ran every client, taken before the request was sent and after the reply arrived. An op
whose reply was lost has outcome UNKNOWN: it may or may not have taken effect, at any time
after it was invoked. An op with outcome FAIL was refused by the server and took no effect.

check(ops, stored=None) returns a Report whose violations name one of the kinds below.
"""
import bisect
from collections import defaultdict
from dataclasses import dataclass, field

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"

ATTACH = "attach"                  # tenant, args {"node": n}; result: the new generation
RE_ATTACH = "re_attach"            # args {"node": n}; result: [(tenant, generation), ...]
VALIDATE = "validate"              # tenant, args {"gen": g}; result: True, False or None
VALIDATE_BATCH = "validate_batch"  # args {"pairs": [(tenant, g), ...]}; result: [valid per pair]

WRITES = (ATTACH, RE_ATTACH)

# The kinds of violation.
DUPLICATE = "duplicate_generation"          # one generation acknowledged twice for a shard
ORDER = "real_time_order"                   # acknowledged after another finished, yet not greater
STALE_VALID = "stale_validate_true"         # true for a generation superseded before it began
FALSE_INVALID = "validate_false_unsuperseded"  # false though nothing could have superseded it
PHANTOM_VALID = "validate_true_never_issued"   # true for a generation nobody could have issued
LOST = "acknowledged_generation_lost"       # stored generation below an acknowledged one

KINDS = (DUPLICATE, ORDER, STALE_VALID, FALSE_INVALID, PHANTOM_VALID, LOST)

INFINITY = float("inf")


@dataclass
class Op:
    client: str
    kind: str
    tenant: object            # the shard for attach and validate; None otherwise
    args: dict
    invoked: int              # monotonic ns before the request was sent
    completed: int = None     # monotonic ns after the reply arrived; None while unknown
    outcome: str = UNKNOWN
    result: object = None

    def describe(self):
        end = "?" if self.completed is None else self.completed
        return (f"{self.client} {self.kind}({self.tenant or ''} {self.args}) "
                f"[{self.invoked}..{end}] {self.outcome} -> {self.result}")


@dataclass
class Violation:
    kind: str
    tenant: str
    message: str
    ops: tuple = ()

    def __str__(self):
        lines = [f"{self.kind} on {self.tenant}: {self.message}"]
        lines += [f"    {op.describe()}" for op in self.ops]
        return "\n".join(lines)


@dataclass
class Report:
    operations: int = 0
    unknown: int = 0
    acknowledged: int = 0        # (shard, generation) pairs acknowledged by attach or re-attach
    validations: int = 0         # validate answers checked (batch entries count one each)
    decisive: int = 0            # of which only one answer was legal (the rest raced a writer)
    violations: list = field(default_factory=list)

    def count(self, kind):
        return sum(1 for v in self.violations if v.kind == kind)

    def explain(self, limit=20):
        shown = "\n".join(str(v) for v in self.violations[:limit])
        more = len(self.violations) - limit
        return shown + (f"\n... and {more} more" if more > 0 else "")


class _Acks:
    """One shard's acknowledged generations, indexed for 'completed before t' and
    'invoked before t' questions."""

    def __init__(self, acks):
        # acks: [(generation, op)]
        self.acks = acks
        by_completion = sorted(acks, key=lambda a: a[1].completed)
        self.completion_times = [op.completed for _, op in by_completion]
        self.max_completed = _prefix_max(by_completion)
        by_invocation = sorted(acks, key=lambda a: a[1].invoked)
        self.invocation_times = [op.invoked for _, op in by_invocation]
        self.max_invoked = _prefix_max(by_invocation)
        self.by_generation = defaultdict(list)
        for generation, op in acks:
            self.by_generation[generation].append(op)

    def highest_completed_before(self, t):
        """(generation, op) of the highest acknowledgement that completed before t, or None."""
        i = bisect.bisect_left(self.completion_times, t)
        return self.max_completed[i - 1] if i else None

    def highest_invoked_before(self, t):
        i = bisect.bisect_left(self.invocation_times, t)
        return self.max_invoked[i - 1] if i else None


def _prefix_max(acks):
    best, out = None, []
    for generation, op in acks:
        if best is None or generation > best[0]:
            best = (generation, op)
        out.append(best)
    return out


def acknowledgements(ops):
    """{tenant: [(generation, op)]} from every acknowledged attach and re-attach."""
    acks = defaultdict(list)
    for op in ops:
        if op.outcome != OK:
            continue
        if op.kind == ATTACH:
            acks[op.tenant].append((op.result, op))
        elif op.kind == RE_ATTACH:
            for tenant, generation in op.result:
                acks[tenant].append((generation, op))
    return acks


def lost_acknowledgements(ops, stored):
    """How many acknowledged (shard, generation) pairs are above the shard's stored generation."""
    return sum(1 for tenant, acks in acknowledgements(ops).items()
               for generation, _ in acks if generation > (stored.get(tenant) or 0))


def observations(ops):
    """[(tenant, generation, valid, op)] for every answered validate, batch entries included."""
    seen = []
    for op in ops:
        if op.outcome != OK:
            continue
        if op.kind == VALIDATE:
            seen.append((op.tenant, op.args["gen"], op.result, op))
        elif op.kind == VALIDATE_BATCH:
            for (tenant, generation), valid in zip(op.args["pairs"], op.result):
                seen.append((tenant, generation, valid, op))
    return seen


def _unknown_writers(ops):
    """{tenant: earliest invocation of an unknown-outcome op that may have changed it}.

    An unknown attach may have changed its shard; an unknown re-attach of node N may have
    changed any shard that was ever (possibly) attached to N."""
    on_node = defaultdict(set)
    for op in ops:
        if op.outcome == FAIL:
            continue
        if op.kind == ATTACH:
            on_node[op.args["node"]].add(op.tenant)
        elif op.kind == RE_ATTACH and op.outcome == OK:
            on_node[op.args["node"]].update(t for t, _ in op.result)
    earliest = {}
    for op in ops:
        if op.outcome != UNKNOWN or op.kind not in WRITES:
            continue
        tenants = [op.tenant] if op.kind == ATTACH else on_node[op.args["node"]]
        for tenant in tenants:
            if op.invoked < earliest.get(tenant, INFINITY):
                earliest[tenant] = op.invoked
    return earliest


def check(ops, stored=None):
    """Checks a history; `stored` ({tenant: generation} read at the end) adds the
    durability check that no acknowledged generation is above the stored one."""
    report = Report(operations=len(ops))
    report.unknown = sum(1 for op in ops if op.outcome == UNKNOWN)
    acks_by_tenant = acknowledgements(ops)
    index = {tenant: _Acks(acks) for tenant, acks in acks_by_tenant.items()}
    unknown_since = _unknown_writers(ops)
    out = report.violations

    for tenant, acks in acks_by_tenant.items():
        report.acknowledged += len(acks)
        shard = index[tenant]
        for generation, same in shard.by_generation.items():
            if len(same) > 1:
                out.append(Violation(DUPLICATE, tenant,
                                     f"generation {generation} acknowledged {len(same)} times",
                                     tuple(same)))
        for generation, op in acks:
            earlier = shard.highest_completed_before(op.invoked)
            if earlier and earlier[0] >= generation:
                out.append(Violation(ORDER, tenant,
                                     f"generation {generation} acknowledged by an op invoked after "
                                     f"generation {earlier[0]} was acknowledged",
                                     (earlier[1], op)))
        if stored is not None:
            top, op = max(acks, key=lambda a: a[0])
            have = stored.get(tenant)
            if have is None or have < top:
                out.append(Violation(LOST, tenant,
                                     f"generation {top} was acknowledged but {have} is stored", (op,)))

    for tenant, generation, valid, op in observations(ops):
        report.validations += 1
        shard = index.get(tenant)
        issued = shard.by_generation.get(generation, []) if shard else []
        # What the answer had to be, whatever it was: true is wrong if a newer generation was
        # acknowledged before the validate began, or if no operation begun before it answered
        # reached this generation. (An operation acknowledging g + 2 may have passed through
        # g + 1 on the way: a client that retries an attach internally skips one.)
        superseding = shard.highest_completed_before(op.invoked) if shard else None
        stale = superseding is not None and superseding[0] > generation
        begun = shard.highest_invoked_before(op.completed) if shard else None
        phantom = ((begun is None or begun[0] < generation)
                   and unknown_since.get(tenant, INFINITY) >= op.completed)
        # False is wrong if the generation was certainly issued before the validate began and
        # nothing (acknowledged or of unknown outcome) could have superseded it before it answered.
        certain = [a for a in issued if a.completed < op.invoked]
        newer = begun
        must_be_true = (bool(certain) and not (newer and newer[0] > generation)
                        and unknown_since.get(tenant, INFINITY) >= op.completed)
        if stale or phantom or must_be_true:
            report.decisive += 1
        if valid and stale:
            out.append(Violation(STALE_VALID, tenant,
                                 f"validate({generation}) answered true although generation "
                                 f"{superseding[0]} was acknowledged before it began",
                                 (superseding[1], op)))
        if valid and phantom:
            out.append(Violation(PHANTOM_VALID, tenant,
                                 f"validate({generation}) answered true but no operation that "
                                 f"could have issued it had begun", (op,)))
        if not valid and must_be_true:
            out.append(Violation(FALSE_INVALID, tenant,
                                 f"validate({generation}) answered {valid} although generation "
                                 f"{generation} was acknowledged before it began and nothing "
                                 f"could have superseded it", (certain[0], op)))
    return report
