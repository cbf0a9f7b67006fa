#!/usr/bin/python3
"""Loads a prototype build of the extension into its own database on the benchmark cluster,
without installing anything: the install script is run with MODULE_PATHNAME pointing at the
prototype's gencontrol.so, then bench/baselines.sql and bench/load.sql as bench.py does.

    bench/experiments/load_proto.py TREE DBNAME [SHARDS]
TREE is a built copy of the extension (Makefile, src/, sql/), e.g. /tmp/gencontrol-proto/opt.
Compare prototypes with run_pgbench.py --db DBNAME, one database per build.
"""
import os
import re
import subprocess
import sys

# The benchmark cluster bench.py leaves running with BENCH_KEEP=1 (BENCH_PORT as for bench.py).
PORT = os.environ.get("BENCH_PORT", "15600")
CLUSTER_DIR = os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters") + "/" + ("bench" if PORT == "15600" else f"bench-{PORT}")
SOCKDIR = CLUSTER_DIR + "/sock"

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "scripts"))
from pgcluster import PG_BIN  # noqa: E402  (the PostgreSQL that PG_CONFIG names)

PSQL = [f"{PG_BIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
        SOCKDIR, "-p", PORT, "-U", "postgres"]


def main():
    tree, db = sys.argv[1], sys.argv[2]
    shards = sys.argv[3] if len(sys.argv) > 3 else "1000000"
    so = os.path.join(os.path.abspath(tree), "gencontrol.so")
    # The install script of the newest version (what CREATE EXTENSION runs).
    scripts = [f for f in os.listdir(os.path.join(tree, "sql")) if re.fullmatch(r"gencontrol--[0-9.]+\.sql", f)]
    newest = max(scripts, key=lambda f: [int(p) for p in f[len("gencontrol--"):-len(".sql")].split(".")])
    with open(os.path.join(tree, "sql", newest)) as f:
        script = f.read()
    script = script.replace("MODULE_PATHNAME", so)
    script = re.sub(r"^\\echo .*$", "", script, flags=re.M)
    script = re.sub(r"^SELECT pg_catalog\.pg_extension_config_dump\(.*$", "", script, flags=re.M)
    script = "CREATE SCHEMA gencontrol;\n" + script
    os.makedirs("/tmp/gencontrol-proto", exist_ok=True)
    path = f"/tmp/gencontrol-proto/{db}.sql"
    with open(path, "w") as f:
        f.write(script)
    subprocess.run(PSQL + ["-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"],
                   check=True)
    subprocess.run(PSQL + ["-d", db, "-c", "CREATE EXTENSION pg_stat_statements"], check=True)
    for f, variables in ((path, []), (os.path.join(BENCH, "baselines.sql"), []),
                         (os.path.join(BENCH, "load.sql"), ["-v", f"shards={shards}"])):
        subprocess.run(PSQL + ["-d", db] + variables + ["-f", f], check=True, stdout=subprocess.DEVNULL)
    print(f"{db}: {so} loaded with {shards} shards")


if __name__ == "__main__":
    main()
