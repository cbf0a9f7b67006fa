#!/usr/bin/python3
"""make bench, part three: gencontrol-node's figures (bench/results/NODE.md and node.json).

A real PostgreSQL with gencontrol, the real shim (gencontrol-http) and real gencontrol-nodes over
loopback, started with the test helpers (test/integration/harness.py, shimproc.py, nodeproc.py):

1. Deletion through the node's deletion queue, validation included: a tenant shard whose store
   holds N layers is attached, checkpointed (so its progress is already visible and no progress
   validate rides along), then compacted: the node queues the N replaced layers (one durable list)
   and its deletion queue validates and deletes them; timed from the compact request until a
   flush answers with all N executed. Validate calls are counted where they arrive: the shim's
   /metrics (HTTP requests on /upcall/v1/validate) and its gen_validate database calls, never
   from the node's own counters. Once with one shard, once with the keys spread over many shards
   compacted one after another while the node's background flush runs (every second).
2. Attach of a tenant shard with 1,000 layers in the store (made by the node itself: 1,000 writes
   and checkpoints), on another node: from the location_config request until it answers 200,
   which it does once the index is loaded and every layer downloaded and checked; the shard's
   mode is then read back.

Layers for the deletion runs are written straight into the store by this script, in the format
docs/design.md gives (one record each, sha256 in the index), as a previous attachment would have.
Medians of the repetitions. BENCH_QUICK=1: fewer repetitions and a smaller multi-shard run (the
100,000-key single-shard deletion stays, it is the figure asked for).
"""
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))

import nodeproc  # noqa: E402
import shimproc  # noqa: E402
from harness import DATABASE, fresh_cluster  # noqa: E402

RESULTS = os.path.join(BENCH, "results")
WORK = os.path.join(os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters"), "bench-node")
PG_PORT, SHIM_PORT, NODE_PORTS = 15640, 15641, (15642, 15643)
QUICK = os.environ.get("BENCH_QUICK") == "1"
TIMELINE = "de200bd42b49cc1814412c7e592dd6e9"

SINGLE_KEYS = 100_000
SINGLE_REPS = 2 if QUICK else 3
MULTI_SHARDS, MULTI_LAYERS = (64, 160) if QUICK else (256, 400)
MULTI_REPS = 1 if QUICK else 2
ATTACH_LAYERS, ATTACH_RECORDS = 1000, 10
ATTACH_REPS = 3 if QUICK else 5
VALIDATE_ROUTE = 'route="/upcall/v1/validate"'
LONG = 1800  # seconds a node request may take before the run gives up (never a measurement)


def log(message):
    print(f"[bench node {time.strftime('%H:%M:%S')}] {message}", flush=True)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    git = ["git", "-C", ROOT]
    return {
        "commit": subprocess.run(git + ["describe", "--always", "--dirty"], capture_output=True,
                                 text=True).stdout.strip(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "kernel": os.uname().release,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "node_binary": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(nodeproc.BINARY))),
    }


def shim_counts(shim):
    """(validate HTTP requests answered, gen_validate database calls), from the shim's /metrics."""
    requests = calls = 0.0
    for line in shim.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith("#"):
            continue
        if "_requests_total{" in line and VALIDATE_ROUTE in line:
            requests += float(line.rsplit(" ", 1)[1])
        elif line.startswith("gencontrol_validate_calls_total "):
            calls = float(line.rsplit(" ", 1)[1])
    return requests, calls


def write_store(store, tenant, generation, layers):
    """A timeline of `layers` one-record layers and the index listing them all, as an attachment
    with `generation` would have uploaded them (docs/design.md's keys and formats)."""
    directory = os.path.join(store, "tenants", tenant, "timelines", TIMELINE)
    os.makedirs(directory, exist_ok=True)
    suffix = f"-{generation:08x}"
    metadata = {}
    for lsn in range(1, layers + 1):
        name = f"delta-{lsn:016x}-{lsn:016x}"
        body = (json.dumps({"lsn": lsn, "key": "k", "value": f"v{lsn}"}) + "\n").encode()
        with open(os.path.join(directory, name + suffix), "wb") as f:
            f.write(body)
        metadata[name] = {"file_size": len(body), "generation": generation,
                          "checksum": hashlib.sha256(body).hexdigest()}
    index = {"version": 1, "disk_consistent_lsn": layers, "layer_metadata": metadata}
    with open(os.path.join(directory, "index_part.json" + suffix), "w") as f:
        json.dump(index, f)
    return directory


def plain_deletion(directories, batch=1000):
    """The baseline: the same number of layer files deleted without the node, the way its local
    store deletes a batch (unlink up to 1,000 files, then one fsync of their directory): no
    validation, no lists. Seconds."""
    started = time.monotonic()
    for directory in directories:
        names = sorted(n for n in os.listdir(directory) if n.startswith("delta-"))
        fd = os.open(directory, os.O_RDONLY)
        try:
            for i in range(0, len(names), batch):
                for name in names[i:i + batch]:
                    os.unlink(os.path.join(directory, name))
                os.fsync(fd)
        finally:
            os.close(fd)
    return time.monotonic() - started


class NodeBench:
    def __init__(self):
        self.results = {"quick": QUICK}
        self.cluster = self.shim = None
        self.nodes = []
        self.tenants = 0

    # --- set-up -------------------------------------------------------------------------------
    def set_up(self):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        os.makedirs(RESULTS, exist_ok=True)
        self.store = os.path.join(WORK, "store")
        self.cluster = fresh_cluster("bench-node", PG_PORT)
        self.shim = shimproc.Shim("bench-node", SHIM_PORT, self.cluster.conninfo(DATABASE), log_level="info")
        self.shim.start()
        for i, port in enumerate(NODE_PORTS, start=1):
            node = nodeproc.Node(i, port, os.path.join(WORK, f"node-{i}"), self.store, os.path.join(WORK, "logs"),
                                 control_plane_api=f"http://127.0.0.1:{SHIM_PORT}/upcall/v1/")
            self.nodes.append(node.start())
        log(f"PostgreSQL on {PG_PORT}, shim on {SHIM_PORT}, nodes on {NODE_PORTS}; work in {WORK}")

    def close(self):
        for node in self.nodes:
            node.stop()
        if self.shim:
            self.shim.stop()
        if self.cluster:
            self.cluster.stop("immediate")

    def new_tenant(self):
        self.tenants += 1
        return f"b{self.tenants:031x}"

    def issue(self, tenant, node):
        resp = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": tenant, "node_id": node.node_id})
        if resp.status != 200:
            raise RuntimeError(f"attach-hook answered {resp!r}")
        return resp.json()["gen"]

    def location(self, node, tenant, mode, generation=None):
        body = {"mode": mode} | ({"generation": generation} if generation is not None else {})
        started = time.monotonic()
        node.expect(200, "PUT", f"/v1/tenant/{tenant}/location_config", body, timeout=LONG)
        return time.monotonic() - started

    def counters(self, node):
        m = node.metrics()
        return {k: m.get(f"gencontrol_node_deletion_queue_{k}_total", 0.0)
                for k in ("submitted", "validated", "executed", "dropped")}

    # --- 1. deletion through the queue ---------------------------------------------------------
    def deletion_run(self, shards, layers):
        """Attach `shards` tenant shards of `layers` layers each, compact them all, flush; returns
        the figures of that one run."""
        node = self.nodes[0]
        tenants = [self.new_tenant() for _ in range(shards)]
        directories = [write_store(self.store, t, 1, layers) for t in tenants]
        # The fixture on disk before anything is timed: otherwise the first directory fsync of the
        # deletions also writes back the 100,000 files just created (seen: 10x slower runs).
        os.sync()
        attach_seconds = []
        for t in tenants:
            attach_seconds.append(self.location(node, t, "AttachedSingle", self.issue(t, node)))
            # Uploads the loaded index under the node's generation and validates: the progress
            # is visible before the clock starts, so the validates counted below are deletions'.
            node.expect(200, "POST", f"/v1/tenant/{t}/timeline/{TIMELINE}/checkpoint", timeout=LONG)
        node.flush_deletions(timeout=LONG)
        before_counters, before_shim = self.counters(node), shim_counts(self.shim)
        started = time.monotonic()
        replaced = 0
        for t in tenants:
            replaced += node.expect(200, "POST", f"/v1/tenant/{t}/timeline/{TIMELINE}/compact",
                                    timeout=LONG).json()["layers_replaced"]
        queued = time.monotonic()
        node.flush_deletions(timeout=LONG)
        finished = time.monotonic()
        after_counters, after_shim = self.counters(node), shim_counts(self.shim)
        delta = {k: after_counters[k] - before_counters[k] for k in after_counters}
        keys = shards * layers
        left = sum(1 for d in directories for name in os.listdir(d) if name.startswith("delta-"))
        if replaced != keys or delta["executed"] != keys or delta["dropped"] != 0 or left != 0:
            raise RuntimeError(f"deletion run did not delete every layer: replaced {replaced}, counters {delta}, "
                               f"{left} layer files left")
        for t in tenants:
            self.location(node, t, "Detached")
            shutil.rmtree(os.path.join(self.store, "tenants", t), ignore_errors=True)
        requests = after_shim[0] - before_shim[0]
        return {
            "shards": shards, "keys": keys,
            "seconds": finished - started, "queue_seconds": queued - started, "drain_seconds": finished - queued,
            "keys_per_second": keys / (finished - started),
            "validate_requests": requests, "gen_validate_calls": after_shim[1] - before_shim[1],
            "keys_per_validate_request": keys / requests if requests else None,
            "attach_seconds_median": statistics.median(attach_seconds),
        }

    def baseline_run(self, shards, layers):
        directories = [write_store(os.path.join(WORK, "baseline"), self.new_tenant(), 1, layers)
                       for _ in range(shards)]
        os.sync()
        seconds = plain_deletion(directories)
        shutil.rmtree(os.path.join(WORK, "baseline"), ignore_errors=True)
        return seconds

    def measure_deletion(self):
        for name, shards, layers, reps in (("single", 1, SINGLE_KEYS, SINGLE_REPS),
                                           ("multi", MULTI_SHARDS, MULTI_LAYERS, MULTI_REPS)):
            runs = []
            for rep in range(reps):
                log(f"deletion ({name}): {shards} shard(s) x {layers:,} layers, repetition {rep + 1}/{reps}")
                # Node and baseline alternate which goes first, so a drift in the machine's load
                # does not always favour the same one.
                if rep % 2 == 1:
                    baseline = self.baseline_run(shards, layers)
                runs.append(self.deletion_run(shards, layers))
                if rep % 2 == 0:
                    baseline = self.baseline_run(shards, layers)
                r = runs[-1]
                r["baseline_seconds"] = baseline
                r["ratio_to_baseline"] = r["drain_seconds"] / baseline
                log(f"  {r['keys']:,} keys in {r['seconds']:.2f} s ({r['keys_per_second']:,.0f} keys/s; "
                    f"validate and delete {r['drain_seconds']:.2f} s, plain deletion {baseline:.2f} s), "
                    f"{r['validate_requests']:g} validate requests, {r['gen_validate_calls']:g} gen_validate calls")
            self.results[f"deletion_{name}"] = {
                "runs": runs,
                "median": {k: statistics.median(r[k] for r in runs)
                           for k in ("seconds", "queue_seconds", "drain_seconds", "keys_per_second",
                                     "validate_requests", "gen_validate_calls", "attach_seconds_median",
                                     "baseline_seconds", "ratio_to_baseline")},
                "shards": shards, "layers_per_shard": layers, "keys": shards * layers,
                "max_validate_requests": max(r["validate_requests"] for r in runs),
            }

    # --- 2. attach of a shard with 1,000 layers ------------------------------------------------------
    def measure_attach(self):
        writer, reader = self.nodes
        tenant = self.new_tenant()
        log(f"attach: {ATTACH_LAYERS:,} layers of {ATTACH_RECORDS} records made by node {writer.node_id}")
        self.location(writer, tenant, "AttachedSingle", self.issue(tenant, writer))
        for i in range(ATTACH_LAYERS):
            records = [{"key": f"key{(i * ATTACH_RECORDS + j) % 5000}", "value": f"value-{i}-{j}-" + "x" * 40}
                       for j in range(ATTACH_RECORDS)]
            writer.expect(200, "POST", f"/v1/tenant/{tenant}/timeline/{TIMELINE}/write", {"records": records})
            writer.expect(200, "POST", f"/v1/tenant/{tenant}/timeline/{TIMELINE}/checkpoint", timeout=LONG)
        self.location(writer, tenant, "Detached")
        directory = os.path.join(self.store, "tenants", tenant, "timelines", TIMELINE)
        layer_files = [n for n in os.listdir(directory) if n.startswith("delta-")]
        indexes = sorted(n for n in os.listdir(directory) if n.startswith("index_part.json"))
        with open(os.path.join(directory, indexes[-1])) as f:
            listed = len(json.load(f)["layer_metadata"])
        if listed != ATTACH_LAYERS:
            raise RuntimeError(f"the index lists {listed} layers, not {ATTACH_LAYERS}")
        layer_bytes = sum(os.path.getsize(os.path.join(directory, n)) for n in layer_files)
        index_bytes = os.path.getsize(os.path.join(directory, indexes[-1]))
        seconds = []
        for rep in range(ATTACH_REPS):
            seconds.append(self.location(reader, tenant, "AttachedSingle", self.issue(tenant, reader)))
            state = reader.tenant(tenant).json()
            if state["mode"] != "AttachedSingle" or state["timelines"][TIMELINE]["last_record_lsn"] != \
                    ATTACH_LAYERS * ATTACH_RECORDS:
                raise RuntimeError(f"attached shard is not what was written: {state}")
            log(f"  attach {rep + 1}/{ATTACH_REPS}: {seconds[-1] * 1000:.0f} ms")
            self.location(reader, tenant, "Detached")
        self.results["attach"] = {"layers": ATTACH_LAYERS, "records_per_layer": ATTACH_RECORDS,
                                  "layer_bytes": layer_bytes, "index_bytes": index_bytes,
                                  "runs_seconds": seconds, "median_seconds": statistics.median(seconds)}

    # --- the report ----------------------------------------------------------------------------------
    def report(self, info):
        r = self.results
        single, multi, attach = r["deletion_single"], r["deletion_multi"], r["attach"]
        sm, mm = single["median"], multi["median"]
        lines = [
            "# gencontrol-node: deletion queue and attach (make bench)",
            "",
            f"Measured {info['date']} by `bench/node.py`{' (BENCH_QUICK=1)' if QUICK else ''} at commit "
            f"`{info['commit']}` (gencontrol-node built {info['node_binary']}), on {info['cpus']} CPUs "
            f"({info['cpu']}), Linux {info['kernel']}, shared with other work: `uptime` before: "
            f"`{info['uptime_before']}`; after: `{info['uptime_after']}`. A real PostgreSQL 15 with gencontrol "
            "(fsync on), the real shim and real gencontrol-nodes over loopback; the object store is the "
            "local-directory backend (fsynced puts, one directory fsync per delete batch) on the same disk. "
            "Medians of the repetitions (each run is in `node.json`); figures from one shared machine are "
            "indicative, not targets.",
            "",
            "## Deletion through the node's deletion queue, validation included",
            "",
            "A shard whose store holds N layers (written by this script in the documented format, then "
            "`sync`ed) is attached and checkpointed; then `compact` replaces the N "
            "layers by one image and queues them (one list, fsynced before `compact` answers), and "
            "`POST /v1/deletion_queue/flush` answers once they are validated and deleted. Timed from the "
            "compact request to the flush answer; every key checked gone from the store. Validate calls are "
            "counted at the shim (HTTP requests on `/upcall/v1/validate` in its `/metrics`) and, below it, "
            "as `gen_validate` database calls (the shim's `gencontrol_validate_calls_total`). Baseline, in the "
            "same run and alternating with the node: the same number of files, written and synced the same "
            "way, deleted by a plain loop as the local store deletes (unlink up to 1,000, then one fsync of "
            "the directory), without validation or lists: it is what the disk costs, and on this shared disk it "
            "varies by an order of magnitude from run to run, so read the ratio.",
            "",
            "| run | keys | keys/s (median) | of which queueing (compact) | validate and delete | "
            "plain deletion (baseline) | ratio | validate requests (median, max) | gen_validate calls | "
            "keys per validate request |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, d, m in (("1 shard", single, sm), (f"{multi['shards']} shards x {multi['layers_per_shard']:,} "
                                                     "layers, compacted one after another", multi, mm)):
            per = d["keys"] / m["validate_requests"] if m["validate_requests"] else float("nan")
            lines.append(f"| {name} | {d['keys']:,} | {m['keys_per_second']:,.0f} | {m['queue_seconds']:.2f} s | "
                         f"{m['drain_seconds']:.2f} s | {m['baseline_seconds']:.2f} s | "
                         f"{m['ratio_to_baseline']:.2f}x the time | "
                         f"{m['validate_requests']:g}, {d['max_validate_requests']:g} | "
                         f"{m['gen_validate_calls']:g} | {per:,.0f} |")
        lines += [
            "",
            f"**A {single['keys']:,}-key deletion cost {sm['validate_requests']:g} validate request(s)** "
            f"({single['keys'] / sm['validate_requests']:,.0f} keys per call): validation is never per key. "
            "Batching, as the node does it: each flush sends one validate for everything queued, one entry per "
            "tenant shard at the highest generation that queued keys (lists of the same shard coalesce), in "
            "HTTP requests of at most **128 shards** (Neon's chunk); keys are then deleted in batches of "
            "**1,000** (S3's DeleteObjects limit). The node flushes in the background every second while keys "
            "are queued, so shards compacted over several seconds share a few validates rather than one each "
            "(Neon's validator waits up to 10 s or 16,384 keys instead). Each compaction's deletions are one "
            "durable list, and each list costs fsyncs of its own (written, and removed after execution; rewritten "
            "only when validation dropped some of its keys, as Neon does): with many shards the lists, not the "
            "validates, are the node's overhead over the baseline (Neon also gathers pushes into larger lists).",
            "",
            f"Attach of those shards (setup, not the figure below): median {sm['attach_seconds_median']:.2f} s for "
            f"{single['keys']:,} one-record layers; {mm['attach_seconds_median'] * 1000:.0f} ms for "
            f"{multi['layers_per_shard']:,}.",
            "",
            "## Attach of a tenant shard with 1,000 layers",
            "",
            f"{attach['layers']:,} layers of {attach['records_per_layer']} records each "
            f"({attach['layer_bytes'] / 1e6:.2f} MB of layers, an index of {attach['index_bytes'] / 1e3:.0f} kB), "
            f"made by one node with {attach['layers']:,} writes and checkpoints; another node attaches the shard "
            "under a new "
            "generation. Timed from the `location_config` request until it answers 200, which the node does "
            "once the index is selected and loaded and every layer downloaded and checked (size and sha256) "
            "under the `attaching` marker; the mode is read back as `AttachedSingle`. Then detached, and again.",
            "",
            f"**Median {attach['median_seconds'] * 1000:.0f} ms** over {len(attach['runs_seconds'])} attaches "
            f"({', '.join(f'{s * 1000:.0f}' for s in attach['runs_seconds'])} ms). Neon's pageserver attaches "
            "with the index alone and downloads layers on demand; this node reads every layer at attach, so "
            "the figure grows with the shard's data, not only with its layer count.",
            "",
            "Reproduce: `inns /usr/bin/python3 bench/node.py` (with the node and the shim built in `build/`); "
            "`BENCH_QUICK=1` for a short run. Data: `bench/results/node.json`.",
            "",
        ]
        with open(os.path.join(RESULTS, "NODE.md"), "w") as f:
            f.write("\n".join(lines))
        with open(os.path.join(RESULTS, "node.json"), "w") as f:
            json.dump({"machine": info, **r}, f, indent=1)
        print("\n".join(lines))
        log(f"wrote {os.path.join(RESULTS, 'NODE.md')}")


def build():
    """Builds the node and the shim when build/ lacks them (a clean clone); an existing build is
    used as it is, so the benchmark never races a developer's own build (its date is reported)."""
    missing = [b for b in (nodeproc.BINARY, shimproc.BINARY) if not os.access(b, os.X_OK)]
    if missing:
        log(f"building {', '.join(os.path.basename(b) for b in missing)}")
        subprocess.run(["cmake", "-S", ROOT, "-B", os.path.join(ROOT, "build"), "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", os.path.join(ROOT, "build"), "--target", "gencontrol-node",
                        "gencontrol-http", "-j", str(os.cpu_count())], check=True, stdout=subprocess.DEVNULL)


def main():
    build()
    info = machine()
    info["uptime_before"] = uptime()
    bench = NodeBench()
    try:
        bench.set_up()
        bench.measure_deletion()
        bench.measure_attach()
        info["uptime_after"] = uptime()
        bench.report(info)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
