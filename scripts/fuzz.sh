#!/usr/bin/env bash
# Builds the libFuzzer target over the shim's request parsing with clang (ASan + UBSan) in its own
# build directory, and runs it for a bounded time. Any crash or sanitizer report fails the run.
#   scripts/fuzz.sh [SECONDS]   default 20 (or $GENCONTROL_FUZZ_SECONDS); `make fuzz` passes a longer time
set -euo pipefail

seconds="${1:-${GENCONTROL_FUZZ_SECONDS:-20}}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"  # its own clang build; ignored by git
cxx="$(command -v clang++-14 || command -v clang++ || true)"
if [[ -z "$cxx" ]]; then
  echo "fuzz: clang++ is missing (scripts/bootstrap.sh installs clang)" >&2
  exit 1
fi

flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DGENCONTROL_FUZZ=ON \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$build" --target fuzz_requests -j"$(nproc)" >/dev/null

# libFuzzer adds what it finds to the first corpus directory: a scratch copy keeps the seeds clean.
work="$build/corpus"
mkdir -p "$work" "$build/artifacts"
cp -n "$root"/test/fuzz/corpus/* "$work"/ 2>/dev/null || true

echo "fuzz: running fuzz_requests for ${seconds}s"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$build/fuzz_requests" "$work" \
  -dict="$root/test/fuzz/requests.dict" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 2>"$build/fuzz.log" || {
  tail -n 60 "$build/fuzz.log" >&2
  echo "fuzz: FAILED (crash input in $build/artifacts/)" >&2
  exit 1
}
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz.log" | grep -o '[0-9]*$' || echo "?")
echo "fuzz: ok, ${runs} inputs in ${seconds}s, no crash or sanitizer report"
