#!/usr/bin/python3
"""make bench, part two: what gen_validate's read barrier costs (bench/results/READ_BARRIER.md).

A durable primary (fsync and synchronous_commit on) with 100,000 shards and a streaming
standby on the same machine. Single and 128-entry validates are measured with pgbench, barrier
on against barrier off (the baseline, set per session with PGOPTIONS), alternating, medians of
the repetitions: once with the standby named in synchronous_standby_names (the barrier writes,
flushes and waits for it) and once with synchronous_standby_names empty (the barrier must cost
nothing). Latency at one client, throughput at 16. The standby shares the primary's disk and
CPUs, so a round trip here is a lower bound for one across availability zones.

    BENCH_QUICK=1   fewer and shorter repetitions
"""
import json
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from pgcluster import PG_BIN, Cluster  # noqa: E402

RESULTS = os.path.join(BENCH, "results")
WORK = "/tmp/gencontrol-bench-read-barrier"
PRIMARY_PORT, STANDBY_PORT = 15620, 15621
DB = "bench"
SHARDS = 100_000
QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = 2 if QUICK else 3
SECONDS = 2 if QUICK else 3
CLIENTS = 16
STANDBY_NAME = "bench_standby"

CONF = {
    "shared_buffers": "512MB",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
    "jit": "off",
}


def log(message):
    print(f"[bench read barrier {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BarrierBench:
    def __init__(self):
        self.primary = Cluster("bench-barrier-a", PRIMARY_PORT)
        self.standby = Cluster("bench-barrier-b", STANDBY_PORT)
        self.results = {}

    def set_up(self):
        os.makedirs(WORK, exist_ok=True)
        os.makedirs(RESULTS, exist_ok=True)
        self.primary.init(CONF).start()
        self.primary.create_database(DB, ["gencontrol"])
        self.primary.psql(
            "SELECT gencontrol.node_register(1, 'ps-1', 9898, 'ps-1', 6400);"
            "SELECT count(gencontrol.gen_attach(md5(i::text)::gencontrol.tenant_shard_id, 1)) "
            f"FROM generate_series(0, {SHARDS - 1}) i", dbname=DB)
        self.primary.psql("VACUUM ANALYZE gencontrol.tenant_shards", dbname=DB)
        self.standby.init(CONF, replica_of=self.primary)
        self.standby.append_conf({"primary_conninfo": f"'host={self.primary.sockdir} port={PRIMARY_PORT} "
                                                      f"user=postgres application_name={STANDBY_NAME}'"})
        self.standby.start()
        ids = self.primary.psql(f"SELECT md5(i::text) FROM generate_series(0, 127) i", dbname=DB).split()
        with open(os.path.join(WORK, "single.sql"), "w") as f:
            f.write(f"\\set i random(0, {SHARDS - 1})\n"
                    "SELECT gencontrol.gen_validate(md5(:i::text)::gencontrol.tenant_shard_id, 1);\n")
        with open(os.path.join(WORK, "batch128.sql"), "w") as f:
            f.write("SELECT v.tenant, v.valid FROM gencontrol.gen_validate(:ids::gencontrol.tenant_shard_id[], "
                    ":gens::integer[]) AS v;\n")
        self.defines = {"ids": "{" + ",".join(ids) + "}", "gens": "{" + ",".join("1" for _ in ids) + "}"}

    def synchronous(self, on):
        names = STANDBY_NAME if on else ""
        self.primary.psql(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        self.primary.psql("SELECT pg_reload_conf()")
        wanted = "sync" if on else "async"
        deadline = time.monotonic() + 60
        while self.primary.psql("SELECT sync_state FROM pg_stat_replication "
                                f"WHERE application_name = '{STANDBY_NAME}'") != wanted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby did not become {wanted}")
            time.sleep(0.1)

    def pgbench(self, script, clients, barrier):
        argv = [f"{PG_BIN}/pgbench", "-n", "-h", self.primary.sockdir, "-p", str(PRIMARY_PORT), "-U", "postgres",
                "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(SECONDS),
                "-f", os.path.join(WORK, script)]
        for key, value in self.defines.items():
            argv += ["-D", f"{key}={value}"]
        argv.append(DB)
        env = dict(os.environ, PGOPTIONS=f"-c gencontrol.validate_read_barrier={'on' if barrier else 'off'}")
        out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=WORK)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{out.stderr[-2000:]}")
        tps = latency = None
        for line in out.stdout.splitlines():
            if line.startswith("tps = "):
                tps = float(line.split()[2])
            if line.startswith("latency average = "):
                latency = float(line.split()[3])
        return {"tps": tps, "latency_ms": latency}

    def wal_per_call(self):
        """WAL records and bytes one validate writes, from EXPLAIN (ANALYZE, WAL)."""
        plan = json.loads(self.primary.psql(
            "EXPLAIN (ANALYZE, WAL, FORMAT JSON) SELECT gencontrol.gen_validate("
            "md5('1')::gencontrol.tenant_shard_id, 1)", dbname=DB))[0]["Plan"]
        return plan["WAL Records"], plan["WAL Bytes"]

    def measure(self):
        for standby in (True, False):
            self.synchronous(standby)
            where = "synchronous standby" if standby else "no synchronous standby"
            self.results.setdefault("wal", {})[where] = self.wal_per_call()
            for script in ("single.sql", "batch128.sql"):
                for clients in (1, CLIENTS):
                    log(f"{where}: {script} at {clients} client(s), barrier on vs off")
                    runs = {True: [], False: []}
                    for rep in range(REPS):
                        for barrier in ((True, False) if rep % 2 == 0 else (False, True)):
                            runs[barrier].append(self.pgbench(script, clients, barrier))
                    self.results.setdefault("runs", []).append({
                        "where": where, "script": script, "clients": clients,
                        "on": {k: statistics.median(r[k] for r in runs[True]) for k in ("tps", "latency_ms")},
                        "off": {k: statistics.median(r[k] for r in runs[False]) for k in ("tps", "latency_ms")},
                    })

    def report(self):
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                text=True).stdout.strip()
        lines = [
            "# The read barrier's cost (make bench)",
            "",
            f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs "
            f"(shared), `bench/read_barrier.py`{' (BENCH_QUICK=1)' if QUICK else ''}. {SHARDS:,} shards; "
            f"pgbench -M prepared, {SECONDS} s per run, {REPS} alternating repetitions, medians. Baseline: the "
            "same call with `gencontrol.validate_read_barrier = off` in the same run. The standby runs on the "
            "same machine and disk: a round trip to another zone adds its network latency per barrier (shared "
            "by the calls waiting at the same time).",
            "",
            "| configuration | validate | clients | barrier on | barrier off | ratio (on/off) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in self.results["runs"]:
            kind = "single" if r["script"] == "single.sql" else "128 entries"
            if r["clients"] == 1:
                on, off = r["on"]["latency_ms"], r["off"]["latency_ms"]
                lines.append(f"| {r['where']} | {kind} | 1 | {on:.3f} ms | {off:.3f} ms | {on / off:.2f}x the time |")
            else:
                on, off = r["on"]["tps"], r["off"]["tps"]
                lines.append(f"| {r['where']} | {kind} | {r['clients']} | {on:,.0f}/s | {off:,.0f}/s | "
                             f"{on / off:.2f}x the rate |")
        lines += ["", "WAL written per validate call (EXPLAIN (ANALYZE, WAL)): " + "; ".join(
            f"{where}: {recs} record(s), {size} bytes" for where, (recs, size) in self.results["wal"].items()), ""]
        path = os.path.join(RESULTS, "READ_BARRIER.md")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        with open(os.path.join(RESULTS, "read_barrier.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        print("\n".join(lines))
        log(f"wrote {path}")

    def close(self):
        self.standby.stop("immediate")
        self.primary.stop("immediate")


def main():
    bench = BarrierBench()
    try:
        bench.set_up()
        bench.measure()
        bench.report()
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
