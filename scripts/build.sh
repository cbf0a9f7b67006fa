#!/usr/bin/env bash
# Builds and installs the extension (PGXS) and builds the shim and unit tests (CMake).
# Shared by run.sh, test.sh and bench.sh so all three build the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi

jobs=$(nproc 2>/dev/null || echo 2)
source scripts/pg_env.sh
make -s -j"$jobs"
"${sudo[@]}" make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
# -g1 (line tables and function names: enough for a backtrace) instead of -g: full debug info
# made src/serving/server.cpp, the longest compile, take 96 s instead of 70 s. For a debugger,
# configure build/ yourself with CMAKE_BUILD_TYPE=Debug.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs" >/dev/null
echo "build: extension installed into $("$PG_CONFIG" --pkglibdir); shim and tests in build/"
