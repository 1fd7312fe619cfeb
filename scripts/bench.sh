#!/usr/bin/env bash
# Reproduces every benchmark figure of BENCHMARKS.md:
#   1. installs the Debian packages (scripts/setup.sh) and builds Release in
#      build-bench/ (BUILD_DIR=...);
#   2. records the machine (lscpu, memory, kernel);
#   3. runs the Google Benchmark micro-benchmarks (every bench/bench_*
#      binary there is, JSON);
#   4. generates about 1,000,000 records with reconnu-datagen (455,000
#      persons, seed 42) into a temporary folder;
#   5. in process (reconnu-bench-inproc): durable load, identify latency,
#      snapshot, cold start, RSS per million records;
#   6. starts reconnu-server (temporary data folder, sync always), loads
#      the records with `reconnu load` (UpsertStream), reads its RSS, takes
#      a snapshot, runs reconnu-bench health / checkout / till / mix at 1
#      and 8 connections (closed loop) and checkout in open loop, restarts
#      it to time the cold start from the snapshot until Health SERVING,
#      then runs bulk at 1 and 8 connections;
#   7. writes JSON, CSV and PNG files under bench/results/
#      (bench/results/quick/ with --quick) and summary.md from them
#      (scripts/bench_summary.py, which can be rerun alone).
# Usage: bash scripts/bench.sh [--quick] [--out DIR]
#   --quick   about 50,000 records and short phases, to try the script
#             (a few minutes); figures are not comparable with a full run.
# Environment: DURATION, WARMUP (seconds per phase), JOBS, BUILD_DIR.
# The full run takes about 30 minutes on 2 vCPUs; run it on an otherwise
# idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD_DIR:-build-bench}
QUICK=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  PERSONS=23000 DURATION=${DURATION:-3} WARMUP=${WARMUP:-1}
  IDENTIFY=20000 MICRO_MIN_TIME=0.02 OUT=${OUT:-bench/results/quick}
else
  PERSONS=455000 DURATION=${DURATION:-20} WARMUP=${WARMUP:-3}
  IDENTIFY=100000 MICRO_MIN_TIME=0.5 OUT=${OUT:-bench/results}
fi
SEED=42
# reconnu-datagen columns → record fields (the `datagen` preset of
# reconnu-eval and reconnu-bench-inproc).
MAP="source=source,source_id=source_id,given_name=given_name,family_name=family_name,birth_date=birth_date,gender=gender,email=email,email=email2,phone=phone,phone=phone2,address_line1=address_line1,city=city,postcode=postcode,country=country,identifier:loyalty=loyalty_id,updated_at=updated_at,consent:email=consent_email"

TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "== $* =="; }
now() { date +%s.%N; }

bash scripts/setup.sh

log "build (Release) in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target reconnu-server reconnu-cli \
  reconnu-bench reconnu-datagen reconnu-bench-inproc
MICRO_TARGETS=$(cmake --build "$BUILD" --target help | grep -o 'bench_[a-z0-9_]*' | sort -u || true)
[ -n "$MICRO_TARGETS" ] && cmake --build "$BUILD" -j"$JOBS" --target $MICRO_TARGETS
BIN_SERVER=$BUILD/engine/rpc/reconnu-server
BIN_CLI=$BUILD/tools/cli/reconnu
BIN_BENCH=$BUILD/tools/bench/reconnu-bench
BIN_DATAGEN=$BUILD/tools/datagen/reconnu-datagen
BIN_INPROC=$BUILD/tools/eval/reconnu-bench-inproc

rm -rf "$OUT"
mkdir -p "$OUT/micro" "$OUT/rpc"
echo "{\"quick\": $QUICK, \"persons\": $PERSONS, \"seed\": $SEED, \"duration_s\": $DURATION, \"warmup_s\": $WARMUP, \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"}" > "$OUT/run.json"

log "machine"
{
  lscpu
  echo
  free -m
  echo
  uname -srm
} > "$OUT/machine.txt"

log "micro-benchmarks"
for b in $MICRO_TARGETS; do
  [ -x "$BUILD/bench/$b" ] || continue
  echo "$b"
  "$BUILD/bench/$b" --benchmark_min_time="$MICRO_MIN_TIME" \
    --benchmark_format=json --benchmark_out="$OUT/micro/$b.json" \
    --benchmark_out_format=json >/dev/null
done

log "datagen: $PERSONS persons, seed $SEED"
DATA=$TMP/people.csv
"$BIN_DATAGEN" --persons "$PERSONS" --seed "$SEED" --out "$DATA"
RECORDS=$(( $(wc -l < "$DATA") - 1 ))
echo "$RECORDS records"

log "in process: durable load, identify, snapshot, cold start"
if ! "$BIN_INPROC" --preset datagen --json --identify "$IDENTIFY" \
  --data-dir "$TMP/inproc" "$DATA" > "$OUT/inproc.txt"; then
  echo "bench.sh: durable in-process run failed; in memory instead (no cold start figure)" >&2
  "$BIN_INPROC" --preset datagen --json --identify "$IDENTIFY" "$DATA" > "$OUT/inproc.txt"
fi
cat "$OUT/inproc.txt"
rm -rf "$TMP/inproc"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_server() {
  rm -f "$TMP/port"
  "$BIN_SERVER" --listen 127.0.0.1:0 --port-file "$TMP/port" \
    --data-dir "$TMP/server" --grace-ms 30000 >> "$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    [ -s "$TMP/port" ] && break
    sleep 0.05
  done
  [ -s "$TMP/port" ] || { echo "bench.sh: server did not start" >&2; tail "$TMP/server.log" >&2; exit 1; }
  ADDR=127.0.0.1:$(cat "$TMP/port")
}

wait_serving() {
  # one client asking every 20 ms over one connection (a client process
  # per check took most of a core from the recovery it was timing)
  "$BIN_CLI" --server "$ADDR" --timeout-ms 1000 health --wait 120 >/dev/null 2>&1 && return 0
  echo "bench.sh: server not SERVING" >&2
  tail "$TMP/server.log" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
}

log "server: load $RECORDS records over UpsertStream"
start_server
wait_serving
RSS_EMPTY=$(rss_kib "$SERVER_PID")
"$BIN_CLI" --server "$ADDR" --json load "$DATA" --map "$MAP" > "$OUT/load.json"
cat "$OUT/load.json" | head -c 400; echo
RSS_LOADED=$(rss_kib "$SERVER_PID")
"$BIN_CLI" --server "$ADDR" --json stats > "$OUT/stats-loaded.json"
"$BIN_CLI" --server "$ADDR" --json snapshot > "$OUT/snapshot.json"

run_bench() { # name, then reconnu-bench options
  local name=$1
  shift
  echo "-- $name"
  "$BIN_BENCH" --server "$ADDR" --data "$DATA" --map "$MAP" --seed "$SEED" \
    --duration "$DURATION" --warmup "$WARMUP" --json \
    --csv "$OUT/rpc/$name.csv" --plot "$OUT/rpc/$name" "$@" \
    > "$OUT/rpc/$name.json" || echo "bench.sh: $name reported errors" >&2
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\n".join("    %s/%s p50 %d p99 %d us, %.0f calls/s, %.0f records/s, errors %d" % (r["phase"], r["method"], r["p50_us"], r["p99_us"], r["calls_per_s"], r["records_per_s"], r["errors"]) for r in d["rows"]))' "$OUT/rpc/$name.json"
}

log "reconnu-bench over gRPC"
for c in 1 8; do
  run_bench "health-c$c" --workload health --connections "$c"
  run_bench "checkout-c$c" --workload checkout --connections "$c"
  run_bench "till-c$c" --workload till --connections "$c"
  run_bench "mix-c$c" --workload mix --mix identify=90,upsert=10 --connections "$c"
done
# open loop at half the 1-connection closed-loop rate
RATE=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(max(10, int(d["rows"][-1]["calls_per_s"] / 2)))' "$OUT/rpc/checkout-c1.json")
run_bench "checkout-open" --workload checkout --connections 8 --rate "$RATE"

log "cold start from the snapshot"
"$BIN_CLI" --server "$ADDR" --json snapshot > "$OUT/snapshot-before-restart.json"
stop_server
T0=$(now)
start_server
wait_serving
T1=$(now)
RSS_RESTARTED=$(rss_kib "$SERVER_PID")
"$BIN_CLI" --server "$ADDR" --json stats > "$OUT/stats-restarted.json"
python3 -c 'import sys; print("{\"seconds_to_serving\": %.3f}" % (float(sys.argv[2]) - float(sys.argv[1])))' "$T0" "$T1" > "$OUT/cold-start.json"
cat "$OUT/cold-start.json"

log "bulk: UpsertStream of new records"
for c in 1 8; do
  run_bench "bulk-c$c" --workload bulk --batch 1000 --connections "$c"
done
stop_server

echo "{\"records\": $RECORDS, \"rss_empty_kib\": $RSS_EMPTY, \"rss_loaded_kib\": $RSS_LOADED, \"rss_restarted_kib\": $RSS_RESTARTED}" > "$OUT/memory.json"

log "summary"
python3 scripts/bench_summary.py "$OUT"
echo "bench.sh: results in $OUT (summary.md)"
