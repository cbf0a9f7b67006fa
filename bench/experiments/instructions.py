#!/usr/bin/python3
"""Instructions per call, counted by callgrind in a single-user backend: a measure that does not
move with the machine's other load, for changes worth a few per cent (throughput on the shared
2-vCPU VM moves more than that between runs). Each variant runs as PREPARE then EXECUTE with
pgbench's random arguments; a short and a long run are counted and their difference divided by
the extra calls, so start-up cancels out. Needs the benchmark cluster (bench.py with BENCH_KEEP=1)
stopped: it runs `postgres --single` on its data directory as the postgres user.

    bench/experiments/instructions.py [--calls 1500] [--shards 1000000] [VARIANT...]
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts"))
from pgcluster import PG_BIN  # noqa: E402

PORT = os.environ.get("BENCH_PORT", "15600")
DATA = (os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters") + "/" +
        ("bench" if PORT == "15600" else f"bench-{PORT}") + "/data")

# Each variant: the prepared statement (int shard number $1, bigint node $2) and how pgbench's
# script picks its arguments (bench/pgbench/*.sql).
MOVED = lambda shards: (10 * random.randint(0, shards // 10 - 1) + 5, random.randint(4, 100))  # noqa: E731
ANY = lambda shards: (random.randint(0, shards - 1), 0)  # noqa: E731
VARIANTS = {
    "attach_gencontrol": ("SELECT gencontrol.gen_attach(md5($1::text)::gencontrol.tenant_shard_id, $2)", MOVED),
    "attach_plain": ("UPDATE bench.plain_shards SET generation = generation + 1, attached_node = $2, "
                     "updated_at = now() WHERE id = md5($1::text) RETURNING generation", MOVED),
    "validate_gencontrol": ("SELECT gencontrol.gen_validate(md5($1::text)::gencontrol.tenant_shard_id, 1)", ANY),
    "validate_plain": ("SELECT generation = 1 FROM bench.plain_shards WHERE id = md5($1::text) "
                       "AND deleted_at IS NULL", ANY),
}


def instructions(variant, calls, shards, workdir):
    statement, arguments = VARIANTS[variant]
    script = os.path.join(workdir, f"{variant}-{calls}.sql")
    with open(script, "w") as f:
        f.write(f"PREPARE call(integer, bigint) AS {statement}\n")
        for _ in range(calls):
            shard, node = arguments(shards)
            f.write(f"EXECUTE call({shard}, {node})\n")
    out = os.path.join(workdir, f"{variant}-{calls}.callgrind")
    command = (f"valgrind --tool=callgrind --callgrind-out-file={out} {PG_BIN}/postgres --single "
               f"-D {DATA} -c shared_buffers=256MB bench < {script} > /dev/null")
    run = subprocess.run(["su", "postgres", "-c", command], capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not match:
        sys.exit(f"{variant}: callgrind failed:\n{run.stderr[-2000:]}")
    return int(match.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=1500)
    p.add_argument("--shards", type=int, default=1000000)
    p.add_argument("variants", nargs="*", default=list(VARIANTS))
    args = p.parse_args()
    random.seed(1)
    workdir = tempfile.mkdtemp(prefix="instructions-")
    os.chmod(workdir, 0o777)
    for variant in args.variants:
        short = instructions(variant, 100, args.shards, workdir)
        long = instructions(variant, 100 + args.calls, args.shards, workdir)
        print(f"{variant:24s} {(long - short) / args.calls:10.0f} instructions per call", flush=True)
    print(f"callgrind files in {workdir}")


if __name__ == "__main__":
    main()
