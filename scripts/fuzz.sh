#!/usr/bin/env bash
# Fuzzes request decoding and validation (tests/fuzz/fuzz_codec.c) with
# libFuzzer for a bounded time. Builds with clang into build-fuzz/ (every
# library instrumented for coverage and AddressSanitizer), seeds a corpus
# with a few valid requests, then runs.
# Usage: bash scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
JOBS=${JOBS:-$(nproc)}
B=build-fuzz

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" \
  -DRECONNU_FUZZ=ON -DRECONNU_BENCH=OFF >/dev/null
cmake --build "$B" -j"$JOBS" --target fuzz_codec

CORPUS="$B/fuzz-corpus"
mkdir -p "$CORPUS"
# First byte: request type (0 Upsert, 1 Identify, 2 GetEntity, 3 Delete,
# 4 Explain, 5 UpsertStream, 6 Stats, 7 Health), then the message bytes.
printf '\x00\x0a\x1b\x0a\x04shop\x12\x011\x1a\x05Marie\x22\x05Curie\x32\x0a1867-11-07' > "$CORPUS/upsert"
printf '\x01\x0a\x13\x1a\x04Anna\x4a\x0ba@b.example' > "$CORPUS/identify"
printf '\x02\x08\x2a' > "$CORPUS/get-id"
printf '\x02\x12\x0b\x0a\x04shop\x12\x03abc' > "$CORPUS/get-key"
printf '\x03\x0a\x0b\x0a\x04shop\x12\x03abc' > "$CORPUS/delete"
printf '\x04\x0a\x06\x1a\x04Anna\x12\x06\x1a\x04Anne' > "$CORPUS/explain"
printf '\x05\x0a\x0b\x0a\x04shop\x12\x011\x5a\x02\x1a\x00\x10\x07' > "$CORPUS/stream"
printf '\x07\x0a\x12reconnu.v1.Reconnu' > "$CORPUS/health"

echo "== fuzzing request decoding for ${SECONDS_TO_RUN}s =="
"$B/engine/rpc/fuzz_codec" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 \
  -rss_limit_mb=2048 -print_final_stats=1 "$CORPUS"
