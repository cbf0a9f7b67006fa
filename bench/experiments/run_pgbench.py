#!/usr/bin/python3
"""Alternating pgbench runs of several scripts against the benchmark cluster; prints each
script's median tps, median of per-run p50 latency, and the median database-server CPU time
per transaction (all backends, from /proc: robust when other jobs share the machine).

    bench/experiments/run_pgbench.py [--clients 16] [--seconds 4] [--reps 3] [--db bench]
                                      [-D name=value ...] [DB:]SCRIPT...
A DB: prefix runs that script against another database (e.g. a prototype from load_proto.py).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

# The benchmark cluster bench.py leaves running with BENCH_KEEP=1 (BENCH_PORT as for bench.py).
PORT = os.environ.get("BENCH_PORT", "15600")
CLUSTER_DIR = os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters") + "/" + ("bench" if PORT == "15600" else f"bench-{PORT}")
SOCKDIR = CLUSTER_DIR + "/sock"

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cputime  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts"))
from pgcluster import PG_BIN  # noqa: E402  (the PostgreSQL that PG_CONFIG names)
SOCK = SOCKDIR
PIDFILE = CLUSTER_DIR + "/data/postmaster.pid"


def postmaster():
    with open(PIDFILE) as f:
        return int(f.readline())


def run(target, args, logdir):
    db, script = target.split(":", 1) if ":" in target else (args.db, target)
    prefix = os.path.join(logdir, "log")
    for f in os.listdir(logdir):
        os.remove(os.path.join(logdir, f))
    argv = [f"{PG_BIN}/pgbench", "-n", "-h", SOCK, "-p", PORT, "-U", "postgres", "-M", args.mode,
            "-c", str(args.clients), "-j", str(min(args.clients, 2)), "-T", str(args.seconds),
            "-l", f"--log-prefix={prefix}", "--max-tries=100", "-f", script]
    for d in args.define:
        argv += ["-D", d]
    argv.append(db)
    connected = len(cputime.children(postmaster()))
    before = cputime.Sample(postmaster())
    out = subprocess.run(argv, capture_output=True, text=True)
    cputime.settle(postmaster(), connected)
    after = cputime.Sample(postmaster())
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    tps = next(float(l.split()[2]) for l in out.stdout.splitlines() if l.startswith("tps = "))
    lat = []
    for f in os.listdir(logdir):
        with open(os.path.join(logdir, f)) as fh:
            # Transactions that failed (a serialization failure past --max-tries) log "failed".
            lat += [int(l.split()[2]) / 1000 for l in fh if l.strip() and l.split()[2].isdigit()]
    cpu_us = cputime.Sample.server_seconds(before, after) * 1e6 / len(lat)
    return tps, statistics.median(lat), cpu_us, cputime.Sample.foreign_share(before, after)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--db", default="bench")
    p.add_argument("--mode", default="prepared")
    p.add_argument("-D", dest="define", action="append", default=[])
    p.add_argument("scripts", nargs="+")
    args = p.parse_args()
    results = {s: [] for s in args.scripts}
    with tempfile.TemporaryDirectory() as logdir:
        for s in args.scripts:  # warm-up
            run(s, argparse.Namespace(**{**vars(args), "seconds": 1}), logdir)
        for r in range(args.reps):
            order = args.scripts if r % 2 == 0 else list(reversed(args.scripts))
            for s in order:
                results[s].append(run(s, args, logdir))
    for s, runs in results.items():
        tps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        name = s.split(":", 1)[0] + ":" + os.path.basename(s) if ":" in s else os.path.basename(s)
        print(f"{name:36s} {tps:7.0f} tps  p50 {p50:6.2f} ms  server CPU {cpu:6.1f} us/tx   "
              "runs " + ", ".join(f"{r[0]:.0f}/{r[2]:.0f}us" for r in runs) +
              f"   other load <= {max(r[3] for r in runs) * 100:.0f}%", flush=True)


if __name__ == "__main__":
    main()
