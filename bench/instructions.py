#!/usr/bin/python3
"""Instructions per call, counted by callgrind in a single-user backend: a measure that does not
move with the machine's other load, for changes worth a few per cent (throughput on a shared
2-vCPU VM moves more than that between runs). Each variant runs as PREPARE, then EXECUTE with the
random arguments its pgbench script (bench/pgbench/) would pick; a short and a long run are
counted and their difference divided by the extra calls, so start-up cancels out. One backend, no
concurrency: what it leaves out is waiting, contention and cache misses, which throughput has.

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


def _moved(shards):  # attach_*.sql: a shard of nodes 4..100 moves to one of them
    return 10 * random.randint(0, shards // 10 - 1) + 5, random.randint(4, 100)


def _any(shards):  # validate_*.sql: any shard
    return random.randint(0, shards - 1), 0


# Each variant: the prepared statement ($1 the shard's number, $2 a node) and its arguments.
VARIANTS = {
    "attach_gencontrol": ("SELECT gencontrol.gen_attach(md5($1::text)::gencontrol.tenant_shard_id, $2)", _moved),
    "attach_plain": ("UPDATE bench.plain_shards SET generation = generation + 1, attached_node = $2, "
                     "updated_at = now() WHERE id = md5($1::text) RETURNING generation", _moved),
    "validate_gencontrol": ("SELECT gencontrol.gen_validate(md5($1::text)::gencontrol.tenant_shard_id, 1)", _any),
    "validate_plain": ("SELECT generation = 1 FROM bench.plain_shards WHERE id = md5($1::text) "
                       "AND deleted_at IS NULL", _any),
}


def _collected(variant, calls, shards, data, workdir, dbname):
    statement, arguments = VARIANTS[variant]
    script = os.path.join(workdir, f"{variant}-{calls}.sql")
    with open(script, "w") as f:
        f.write(f"PREPARE call(integer, bigint) AS {statement}\n")
        for _ in range(calls):
            f.write("EXECUTE call(%d, %d)\n" % arguments(shards))
    out = os.path.join(workdir, f"{variant}-{calls}.callgrind")
    command = (f"valgrind --tool=callgrind --callgrind-out-file={out} {PG_BIN}/postgres --single "
               f"-D {data} -c shared_buffers=256MB -c full_page_writes=off {dbname} < {script} > /dev/null")
    run = subprocess.run(as_server_user(["sh", "-c", command]), capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not match:
        raise RuntimeError(f"{variant}: callgrind failed:\n{run.stderr[-2000:]}")
    return int(match.group(1))


def count(data, variants=tuple(VARIANTS), calls=1000, shards=1_000_000, dbname="bench", seed=None):
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
