#!/usr/bin/python3
"""make bench: gencontrol measured side by side with plain SQL, PL/pgSQL and Neon's SQL pattern.

Starts a throwaway, tuned, durable cluster (fsync and synchronous_commit on), loads 1,000,000
tenant shards into gencontrol and into the baselines (bench/baselines.sql, bench/load.sql), then
measures every pair in one run: variants alternate, each is repeated, medians are reported, and
every figure is printed as a ratio to its baseline. Writes bench/results/REPORT.md, the data
behind it (results.json, *.dat) and two gnuplot charts.

    BENCH_QUICK=1      100,000 shards, fewer and shorter repetitions (development)
    BENCH_KEEP=1       leave the cluster running afterwards (port 15600) for EXPLAIN sessions
    BENCH_NO_SHIM=1    skip the HTTP shim even if build/gencontrol-http exists
    BENCH_PORT=N       another port (and cluster) than 15600, e.g. while 15600 is kept for analysis
    BENCH_SETUP_ONLY=1 load the data and stop there (with BENCH_KEEP=1: a cluster for bench/experiments)
    BENCH_SHIM_REPS=N  repetitions of each shim pair (default 5, 1 with BENCH_QUICK)
    BENCH_SHIM_ARGS=.. extra flags for gencontrol-http (e.g. "--validate-calls 4")
    BENCH_SHIM_BEFORE=PATH  with BENCH_ONLY=shim: a saved gencontrol-http from before a change, run as a
                       third variant alternating with build/'s shim and pgbench (each switch restarts
                       the shim), so "before" and "after" meet the same machine load
    BENCH_RESULTS=DIR  write the report and its data there instead of bench/results
    BENCH_ONLY=shim    set up, then only the shim-against-pgbench pairs (16 connections); prints
                       ratios and CPU per request instead of writing the report (shim development)
"""
import datetime
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from pgcluster import PG_BIN, Cluster  # noqa: E402

sys.path.insert(0, BENCH)
import binary_call  # noqa: E402
import cputime  # noqa: E402
import instructions  # noqa: E402

# Where the report goes; another directory keeps a partial or experimental run from replacing
# the committed report.
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(BENCH, "results"))
WORK = os.environ.get("BENCH_WORK", "/tmp/gencontrol-bench")
if os.environ.get("BENCH_PORT"):
    WORK += "-" + os.environ["BENCH_PORT"]
PORT = int(os.environ.get("BENCH_PORT", "15600"))  # the shim listens on PORT + 1
SHIM_PORT = PORT + 1
CLUSTER = "bench" if PORT == 15600 else f"bench-{PORT}"
SHIM = os.path.join(ROOT, "build", "gencontrol-http")
DB = "bench"

QUICK = os.environ.get("BENCH_QUICK") == "1"
PROFILE = {
    # shards loaded; repetitions per pair; seconds per throughput run; seconds of the warm-up run
    # of each variant; seconds a latency repetition aims for; client counts of the sweep.
    "shards": 100_000 if QUICK else 1_000_000,
    "reps": 2 if QUICK else 5,
    "tps_seconds": 2 if QUICK else 3,
    "warmup_seconds": 1 if QUICK else 2,
    "latency_seconds": 0.2 if QUICK else 0.5,
    "max_latency_tx": 5 if QUICK else 20,
    "slow_reps": 1 if QUICK else 3,  # for a variant whose single transaction takes > 2 s
    # As many as the single-row figures. With 3, a run of 2026-12-02 had two of the 128-entry
    # validate's TCP-baseline repetitions at 5,200 tps and one at 3,100 (the same SQL over the Unix
    # socket: 2,700-3,100), so its median read 0.850x where the run before read 1.717x.
    "shim_reps": int(os.environ.get("BENCH_SHIM_REPS", 1 if QUICK else 5)),
    "sweep_seconds": 1 if QUICK else 3,
    "sweep_clients": [1, 16] if QUICK else [1, 4, 16, 64],
    "clients": 16,
}
QUIET_BUDGET = 20 if QUICK else 90  # seconds a run may spend waiting for other jobs to calm down
SIZES = [PROFILE["shards"] // 1000, PROFILE["shards"] // 100, PROFILE["shards"] // 10]
SIZE_NODE = {SIZES[0]: 3, SIZES[1]: 2, SIZES[2]: 1}  # as bench/load.sql distributes them

# Durable (fsync, synchronous_commit, full_page_writes all on) and sized so that the data set
# stays in shared_buffers and no checkpoint falls inside the measurements.
SERVER_CONF = {
    "shared_buffers": os.environ.get("BENCH_SHARED_BUFFERS", "2GB"),
    "effective_cache_size": "8GB",
    "wal_buffers": "64MB",
    "max_wal_size": "32GB",
    "min_wal_size": "4GB",
    "checkpoint_timeout": "1h",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": 300,
    # Also TCP on loopback: the shim's clients reach it over TCP, and one baseline of the shim
    # pairs is pgbench over the same transport (the others use the Unix socket).
    "listen_addresses": "'127.0.0.1'",
    "random_page_cost": "1.1",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "jit": "off",
    "autovacuum": "off",  # the benchmark vacuums between phases, never during one
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "none",  # switched on only for the diagnostics at the end
    "pg_stat_statements.max": 1000,
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- one measurement --------------------------------------------------------------------------

class Run:
    """One pgbench or wrk invocation: throughput, latency percentiles, other load."""

    def __init__(self, rate, latencies_ms, foreign, errors=0, p50=None, p99=None, cpu=None):
        self.rate = rate
        self.errors = errors
        # CPU per transaction or request, µs: database server, load generator, HTTP shim.
        self.server_us, self.client_us, self.shim_us = cpu or (float("nan"),) * 3
        lat = sorted(latencies_ms)
        self.p50 = p50 if p50 is not None else (statistics.median(lat) if lat else float("nan"))
        self.p99 = p99 if p99 is not None else (lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"))
        self.foreign = foreign


def median_of(runs, attr):
    values = [getattr(r, attr) for r in runs if not math.isnan(getattr(r, attr))]
    return statistics.median(values) if values else float("nan")


class Bench:
    def __init__(self):
        self.cluster = None
        self.shim = None
        self.shim_binary = None
        self.results = {"profile": PROFILE, "sizes": SIZES, "server_conf": SERVER_CONF, "figures": {},
                        "sweep": {}, "notes": []}
        self.commands = {}
        self.last_latency = {}
        self.quiet_waited = 0.0
        self.phases = {}
        self.started = time.time()
        self.machine = machine()
        self.validate_ids = {}  # batch size: (ids, generations) of the batch validate figures

    # --- set-up -------------------------------------------------------------------------------
    def psql(self, sql, check=True):
        return self.cluster.psql(sql, dbname=DB, check=check)

    def psql_file(self, path, variables=None):
        argv = self.cluster.psql_argv(DB) + ["-q"]
        for key, value in (variables or {}).items():
            argv += ["-v", f"{key}={value}"]
        subprocess.run(argv + ["-f", path], check=True, stdout=subprocess.DEVNULL)

    def set_up(self):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(os.path.join(WORK, "logs"))
        os.makedirs(RESULTS, exist_ok=True)
        log(f"cluster on port {PORT}, {PROFILE['shards']:,} tenant shards")
        self.cluster = Cluster(CLUSTER, PORT).init(SERVER_CONF).start()
        self.cluster.create_database(DB, ["gencontrol", "pg_stat_statements"])
        t = time.time()
        self.psql_file(os.path.join(BENCH, "baselines.sql"))
        self.psql_file(os.path.join(BENCH, "load.sql"), {"shards": PROFILE["shards"]})
        self.results["load_seconds"] = round(time.time() - t, 1)
        log(f"loaded in {self.results['load_seconds']} s")
        self.write_generated_scripts()

    def psql_long(self, sql):
        """psql for statements longer than one command-line argument may be."""
        path = self.work("statement.sql")
        with open(path, "w") as f:
            f.write(sql)
        argv = self.cluster.psql_argv(DB) + ["-qAt", "-f", path]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()

    def vacuum(self):
        self.psql("VACUUM (ANALYZE) gencontrol.tenant_shards_stored, gencontrol.nodes, gencontrol.generation_log_entries, "
                  "gencontrol.re_attach_log, "
                  "bench.plain_shards, bench.plain_nodes, bench.neon_tenant_shards, bench.neon_nodes")
        # The load and VACUUM leave the kernel a few hundred MB of dirty file pages (VACUUM's ring
        # buffer writes them out); written back 30 s later, they slowed whichever repetitions
        # were running then (one attach run fell from about 5,200 to 3,700 tps while 230 MB drained).
        # Flush them now, before anything is measured.
        os.sync()

    def work(self, name):
        return os.path.join(WORK, name)

    def write_generated_scripts(self):
        """pgbench scripts and wrk data that carry literal tenant ids, read from the database."""
        for size in SIZES:
            rows = self.psql(f"SELECT id::text || ' ' || generation FROM gencontrol.tenant_shards "
                             f"WHERE attached_node = {SIZE_NODE[size]} ORDER BY md5(id::text || 'order')").split("\n")
            ids = [r.split()[0] for r in rows]
            gens = [r.split()[1] for r in rows]
            self.validate_ids[size] = (ids, [int(g) for g in gens])
            id_array, gen_array = "{" + ",".join(ids) + "}", "{" + ",".join(gens) + "}"
            with open(self.work(f"validate_{size}_gencontrol.sql"), "w") as f:
                f.write(f"SELECT * FROM gencontrol.gen_validate('{id_array}'::gencontrol.tenant_shard_id[], "
                        f"'{gen_array}'::integer[]);\n")
            # The best plain SQL found: a nested loop of primary-key probes in input order
            # (hash and merge joins read the whole million-row table).
            with open(self.work(f"validate_{size}_unnest.sql"), "w") as f:
                f.write(f"SELECT u.id, p.generation = u.generation AS valid "
                        f"FROM unnest('{id_array}'::text[], '{gen_array}'::integer[]) WITH ORDINALITY "
                        f"AS u(id, generation, ord) JOIN bench.plain_shards p ON p.id = u.id "
                        f"AND p.deleted_at IS NULL ORDER BY u.ord;\n")
            # Neon's storage controller: 32 (tenant_id, shard_number, shard_count) tuples per query.
            with open(self.work(f"validate_{size}_neon.sql"), "w") as f:
                for k in range(0, len(ids), 32):
                    tuples = ",".join(f"('{i[:32]}', 0, 0)" for i in ids[k:k + 32])
                    f.write(f"SELECT * from bench.neon_tenant_shards where "
                            f"(tenant_id, shard_number, shard_count) in ({tuples});\n")
            if size == SIZES[1]:
                # 128-entry validate for the shim and its SQL equivalent: eight different batches.
                self.validate128 = []
                with open(self.work("validate128.jsonl"), "w") as f:
                    for b in range(8):
                        chunk = list(zip(ids[b * 128:(b + 1) * 128], gens[b * 128:(b + 1) * 128]))
                        f.write(json.dumps({"tenants": [{"id": i, "gen": int(g)} for i, g in chunk]}) + "\n")
                        self.validate128.append(("{" + ",".join(i for i, _ in chunk) + "}",
                                                 "{" + ",".join(g for _, g in chunk) + "}"))
                for b in range(8):
                    with open(self.work(f"validate128_{b}.sql"), "w") as f:
                        f.write(f"SELECT v.tenant, v.valid FROM gencontrol.gen_validate("
                                f":ids{b}::gencontrol.tenant_shard_id[], :gens{b}::integer[]) AS v;\n")
        # The shards bench/pgbench/attach_*.sql choose from (i = 10k + 5), for wrk's attach-hook.
        ids = self.psql(f"SELECT md5((10 * k + 5)::text) FROM generate_series(0, {PROFILE['shards'] // 10 - 1}) k")
        with open(self.work("attach_ids.txt"), "w") as f:
            f.write(ids + "\n")

    # --- pgbench and wrk ----------------------------------------------------------------------
    def cpu_sample(self):
        return cputime.Sample(self.cluster.pid(), [self.shim.pid] if self.shim else [])

    @staticmethod
    def cpu_per_op(before, after, operations):
        """µs per operation; NaN where the run used too few clock ticks to say (under 0.2 s)."""
        n = max(1, operations) / 1e6
        S = cputime.Sample

        def per_op(seconds):
            return seconds / n if seconds >= 0.2 else float("nan")
        return (per_op(S.server_seconds(before, after)), per_op(S.client_seconds(before, after)),
                per_op(S.extra_seconds(before, after)))

    def pgbench(self, tag, scripts, clients=1, seconds=None, transactions=None, mode="prepared",
                defines=None, record=None, seed=None, tcp=False):
        prefix = self.work(f"logs/{tag}")
        host = "127.0.0.1" if tcp else self.cluster.sockdir
        argv = [f"{PG_BIN}/pgbench", "-n", "-h", host, "-p", str(PORT), "-U", "postgres",
                "-M", mode, "-c", str(clients), "-j", str(min(clients, 2)), "-l", f"--log-prefix={prefix}",
                # Neon's SERIALIZABLE pattern may fail to serialize; pgbench retries it, as its
                # controller would (the other scripts never see 40001).
                "--max-tries=100"]
        argv += ["-T", str(seconds)] if seconds else ["-t", str(transactions)]
        if seed is not None:
            argv.append(f"--random-seed={seed}")
        for key, value in {"shards": PROFILE["shards"], **(defines or {})}.items():
            argv += ["-D", f"{key}={value}"]
        for s in scripts:
            argv += ["-f", s]
        argv.append(DB)
        if record and record not in self.commands:
            shown = [a if len(a) < 200 else a[:60] + "...}" for a in argv]
            self.commands[record] = " ".join(shown)
        for old in os.listdir(os.path.dirname(prefix)):
            if old.startswith(os.path.basename(prefix) + "."):
                os.remove(os.path.join(os.path.dirname(prefix), old))
        connected = len(cputime.children(self.cluster.pid()))
        before = self.cpu_sample()
        out = subprocess.run(argv, capture_output=True, text=True, cwd=WORK)
        cputime.settle(self.cluster.pid(), connected)
        after = self.cpu_sample()
        if out.returncode != 0:
            raise RuntimeError(f"pgbench {tag} failed:\n{out.stderr[-2000:]}")
        tps = float("nan")
        failed = 0
        for line in out.stdout.splitlines():
            if line.startswith("tps = "):
                tps = float(line.split()[2])
            if line.startswith("number of failed transactions:"):
                failed = int(line.split(":")[1].split()[0])
        latencies = []
        for name in os.listdir(os.path.dirname(prefix)):
            if name.startswith(os.path.basename(prefix) + "."):
                with open(os.path.join(os.path.dirname(prefix), name)) as f:
                    # A transaction that failed even after its retries logs a word, not a time.
                    latencies += [int(line.split()[2]) / 1000.0 for line in f
                                  if line.strip() and line.split()[2].isdigit()]
        return Run(tps, latencies, cputime.Sample.foreign_share(before, after), failed,
                   cpu=self.cpu_per_op(before, after, len(latencies)))

    def wrk(self, tag, route_script, clients, seconds, env, record=None):
        script = self.work(f"{tag}.lua")
        with open(script, "w") as f:
            for part in (route_script, os.path.join(BENCH, "wrk", "report.lua")):
                with open(part) as p:
                    f.write(p.read() + "\n")
        argv = ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s",
                "-s", script, f"http://127.0.0.1:{SHIM_PORT}"]
        if record and record not in self.commands:
            self.commands[record] = " ".join(f"{k}={v}" for k, v in env.items()) + " " + " ".join(argv)
        before = self.cpu_sample()
        out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env})
        after = self.cpu_sample()
        if out.returncode != 0:
            raise RuntimeError(f"wrk {tag} failed:\n{out.stderr[-2000:]}")
        figures = {}
        for line in out.stdout.splitlines():
            if line.startswith("BENCH "):
                _, key, value = line.split()
                figures[key] = int(value)
        rate = figures["requests"] / (figures["duration_us"] / 1e6)
        return Run(rate, [], cputime.Sample.foreign_share(before, after), figures["errors"],
                   p50=figures["p50_us"] / 1000.0, p99=figures["p99_us"] / 1000.0,
                   cpu=self.cpu_per_op(before, after, figures["requests"]))

    # --- pairs, alternating -------------------------------------------------------------------
    def alternate(self, variants, reps, warmup=None):
        """variants: [(label, measure(warmup: bool) -> Run)]. Returns {label: [Run, ...]}."""
        if warmup is None:
            warmup = [True] * len(variants)
        for (label, measure), w in zip(variants, warmup):
            if w:
                measure(True)
        runs = {label: [] for label, _ in variants}
        for r in range(reps):
            order = variants if r % 2 == 0 else list(reversed(variants))
            for label, measure in order:
                self.quiet_gate()
                runs[label].append(measure(False))
        return runs

    def quiet_gate(self):
        """On a shared machine, waits (a few seconds at most, QUIET_BUDGET in all) until other
        processes use under a quarter of the CPU before a measured repetition starts."""
        waited = 0.0
        while waited < 5.0 and self.quiet_waited < QUIET_BUDGET:
            before = self.cpu_sample()
            time.sleep(0.5)
            if cputime.Sample.foreign_share(before, self.cpu_sample()) < 0.25:
                break
            waited += 0.5
            self.quiet_waited += 0.5
        self.results["quiet_wait_seconds"] = self.quiet_waited

    def throughput_pair(self, name, scripts, defines=None):
        """Alternating pgbench throughput runs at PROFILE['clients'] clients."""
        def measure(label, script):
            def run(warmup):
                seconds = PROFILE["warmup_seconds"] if warmup else PROFILE["tps_seconds"]
                return self.pgbench(f"{name}_{label}", [os.path.join(BENCH, "pgbench", script)],
                                    clients=PROFILE["clients"], seconds=seconds, defines=defines,
                                    record=None if warmup else f"{name}_{label}")
            return run
        return self.alternate([(label, measure(label, s)) for label, s in scripts], PROFILE["reps"])

    def binary_variant(self, caller, variant, calls):
        """A latency variant for latency_pair's `extra`: `calls` calls of binary_call's `variant`
        on one connection, the way the shim calls gen_validate (binary arrays, prepared)."""
        def run(warmup):
            before = self.cpu_sample()
            times = caller.run(variant, 1 if warmup else calls)
            after = self.cpu_sample()
            return Run(len(times) / (sum(times) / 1000), times, cputime.Sample.foreign_share(before, after),
                       cpu=self.cpu_per_op(before, after, len(times)))
        return run

    def latency_pair(self, name, scripts, mode="extended", defines=None, extra=()):
        """Alternating single-client latency runs; each repetition runs enough transactions to
        last about PROFILE['latency_seconds'] (one, for anything slower). `extra` holds more
        variants as (label, run(warmup) -> Run), alternated with the scripts."""
        variants, slow = [], False
        kind = name.rstrip("0123456789")
        for label, script in scripts:
            predicted = self.last_latency.get((kind, label), 0.0) * 10
            if predicted > 2.0:
                # Ten times the previous size would take seconds: no probe, one transaction a run.
                per_tx = predicted
            else:
                first = self.pgbench(f"{name}_{label}_probe", [script], transactions=1, mode=mode,
                                     defines=defines)
                per_tx = first.p50 / 1000.0
            tx = max(1, min(PROFILE["max_latency_tx"], round(PROFILE["latency_seconds"] / max(per_tx, 1e-4))))
            slow = slow or per_tx > 2.0

            def run(warmup, label=label, script=script, tx=tx):
                return self.pgbench(f"{name}_{label}", [script], transactions=tx, mode=mode, defines=defines,
                                    record=f"{name}_{label}")
            variants.append((label, run))
        # The probe above was each script's warm-up.
        warmup = [False] * len(variants) + [True] * len(extra)
        variants += list(extra)
        runs = self.alternate(variants, PROFILE["slow_reps"] if slow else PROFILE["reps"], warmup=warmup)
        for label, rs in runs.items():
            self.last_latency[(kind, label)] = median_of(rs, "p50") / 1000.0
        return runs

    # --- the figures --------------------------------------------------------------------------
    def figure(self, key, runs, value="rate"):
        self.results["figures"][key] = {
            label: {
                "median": median_of(rs, value),
                "p50_ms": median_of(rs, "p50"),
                "p99_ms": median_of(rs, "p99"),
                "server_us": median_of(rs, "server_us"),
                "client_us": median_of(rs, "client_us"),
                "shim_us": median_of(rs, "shim_us"),
                "runs": [round(getattr(r, value), 3) for r in rs],
                "errors": sum(r.errors for r in rs),
                "other_cpu_max": round(max(r.foreign for r in rs), 3),
            } for label, rs in runs.items()}

    def measure_attach_and_validate(self):
        log("gen_attach vs prepared UPDATE ... RETURNING vs PL/pgSQL vs Neon's SERIALIZABLE pattern, 16 clients")
        self.figure("attach", self.throughput_pair("attach", [
            ("gencontrol", "attach_gencontrol.sql"), ("plain", "attach_plain.sql"),
            ("plpgsql", "attach_plpgsql.sql"), ("neon", "attach_neon.sql")]))
        self.check_no_new_shards("the attach runs")
        self.vacuum()
        log("single gen_validate vs prepared SELECT vs PL/pgSQL, 16 clients")
        self.figure("validate", self.throughput_pair("validate", [
            ("gencontrol", "validate_gencontrol.sql"), ("plain", "validate_plain.sql"),
            ("plpgsql", "validate_plpgsql.sql")]))

    def check_no_new_shards(self, after):
        """Every attach must have hit a loaded shard, in gencontrol and in the plain table alike."""
        counts = self.psql("SELECT (SELECT count(*) FROM gencontrol.tenant_shards), "
                           "(SELECT count(*) FROM bench.plain_shards)")
        if counts != f"{PROFILE['shards']}|{PROFILE['shards']}":
            raise RuntimeError(f"after {after} the tables hold {counts} shards, not {PROFILE['shards']}")

    def measure_batch_validate(self):
        for size in SIZES:
            log(f"batch validate of {size:,}: gen_validate(array) vs unnest join vs Neon's IN lists")
            # "gencontrol" and "unnest_binary" get their arrays as binary parameters of a prepared
            # statement, the way the shim calls gen_validate (bench/binary_call.py); the scripts
            # send text literals that the server parses ("gencontrol_text", "unnest").
            caller = binary_call.BinaryValidate(self.cluster.conninfo(DB), *self.validate_ids[size])
            calls = max(1, min(PROFILE["max_latency_tx"], round(100_000 / size)))
            try:
                runs = self.latency_pair(f"batch{size}", [
                    ("gencontrol_text", self.work(f"validate_{size}_gencontrol.sql")),
                    ("unnest", self.work(f"validate_{size}_unnest.sql")),
                    ("neon", self.work(f"validate_{size}_neon.sql"))],
                    extra=[("gencontrol", self.binary_variant(caller, "gencontrol", calls)),
                           ("unnest_binary", self.binary_variant(caller, "unnest", calls))])
            finally:
                caller.close()
            self.figure(f"batch_validate_{size}", runs, value="p50")
            self.commands.setdefault(f"batch{size}_gencontrol",
                                     f"bench/binary_call.py '{self.cluster.conninfo(DB)}' IDS_FILE (binary arrays)")

    def measure_re_attach(self):
        self.vacuum()
        for size in SIZES:
            log(f"re-attach of {size:,} shards: gen_re_attach vs UPDATE + SELECT vs PL/pgSQL vs Neon verbatim")
            p = os.path.join(BENCH, "pgbench")
            runs = self.latency_pair(f"reattach{size}", [
                ("gencontrol", f"{p}/re_attach_gencontrol.sql"), ("plain", f"{p}/re_attach_plain.sql"),
                ("plpgsql", f"{p}/re_attach_plpgsql.sql"), ("neon", f"{p}/re_attach_neon.sql")],
                mode="prepared", defines={"node": SIZE_NODE[size]})
            self.figure(f"re_attach_{size}", runs, value="p50")

    # --- the shim -----------------------------------------------------------------------------
    def start_shim(self, pool_size, binary=SHIM):
        self.shim_binary = binary
        argv = [binary, "--listen", f"127.0.0.1:{SHIM_PORT}", "--database-url", self.cluster.conninfo(DB),
                "--pool-size", str(pool_size), "--log-level", "warn"] + os.environ.get("BENCH_SHIM_ARGS", "").split()
        self.commands["shim"] = " ".join(argv)
        self.shim = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.work("shim.log"), "w"))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{SHIM_PORT}/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.shim.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the shim did not become ready; see {self.work('shim.log')}")

    def stop_shim(self):
        if self.shim:
            self.shim.send_signal(signal.SIGTERM)
            try:
                self.shim.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.shim.kill()
                self.shim.wait()
            self.shim = None

    def shim_memory_kib(self):
        values = {}
        with open(f"/proc/{self.shim.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line.split(":")[0]] = int(line.split()[1])
        return values

    def sql_validate128(self, clients, seconds, record=None, tcp=False):
        defines = {}
        for b, (ids, gens) in enumerate(self.validate128):
            defines[f"ids{b}"], defines[f"gens{b}"] = ids, gens
        return self.pgbench(f"sql_validate128_c{clients}", [self.work(f"validate128_{b}.sql") for b in range(8)],
                            clients=clients, seconds=seconds, defines=defines, record=record, tcp=tcp)

    def sql_attach(self, clients, seconds, record=None, tcp=False):
        return self.pgbench(f"sql_attach_c{clients}", [os.path.join(BENCH, "pgbench", "attach_gencontrol.sql")],
                            clients=clients, seconds=seconds, record=record, tcp=tcp)

    def shim_validate128(self, clients, seconds, record=None):
        return self.wrk(f"shim_validate128_c{clients}", os.path.join(BENCH, "wrk", "validate.lua"), clients,
                        seconds, {"BENCH_BODIES": self.work("validate128.jsonl")}, record=record)

    def shim_attach(self, clients, seconds, record=None):
        return self.wrk(f"shim_attach_c{clients}", os.path.join(BENCH, "wrk", "attach_hook.lua"), clients,
                        seconds, {"BENCH_IDS": self.work("attach_ids.txt")}, record=record)

    def shim_pairs_only(self):
        """BENCH_ONLY=shim: the headline shim pairs, printed, no report."""
        self.set_up()
        self.vacuum()
        self.start_shim(pool_size=max(PROFILE["sweep_clients"]))
        clients, seconds = PROFILE["clients"], PROFILE["tps_seconds"]
        before = os.environ.get("BENCH_SHIM_BEFORE")
        pool_size = max(PROFILE["sweep_clients"])

        def on(binary, f):
            def measure(w):
                if self.shim_binary != binary:
                    self.stop_shim()
                    self.start_shim(pool_size, binary)
                return f(clients, PROFILE["warmup_seconds"] if w else seconds)
            return measure

        for name, shim_fn, sql_fn in (("shim_validate128", self.shim_validate128, self.sql_validate128),
                                      ("shim_attach", self.shim_attach, self.sql_attach)):
            variants = [("shim", on(SHIM, shim_fn)),
                        ("sql", lambda w, f=sql_fn: f(clients, PROFILE["warmup_seconds"] if w else seconds)),
                        ("sql_tcp", lambda w, f=sql_fn: f(clients, PROFILE["warmup_seconds"] if w else seconds,
                                                          tcp=True))]
            if before:
                variants.insert(1, ("before", on(before, shim_fn)))
            runs = self.alternate(variants, PROFILE["shim_reps"])
            shim, sql = median_of(runs["shim"], "rate"), median_of(runs["sql"], "rate")
            sql_tcp = median_of(runs["sql_tcp"], "rate")
            log(f"{name}: shim {shim:,.0f} req/s, sql {sql:,.0f} tps, ratio {shim / sql:.3f}x; "
                f"sql over TCP {sql_tcp:,.0f} tps, ratio {shim / sql_tcp:.3f}x")
            if before:
                was = median_of(runs["before"], "rate")
                log(f"{name}: before {was:,.0f} req/s, ratio {was / sql:.3f}x")
            for label, rs in runs.items():
                log(f"  {label}: runs {[round(r.rate) for r in rs]}; CPU µs/request server "
                    f"{median_of(rs, 'server_us'):.0f}, load generator {median_of(rs, 'client_us'):.0f}, shim "
                    f"{median_of(rs, 'shim_us'):.0f}; other CPU max {max(r.foreign for r in rs):.0%}; "
                    f"errors {sum(r.errors for r in rs)}")
        self.stop_shim()
        self.check_no_new_shards("the shim runs")

    def measure_shim_and_sweep(self):
        have_shim = os.access(SHIM, os.X_OK) and os.environ.get("BENCH_NO_SHIM") != "1"
        clients = PROFILE["clients"]
        seconds = PROFILE["tps_seconds"]
        self.vacuum()
        if have_shim:
            self.start_shim(pool_size=max(PROFILE["sweep_clients"]))
            log(f"shim vs pgbench at {clients} clients: 128-entry validate and attach-hook")
            for name, shim_fn, sql_fn in (("shim_validate128", self.shim_validate128, self.sql_validate128),
                                          ("shim_attach", self.shim_attach, self.sql_attach)):
                runs = self.alternate([
                    ("shim", lambda w, f=shim_fn: f(clients, PROFILE["warmup_seconds"] if w else seconds,
                                                    record=None if w else name + "_shim")),
                    ("sql", lambda w, f=sql_fn: f(clients, PROFILE["warmup_seconds"] if w else seconds,
                                                  record=None if w else name + "_sql")),
                    # The same pgbench over TCP on loopback, the transport the shim's own clients use.
                    ("sql_tcp", lambda w, f=sql_fn: f(clients, PROFILE["warmup_seconds"] if w else seconds,
                                                      record=None if w else name + "_sql_tcp", tcp=True))],
                    PROFILE["shim_reps"], warmup=[True, True, False])
                self.figure(name, runs)
            self.results["shim_memory_kib"] = self.shim_memory_kib()
        else:
            why = "BENCH_NO_SHIM=1" if os.environ.get("BENCH_NO_SHIM") == "1" else "shim not built"
            self.results["notes"].append(f"shim rows not measured: {why} ({SHIM})")
        log(f"requests/s against clients {PROFILE['sweep_clients']}")
        for c in PROFILE["sweep_clients"]:
            measures = {"sql_validate128": self.sql_validate128, "sql_attach": self.sql_attach}
            if have_shim:
                measures.update(shim_validate128=self.shim_validate128, shim_attach=self.shim_attach)
            runs = {}
            for key, measure in measures.items():
                self.quiet_gate()
                runs[key] = measure(c, PROFILE["sweep_seconds"])
            row = {k: r.rate for k, r in runs.items()}
            row["other_cpu_max"] = max(r.foreign for r in runs.values())
            self.results["sweep"][c] = row
        if have_shim:
            self.results["shim_memory_kib_after_sweep"] = self.shim_memory_kib()
            self.stop_shim()
        self.check_no_new_shards("the shim and sweep runs")

    # --- the shim's front door at scale (issue 8) ---------------------------------------------
    def measure_shim_scale(self):
        """RSS with 10,000 idle connections open; req/s and p99 of 128-entry validates at 16, 256 and
        2,048 connections (no pgbench counterpart: PostgreSQL itself takes 300 connections here)."""
        if not (os.access(SHIM, os.X_OK) and os.environ.get("BENCH_NO_SHIM") != "1"):
            return
        import resource
        import socket
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 12000:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(12000, hard), hard))
        self.vacuum()
        self.start_shim(pool_size=max(PROFILE["sweep_clients"]))
        scale = {"base": self.shim_memory_kib()}
        idle = []
        try:
            for _ in range(10_000):
                idle.append(socket.create_connection(("127.0.0.1", SHIM_PORT), timeout=10))
            time.sleep(2)
            scale["idle_10000"] = self.shim_memory_kib()
        except OSError as e:
            scale["idle_error"] = f"{len(idle)} connections opened, then: {e}"
        finally:
            for s in idle:
                s.close()
        log(f"shim at scale: RSS {scale.get('idle_10000', {}).get('VmRSS', 0) / 1024:.1f} MiB with {len(idle)} idle "
            f"connections")
        scale["validate128"] = {}
        for c in (16, 256, 2048):
            self.quiet_gate()
            run = self.shim_validate128(c, PROFILE["sweep_seconds"] * 2, record=f"shim_validate128_scale_c{c}")
            scale["validate128"][c] = {"rate": run.rate, "p50_ms": run.p50, "p99_ms": run.p99, "errors": run.errors,
                                       "other_cpu": run.foreign}
            log(f"  {c} connections: {run.rate:.0f} req/s, p99 {run.p99:.1f} ms, {run.errors} errors")
        scale["after"] = self.shim_memory_kib()
        self.stop_shim()
        self.results["shim_scale"] = scale

    # --- diagnostics: where the time goes, measured in this run --------------------------------
    def diagnostics(self):
        log("diagnostics: pg_stat_statements (track = all) and EXPLAIN (ANALYZE, BUFFERS)")
        self.psql("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
        self.psql("SELECT pg_reload_conf()")
        time.sleep(0.5)
        stats = {}
        for label, script, defines in (
                ("attach_gencontrol", "attach_gencontrol.sql", None),
                ("attach_plain", "attach_plain.sql", None),
                ("validate_gencontrol", "validate_gencontrol.sql", None),
                ("validate_plain", "validate_plain.sql", None)):
            self.psql("SELECT pg_stat_statements_reset()")
            self.pgbench(f"diag_{label}", [os.path.join(BENCH, "pgbench", script)], clients=PROFILE["clients"],
                         seconds=2, defines=defines)
            stats[label] = self.statement_stats()
        size = SIZES[1]
        self.psql("SELECT pg_stat_statements_reset()")
        self.pgbench("diag_batch", [self.work(f"validate_{size}_gencontrol.sql")], transactions=5, mode="extended")
        stats[f"batch_validate_{size}"] = self.statement_stats(min_calls=1)
        self.psql("SELECT pg_stat_statements_reset()")
        self.pgbench("diag_reattach", [os.path.join(BENCH, "pgbench", "re_attach_gencontrol.sql")], transactions=2,
                     defines={"node": SIZE_NODE[SIZES[2]]})
        stats[f"re_attach_{SIZES[2]}"] = self.statement_stats(min_calls=1)
        self.psql("ALTER SYSTEM RESET pg_stat_statements.track")
        self.psql("SELECT pg_reload_conf()")
        self.results["statement_stats"] = stats
        self.results["wal_per_operation"] = self.wal_per_operation()

        explains = {}
        with open(self.work(f"validate_{size}_unnest.sql")) as f:
            explains[f"unnest join, {size:,} ids"] = self.psql_long("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + f.read())
        explains[f"UPDATE of {SIZES[2]:,} shards (plain baseline, rolled back)"] = self.explain_rolled_back(
            f"UPDATE bench.plain_shards SET generation = generation + 1 WHERE attached_node = {SIZE_NODE[SIZES[2]]}")
        self.results["explains"] = explains
        self.results["server"] = {
            "checkpoints": self.psql("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"),
            "version": self.psql("SELECT version()"),
            "wal_bytes": self.psql("SELECT pg_size_pretty(wal_bytes) FROM pg_stat_wal"),
        }

    def measure_instructions(self):
        """Instructions per call of the single-row operations and their baselines, counted by
        callgrind in a single-user backend (bench/instructions.py): the steady measure next to
        throughput, which this machine's other load moves by more than the targets' margins.
        The cluster is stopped for it (started again for BENCH_KEEP)."""
        if shutil.which("valgrind") is None:
            self.results["notes"].append("instructions per call not counted: valgrind is missing")
            return
        log("instructions per call: callgrind, one single-user backend on this data")
        self.cluster.stop("fast")
        try:
            counted, workdir = instructions.count(self.cluster.data, shards=PROFILE["shards"], dbname=DB)
            self.results["instructions"] = counted
            self.commands["instructions"] = (f"bench/instructions.py --data {self.cluster.data} "
                                             f"--shards {PROFILE['shards']} (callgrind files: {workdir})")
        except RuntimeError as error:  # the report of everything else is still written
            self.results["notes"].append(f"instructions per call not counted: {str(error)[:300]}")
        finally:
            if os.environ.get("BENCH_KEEP") == "1":
                self.cluster.start()

    def wal_bytes_of(self, tag, script, transactions, defines=None):
        """WAL inserted while one client runs `transactions` of `script` alone (commit records
        included), from pg_current_wal_insert_lsn before and after. The same rows are touched
        once before (the same random seed), so the pages carry no full-page image when measured:
        what is left is what the operation itself writes."""
        self.pgbench(f"{tag}_warm", [script], transactions=transactions, defines=defines, seed=4242)
        before = self.psql("SELECT pg_current_wal_insert_lsn()")
        self.pgbench(tag, [script], transactions=transactions, defines=defines, seed=4242)
        return float(self.psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{before}')"))

    def wal_per_operation(self):
        log("WAL bytes per attach and per re-attached shard, gencontrol and baselines")
        p = os.path.join(BENCH, "pgbench")
        wal = {"attach": {}, "re_attach_shard": {}}
        for label in ("gencontrol", "plain", "plpgsql", "neon"):
            wal["attach"][label] = round(self.wal_bytes_of(f"wal_attach_{label}", f"{p}/attach_{label}.sql", 2000) / 2000)
        size = SIZES[1]
        for label in ("gencontrol", "plain", "plpgsql", "neon"):
            total = self.wal_bytes_of(f"wal_reattach_{label}", f"{p}/re_attach_{label}.sql", 3,
                                      defines={"node": SIZE_NODE[size]})
            wal["re_attach_shard"][label] = round(total / (3 * size), 1)
        wal["re_attach_size"] = size
        return wal

    def explain_rolled_back(self, sql):
        return self.cluster.psql(f"BEGIN; EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF) {sql}; ROLLBACK;", dbname=DB)

    def statement_stats(self, min_calls=100):
        rows = self.psql(
            "SELECT calls, round((total_exec_time / calls * 1000)::numeric, 1), "
            "round((wal_records::numeric / calls), 1), round((wal_bytes / calls)::numeric, 0), "
            "round((shared_blks_hit::numeric / calls), 1), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) "
            f"FROM pg_stat_statements WHERE calls >= {min_calls} AND query !~* 'pg_stat_statements' "
            "ORDER BY total_exec_time DESC LIMIT 8")
        return [line.split("|", 5) for line in rows.splitlines() if line]

    # --- the report ---------------------------------------------------------------------------
    def finish(self):
        self.results["seconds"] = round(time.time() - self.started)
        with open(os.path.join(RESULTS, "results.json"), "w") as f:
            json.dump({**self.results, "commands": self.commands}, f, indent=1, default=str)
        import report  # bench/report.py: REPORT.md and the charts from the results
        self.machine["load_after"] = machine()["load_before"]
        report.write(self.results, self.commands, self.machine, RESULTS, os.path.join(BENCH, "charts.gp"))

    def close(self):
        self.stop_shim()
        if self.cluster and os.environ.get("BENCH_KEEP") != "1":
            self.cluster.stop("immediate")


def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
        except OSError:
            return "?"
    mem_kib = int(first("awk '/MemTotal/ {print $2}' /proc/meminfo") or 0)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": first("lscpu | sed -n 's/^Model name: *//p'") or platform.processor(),
        "cpus": os.cpu_count(),
        "memory": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "disk": first(f"df -h {WORK} | awk 'NR==2 {{print $1}}'"),
        "commit": first(f"git -C {ROOT} describe --always --dirty"),
        "library": first(f"md5sum $({PG_BIN}/pg_config --pkglibdir)/gencontrol.so | cut -c1-12; "
                         f"stat -c %y $({PG_BIN}/pg_config --pkglibdir)/gencontrol.so | cut -c1-19").replace("\n", ", built "),
        "extension_dirty": bool(first(f"git -C {ROOT} status --porcelain -- src/extension src/common sql")),
        "load_before": first("cut -d' ' -f1-3 /proc/loadavg"),
        "postgres": first(f"{PG_BIN}/postgres --version"),
        "shim": first(f"stat -c %y {SHIM} 2>/dev/null | cut -c1-19") or "not built",
    }


def main():
    bench = Bench()
    try:
        phases = (bench.set_up, bench.measure_attach_and_validate, bench.measure_batch_validate,
                  bench.measure_re_attach, bench.measure_shim_and_sweep, bench.measure_shim_scale,
                  bench.diagnostics, bench.measure_instructions)
        if os.environ.get("BENCH_SETUP_ONLY") == "1":
            phases = phases[:1]
        if os.environ.get("BENCH_ONLY") == "shim":
            return bench.shim_pairs_only()
        for phase in phases:
            t = time.time()
            phase()
            bench.results.setdefault("phase_seconds", {})[phase.__name__] = round(time.time() - t)
        if len(phases) == 1:
            log(f"set up only: {bench.cluster.conninfo(DB)}")
            return
        bench.finish()
        log(f"done in {bench.results['seconds']} s: {os.path.join(RESULTS, 'REPORT.md')}")
    finally:
        bench.close()


if __name__ == "__main__":
    sys.path.insert(0, BENCH)
    sys.exit(main())
