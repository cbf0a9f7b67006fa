#!/usr/bin/env bash
# make test: set-up, then pgTAP, unit, integration (shim, concurrency, crash, failover, partition),
# end-to-end (storage nodes), the alert rules, and the Debian packages (built in the background
# while the other suites run, then installed, tested, removed again).
# Every cluster it starts is stopped on exit, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/bootstrap.sh
source scripts/pg_env.sh
scripts/build.sh

PGTAP_PORT=15440
export GENCONTROL_CLUSTERS=${GENCONTROL_CLUSTERS:-/tmp/gencontrol-clusters-test}
# The package build is minutes of compiling and no test: it runs in the background, at the
# lowest CPU priority so the suites keep the CPU they ask for, and the package step waits for it.
# It builds in a copy of the tree (scripts/deb.sh) and installs nothing.
deb_log=$root/build/deb-build.log
deb_started=$SECONDS
setsid nice -n 19 scripts/deb.sh >"$deb_log" 2>&1 &
deb_pid=$!
cleanup() {
  kill -- -"$deb_pid" 2>/dev/null || true
  /usr/bin/python3 scripts/pgcluster.py stop-all || true
}
trap cleanup EXIT INT TERM

status=0
# Each step's heading says when it started (seconds since make test began, set-up included), so a
# run's log shows where its minutes went: make test should stay under 15 minutes on 2 cores.
step() {
  echo
  echo "==> [${SECONDS} s] $*"
}

step "unit tests (ctest)"
(cd build && ctest --output-on-failure) || status=1

step "pgTAP suite on a fresh install of the newest version (pg_prove)"
# wal_writer_delay is long so that an asynchronous commit stays unflushed long enough for
# the durability test to see the difference.
/usr/bin/python3 scripts/pgcluster.py start pgtap "$PGTAP_PORT" --db gencontrol_test \
  --extension pgtap --extension dblink --extension gencontrol \
  --conf wal_writer_delay=10000 --conf wal_writer_flush_after=1GB --conf autovacuum=off >/dev/null
sock="$GENCONTROL_CLUSTERS/pgtap/sock"
# pg_prove runs psql, which refuses nothing as root; the server trusts local connections.
pg_prove --psql-bin "$PG_BIN/psql" -h "$sock" -p "$PGTAP_PORT" -U postgres -d gencontrol_test --ext .sql -r test/pgtap ||
  status=1

step "pgTAP suite again in the same database: what a run commits (nodes, tombstones) must not trip the next"
pg_prove --psql-bin "$PG_BIN/psql" -h "$sock" -p "$PGTAP_PORT" -U postgres -d gencontrol_test --ext .sql -r test/pgtap ||
  status=1

step "upgrade from 1.0: rows kept, same objects as a fresh install, then the pgTAP suite again (pg_prove)"
test/upgrade/run.sh "$sock" "$PGTAP_PORT" gencontrol_test || status=1

step "fuzz: shim request parsing (20 s)"
scripts/fuzz.sh 20 || status=1

step "integration tests"
/usr/bin/python3 test/integration/run.py "$@" || status=1

step "end-to-end tests: storage nodes, the shim and PostgreSQL (checker, split brain, chaos)"
# GENCONTROL_LONG=1 (make test-long) makes the chaos run long; scenario tests skip only when
# build/gencontrol-node is not built.
/usr/bin/python3 test/e2e/run.py "$@" || status=1

step "alert rules and dashboard (promtool)"
scripts/test-alerts.sh || status=1

# The one suite that installs into the system PostgreSQL: it sets make install's copies aside
# and puts them back when it ends, so the order of the suites does not matter.
step "Debian packages: build, dpkg -i, pgTAP on the packaged extension, systemd unit, lintian"
waited=$SECONDS
if wait "$deb_pid"; then
  GENCONTROL_DEBS_BUILT="scripts/deb.sh, started $((waited - deb_started)) s before this step, waited $((SECONDS - waited)) s" \
    scripts/test-packages.sh || status=1
else
  tail -n 60 "$deb_log"
  echo "packages: the package build failed (log: $deb_log)"
  status=1
fi

echo
echo "make test: ${SECONDS} s in all"
if [[ $status -eq 0 ]]; then echo "make test: all suites passed"; else echo "make test: FAILED"; fi
exit $status
