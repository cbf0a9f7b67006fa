#!/usr/bin/python3
"""Instructions per call, counted by callgrind in a single-user backend: a measure that does not
move with the machine's other load, for changes worth a few per cent (throughput on a shared
2-vCPU VM moves more than that between runs). Each variant is a pgbench script of make bench
(bench/pgbench/VARIANT.sql), run as PREPARE of its statement, then EXECUTE with arguments drawn
as its \set lines draw them; a short and a long run are counted and their difference divided by
the extra calls, so start-up cancels out. One backend, no concurrency: what it leaves out is
waiting, contention and cache misses, which throughput has.

Every variant of one count draws the same arguments (one seed); the seed differs between counts,
because a second attach with the same node would not move the shard (the plain UPDATE is then
heap-only). full_page_writes is off for the count: each single-user run starts right after a
checkpoint, so almost every page a call touches would otherwise be logged whole (about 10,000
instructions each), which pgbench's steady state between checkpoints mostly does not do.

make bench runs it as its last phase (bench.py). By hand, on the benchmark cluster's data
directory while that cluster is stopped (bench.py with BENCH_KEEP=1 leaves one):

    bench/instructions.py [--calls 1000] [--shards 1000000] [VARIANT...]
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from pgcluster import PG_BIN, as_server_user  # noqa: E402


PGBENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pgbench")
VARIANTS = ("attach_gencontrol", "attach_plain", "validate_gencontrol", "validate_plain")


def _script(variant):
    """The variant's pgbench script (bench/pgbench/VARIANT.sql) as a statement with $1, $2...
    for its \\set variables, and those variables' expressions in order."""
    sets, lines = [], []
    with open(os.path.join(PGBENCH, f"{variant}.sql")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("\\set "):
                name, expression = line[len("\\set "):].split(" ", 1)
                sets.append((name, expression))
            elif line and not line.startswith("--"):
                lines.append(line)
    statement = " ".join(lines).rstrip(";")
    for number, (name, _) in enumerate(sets, 1):
        statement = re.sub(rf"(?<!:):{name}\b", f"${number}", statement)
    return statement, sets


def _arguments(sets, shards):
    """One call's values of the \\set variables, as pgbench draws them: integer arithmetic and
    random(lo, hi) with both ends included."""
    values = {"shards": shards}
    for name, expression in sets:
        python = re.sub(r":(\w+)", r"\1", expression).replace("/", "//")
        values[name] = eval(python, {"__builtins__": {}, "random": random.randint}, dict(values))
    return tuple(values[name] for name, _ in sets)


def _collected(variant, calls, shards, data, workdir, dbname):
    statement, sets = _script(variant)
    script = os.path.join(workdir, f"{variant}-{calls}.sql")
    with open(script, "w") as f:
        f.write(f"PREPARE call({', '.join('bigint' for _ in sets)}) AS {statement}\n")
        for _ in range(calls):
            f.write(f"EXECUTE call({', '.join(str(v) for v in _arguments(sets, shards))})\n")
    out = os.path.join(workdir, f"{variant}-{calls}.callgrind")
    command = (f"valgrind --tool=callgrind --callgrind-out-file={out} {PG_BIN}/postgres --single "
               f"-D {data} -c shared_buffers=256MB -c full_page_writes=off {dbname} < {script} > /dev/null")
    run = subprocess.run(as_server_user(["sh", "-c", command]), capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not match:
        raise RuntimeError(f"{variant}: callgrind failed:\n{run.stderr[-2000:]}")
    # A statement that fails is cheap and would pass for a fast one: every call must succeed.
    errors = [line for line in run.stderr.splitlines() if "ERROR:" in line]
    if errors:
        raise RuntimeError(f"{variant}: {len(errors)} of {calls} calls failed, the first: {errors[0]}")
    return int(match.group(1))


def count(data, variants=VARIANTS, calls=1000, shards=1_000_000, dbname="bench", seed=None):
    """({variant: instructions per call}, the directory of the call files) on the stopped cluster
    in `data` (its rows change: the attaches run); callgrind_annotate reads the files."""
    seed = int(time.time()) if seed is None else seed
    workdir = tempfile.mkdtemp(prefix=f"gencontrol-instructions-{seed}-")
    os.chmod(workdir, 0o777)
    counted = {}
    for variant in variants:
        random.seed(seed)  # every variant calls with the same arguments, in the same order
        short = _collected(variant, 100, shards, data, workdir, dbname)
        long = _collected(variant, 100 + calls, shards, data, workdir, dbname)
        counted[variant] = round((long - short) / calls)
    return counted, workdir


def main():
    port = os.environ.get("BENCH_PORT", "15600")
    default_data = (os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters") + "/" +
                    ("bench" if port == "15600" else f"bench-{port}") + "/data")
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--shards", type=int, default=1_000_000)
    p.add_argument("--data", default=default_data)
    p.add_argument("variants", nargs="*", default=list(VARIANTS), help=", ".join(VARIANTS))
    args = p.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    counted, workdir = count(args.data, list(dict.fromkeys(args.variants)), args.calls, args.shards)
    for variant, n in counted.items():
        print(f"{variant:24s} {n:10,d} instructions per call")
    print(f"callgrind files in {workdir}")


if __name__ == "__main__":
    main()
