#!/usr/bin/python3
"""Runs an experiment file of labelled variants (\\echo == LABEL, then its statements) several
times against the benchmark cluster and prints each label's median time in ms.

    bench/experiments/run_variants.py FILE [REPEATS] [-v name=value ...]
Timings are psql's \\timing per statement, summed per label (BEGIN and ROLLBACK included).
"""
import os
import re
import statistics
import subprocess
import sys

# The benchmark cluster bench.py leaves running with BENCH_KEEP=1 (BENCH_PORT as for bench.py).
PORT = os.environ.get("BENCH_PORT", "15600")
CLUSTER_DIR = os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters") + "/" + ("bench" if PORT == "15600" else f"bench-{PORT}")
SOCKDIR = CLUSTER_DIR + "/sock"

PSQL = ["psql", "-X", "-h", SOCKDIR, "-p", PORT,
        "-U", "postgres", "-d", os.environ.get("BENCH_DB", "bench")]


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 3
    extra = [a for a in sys.argv[2:] if a.startswith("-v") or "=" in a]
    argv = PSQL[:]
    for a in extra:
        if a != "-v":
            argv += ["-v", a]
    times = {}
    for _ in range(repeats):
        done = subprocess.run(argv + ["-f", path], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"psql failed:\n{done.stderr}")
        out = done.stdout
        label = None
        for line in out.splitlines():
            m = re.match(r"^Time: ([\d.]+) ms", line)
            if m and label:
                times[label][-1] += float(m.group(1))
            elif line.startswith("== "):
                label = line[3:].strip()
                times.setdefault(label, []).append(0.0)
    for label, values in times.items():
        print(f"{label:12s} median {statistics.median(values):9.1f} ms   runs " + ", ".join(f"{v:.1f}" for v in values))


if __name__ == "__main__":
    main()
