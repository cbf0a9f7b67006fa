#!/usr/bin/env bash
# make bench: builds and installs the extension (and the HTTP shim if CMake can), then runs
# bench/bench.py, which writes bench/results/REPORT.md, and bench/read_barrier.py, which writes
# bench/results/READ_BARRIER.md, and bench/node.py, which writes bench/results/NODE.md.
# BENCH_QUICK=1 for a short development run.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/pg_env.sh
if ! "$PG_CONFIG" --pgxs >/dev/null 2>&1 || [[ ! -x $PG_BIN/pgbench ]] ||
   ! command -v wrk >/dev/null || ! command -v gnuplot >/dev/null || ! command -v valgrind >/dev/null; then
  scripts/bootstrap.sh
  source scripts/pg_env.sh
fi

make -s
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" make -s install PG_CONFIG="$PG_CONFIG"

# The shim is optional here: without it the report says its rows were not measured. An
# existing build/gencontrol-http is used as it is (its build date goes into the report), so a
# benchmark never races a developer's own build in build/; a clean clone builds it.
if [[ "${BENCH_NO_SHIM:-0}" != 1 && -f CMakeLists.txt && ! -x build/gencontrol-http ]]; then
  if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null &&
         cmake --build build --target gencontrol-http -j "$(nproc)" >/dev/null; }; then
    echo "bench: the HTTP shim did not build; its rows will say so" >&2
  fi
fi

/usr/bin/python3 bench/bench.py
/usr/bin/python3 bench/read_barrier.py
# gencontrol-node's deletion queue and attach: bench/results/NODE.md (builds the node if needed).
exec /usr/bin/python3 bench/node.py
