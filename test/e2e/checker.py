#!/usr/bin/python3
"""The object-store checker: reads only a store's files and reports breaches of docs/design.md's
properties 1-4 (restorable, durable, fenced, ordered), for stores with or without generations.

    checker.py STORE [--acks FILE] [--json]

STORE is the directory given to gencontrol-node as --remote-storage. FILE holds the records some
node acknowledged as visible, one JSON object a line: {"tenant_shard_id", "timeline_id", "lsn",
"key", "value"} (lsn: the write's answer, an upper bound when a write carried several records).
Prints one line per violation, then `checker: N timelines, N indexes, N layers, N acknowledged
records, violations N`; exits 1 when there is a violation, 2 when STORE is not a store.
"""
import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field

RESTORABLE = "restorable"  # 1: the highest index lists a layer that is missing or not what it recorded
DURABLE = "durable"        # 2: an acknowledged record is not in the state the highest index gives
FENCED = "fenced"          # 3: a layer a newer index lists was deleted (by an older attachment)
ORDERED = "ordered"        # 4: an index lists a layer from a generation above its own
KINDS = (RESTORABLE, DURABLE, FENCED, ORDERED)

INDEX_NAME = "index_part.json"
SUFFIX = re.compile(r"^(?P<base>.+)-(?P<gen>[0-9a-f]{8})$")
# One index or layer is read at most up to this size: the checker's memory stays bounded on a
# corrupt store (a layer of the reference node is far smaller).
MAX_OBJECT_BYTES = 256 * 1024 * 1024


@dataclass
class Violation:
    kind: str
    tenant_shard_id: str
    timeline_id: str
    message: str

    def __str__(self):
        return f"{self.kind}: {self.tenant_shard_id}/{self.timeline_id}: {self.message}"


@dataclass
class Index:
    generation: int | None  # None: the unsuffixed index of a store without generations
    key: str                # object key, relative to the timeline directory
    layers: dict | None     # layer name -> metadata dict; None when the index is unreadable
    error: str | None = None

    def label(self):
        return self.key


@dataclass
class Report:
    timelines: int = 0
    indexes: int = 0
    layers: int = 0
    acknowledged: int = 0
    violations: list = field(default_factory=list)

    def kinds(self):
        return {v.kind for v in self.violations}

    def of_kind(self, kind):
        return [v for v in self.violations if v.kind == kind]

    def summary(self):
        return (f"checker: {self.timelines} timelines, {self.indexes} indexes, {self.layers} layers, "
                f"{self.acknowledged} acknowledged records, violations {len(self.violations)}")


def _read(path):
    with open(path, "rb") as f:
        data = f.read(MAX_OBJECT_BYTES + 1)
    if len(data) > MAX_OBJECT_BYTES:
        raise ValueError(f"larger than {MAX_OBJECT_BYTES} bytes")
    return data


def _index_generation(name):
    """The generation an index object name carries: None for the unsuffixed name, -1 when the
    name is not an index at all."""
    if name == INDEX_NAME:
        return None
    if name.startswith(INDEX_NAME + "-"):
        m = SUFFIX.match(name)
        if m and m.group("base") == INDEX_NAME:
            return int(m.group("gen"), 16)
    return -1


def _parse_index(data):
    """The layer map of an index, or raises ValueError naming what is wrong."""
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    layers = doc.get("layer_metadata")
    if not isinstance(layers, dict):
        raise ValueError("no layer_metadata object")
    for name, meta in layers.items():
        if not isinstance(meta, dict):
            raise ValueError(f"metadata of {name!r} is not an object")
        if "/" in name or not name:
            raise ValueError(f"layer name {name!r} is not a plain name")
        size = meta.get("file_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"file_size of {name!r} is not a byte count")
        checksum = meta.get("checksum")
        if not isinstance(checksum, str) or not re.fullmatch(r"[0-9a-f]{64}", checksum):
            raise ValueError(f"checksum of {name!r} is not sha256 hex")
    return layers


def _layer_generation(meta):
    """The generation recorded for a layer: None when the index records none (or 0, the 'no
    generation' of stores without generations), else a positive int."""
    gen = meta.get("generation")
    if gen is None or gen == 0:
        return None
    if not isinstance(gen, int) or isinstance(gen, bool) or gen < 0:
        raise ValueError(f"generation {gen!r} is not a generation")
    return gen


def layer_key(name, generation):
    """The object key of a layer, as the remote layout names it."""
    return name if generation is None else f"{name}-{generation:08x}"


def _parse_layer(data):
    """The records of a layer file: a list of (lsn, key, value), or raises ValueError."""
    records = []
    last = -1
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        if not isinstance(rec, dict) or not isinstance(rec.get("lsn"), int) or \
                not isinstance(rec.get("key"), str) or not isinstance(rec.get("value"), str):
            raise ValueError(f"line {number} is not a record")
        if rec["lsn"] < last:
            raise ValueError(f"line {number}: lsn {rec['lsn']} after {last}")
        last = rec["lsn"]
        records.append((rec["lsn"], rec["key"], rec["value"]))
    return records


def _highest(indexes):
    """The index a restore would load: the highest generation; an unsuffixed one only when no
    suffixed one exists (Neon treats it as the oldest, from before generations)."""
    suffixed = [i for i in indexes if i.generation is not None]
    if suffixed:
        return max(suffixed, key=lambda i: i.generation)
    return indexes[0] if indexes else None


class _Timeline:
    def __init__(self, store, tenant, timeline):
        self.tenant = tenant
        self.timeline = timeline
        self.dir = os.path.join(store, "tenants", tenant, "timelines", timeline)
        self.files = set()
        self.indexes = []
        self._verified = {}  # layer key -> (ok, reason, records)

    def load(self):
        for name in os.listdir(self.dir):
            if os.path.isfile(os.path.join(self.dir, name)):
                self.files.add(name)
        for name in sorted(self.files):
            gen = _index_generation(name)
            if gen == -1:
                continue
            try:
                self.indexes.append(Index(gen, name, _parse_index(_read(os.path.join(self.dir, name)))))
            except (OSError, ValueError, UnicodeDecodeError) as e:
                self.indexes.append(Index(gen, name, None, str(e)))

    def violation(self, kind, message):
        return Violation(kind, self.tenant, self.timeline, message)

    def verify_layer(self, key, meta):
        """Whether the layer object exists with the recorded size and checksum and parses."""
        if key in self._verified:
            return self._verified[key]
        path = os.path.join(self.dir, key)
        result = (True, None, [])
        if key not in self.files:
            result = (False, "is missing", None)
        else:
            try:
                data = _read(path)
                if len(data) != meta["file_size"]:
                    result = (False, f"has {len(data)} bytes, the index records {meta['file_size']}", None)
                elif hashlib.sha256(data).hexdigest() != meta["checksum"]:
                    result = (False, "does not match its recorded sha256", None)
                else:
                    result = (True, None, _parse_layer(data))
            except (OSError, ValueError, UnicodeDecodeError) as e:
                result = (False, f"is unreadable ({e})", None)
        self._verified[key] = result
        return result

    def check(self, acks):
        out = []
        top = _highest(self.indexes)
        if top is None:
            for ack in acks:
                out.append(self.violation(DURABLE, f"record lsn {ack['lsn']} key {ack['key']!r} acknowledged, "
                                                   "but the timeline has no index"))
            return out, 0
        # 4. Ordered: every index, not only the highest.
        for index in self.indexes:
            if index.layers is None or index.generation is None:
                continue
            for name, meta in sorted(index.layers.items()):
                try:
                    gen = _layer_generation(meta)
                except ValueError as e:
                    out.append(self.violation(ORDERED, f"{index.key} lists {name}: {e}"))
                    continue
                if gen is not None and gen > index.generation:
                    out.append(self.violation(
                        ORDERED, f"{index.key} lists {name} of generation {gen}, above its own {index.generation}"))
        # 1. Restorable, and 3. Fenced for what is missing.
        if top.layers is None:
            out.append(self.violation(RESTORABLE, f"highest index {top.key} is unreadable: {top.error}"))
            state = {}
            layers_checked = 0
        else:
            state = {}
            layers_checked = 0
            for name, meta in sorted(top.layers.items()):
                try:
                    gen = _layer_generation(meta)
                except ValueError:
                    continue  # already reported as ordered
                key = layer_key(name, gen if top.generation is not None else None)
                ok, reason, records = self.verify_layer(key, meta)
                layers_checked += 1
                if not ok:
                    out.append(self.violation(RESTORABLE, f"highest index {top.key} lists {key}, which {reason}"))
                    if reason == "is missing":
                        out.extend(self._fencing(top, name, key, gen))
                    continue
                for lsn, k, v in records:
                    if k not in state or lsn >= state[k][0]:
                        state[k] = (lsn, v)
        # 2. Durable: the state a restore reads, against what nodes acknowledged.
        for ack in acks:
            have = state.get(ack["key"])
            if have is not None and (have[1] == ack["value"] or have[0] > ack["lsn"]):
                continue
            if have is None:
                why = "the key is absent"
            elif have[0] == ack["lsn"]:
                why = f"lsn {have[0]} holds {have[1]!r} instead"
            else:
                why = f"the state holds lsn {have[0]} {have[1]!r}, older"
            out.append(self.violation(DURABLE, f"record lsn {ack['lsn']} key {ack['key']!r} value "
                                               f"{ack['value']!r} acknowledged visible, lost from {top.key}: {why}"))
        return out, layers_checked

    def _fencing(self, top, name, key, gen):
        """A layer the newest index lists is gone: if an older attachment's index had already
        dropped it, that older (stale) attachment is the one that could have deleted it."""
        if top.generation is None:
            return []
        for index in sorted(self.indexes, key=lambda i: i.generation or 0):
            if index is top or index.generation is None or index.layers is None:
                continue
            if index.generation < top.generation and (gen is None or gen <= index.generation) \
                    and name not in index.layers:
                return [self.violation(FENCED, f"{key} is listed by {top.key} but gone; {index.key}, from an "
                                               "older generation, had dropped it: a stale attachment deleted it")]
        return []


def load_acks(path):
    acks = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            for name in ("tenant_shard_id", "timeline_id", "lsn", "key", "value"):
                if name not in rec:
                    raise ValueError(f"{path}:{number}: no {name}")
            acks.append(rec)
    return acks


def check(store, acks=()):
    """Checks the store at `store` against the acknowledged records `acks` (dicts as in the
    module doc). Returns a Report."""
    tenants_dir = os.path.join(store, "tenants")
    if not os.path.isdir(store):
        raise FileNotFoundError(f"{store} is not a directory")
    report = Report()
    by_timeline = {}
    for ack in acks:
        by_timeline.setdefault((ack["tenant_shard_id"], ack["timeline_id"]), []).append(ack)
    report.acknowledged = len(acks)
    found = set()
    if os.path.isdir(tenants_dir):
        for tenant in sorted(os.listdir(tenants_dir)):
            tl_dir = os.path.join(tenants_dir, tenant, "timelines")
            if not os.path.isdir(tl_dir):
                continue
            for timeline in sorted(os.listdir(tl_dir)):
                if not os.path.isdir(os.path.join(tl_dir, timeline)):
                    continue
                found.add((tenant, timeline))
                tl = _Timeline(store, tenant, timeline)
                tl.load()
                if not tl.indexes:
                    continue
                report.timelines += 1
                report.indexes += len(tl.indexes)
                violations, layers = tl.check(by_timeline.get((tenant, timeline), []))
                report.layers += layers
                report.violations.extend(violations)
    for (tenant, timeline), lost in sorted(by_timeline.items()):
        if (tenant, timeline) in found:
            continue
        for ack in lost:
            report.violations.append(Violation(DURABLE, tenant, timeline,
                                               f"record lsn {ack['lsn']} key {ack['key']!r} acknowledged, "
                                               "but the timeline is not in the store"))
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store")
    parser.add_argument("--acks", help="JSON lines of acknowledged-visible records")
    parser.add_argument("--json", action="store_true", help="print the violations as JSON lines")
    args = parser.parse_args()
    if not os.path.isdir(args.store):
        print(f"checker: {args.store} is not a directory", file=sys.stderr)
        return 2
    acks = load_acks(args.acks) if args.acks else []
    report = check(args.store, acks)
    for v in report.violations:
        print(json.dumps(v.__dict__) if args.json else str(v))
    print(report.summary())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
