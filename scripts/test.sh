#!/usr/bin/env bash
# Runs Reconnu's whole test suite on a fresh Debian machine:
#   1. installs the Debian packages it needs (scripts/setup.sh, idempotent);
#   2. builds and runs every test (unit, evaluation floors, integration over
#      gRPC, benchmark smoke runs) in build/;
#   3. builds the unit tests with ASan+UBSan in build-asan/ and runs them;
#   4. runs the request fuzzer for a bounded time when it is available.
# Usage: bash scripts/test.sh            (FUZZ_SECONDS=60 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

bash scripts/setup.sh

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$JOBS"

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRECONNU_ASAN=ON \
      -DRECONNU_BENCH=OFF -DRECONNU_RPC=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$JOBS" -L unit

if [ -x scripts/fuzz.sh ] && [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "== fuzzing request decoding for ${FUZZ_SECONDS}s =="
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
fi
echo "== all test stages passed =="
