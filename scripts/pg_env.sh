# Sourced by every script that runs PostgreSQL programs: the one place that decides which
# PostgreSQL they use. PG_CONFIG (default: pg_config on PATH) names it; PG_BIN is its bindir.
# scripts/pgcluster.py derives PG_BIN the same way for the Python tests and benchmarks.
export PG_CONFIG=${PG_CONFIG:-pg_config}
if [[ -z ${PG_BIN:-} ]]; then
  PG_BIN=$("$PG_CONFIG" --bindir 2>/dev/null) || PG_BIN=""
fi
export PG_BIN
