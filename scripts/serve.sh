#!/usr/bin/env bash
# Builds Reconnu (Release, in build/) and serves it in the foreground:
#   1. installs the Debian packages it needs (scripts/setup.sh, idempotent);
#   2. configures and builds build/ (Release);
#   3. generates data/sample.csv (2,000 people, seed 1) with
#      reconnu-datagen unless it is already there;
#   4. runs reconnu-server on 127.0.0.1:7450 with data/ as its data folder,
#      preloading the sample; Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
# Extra arguments go to reconnu-server (e.g. --listen 0.0.0.0:7450).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash scripts/setup.sh

echo "== build (Release) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS" --target reconnu-server reconnu-cli
cmake --build build -j"$JOBS" --target reconnu-datagen 2>/dev/null || true

mkdir -p data
LOAD=()
if [ ! -s data/sample.csv ] && [ -x build/tools/datagen/reconnu-datagen ]; then
  echo "== generating data/sample.csv (2,000 persons, seed 1) =="
  build/tools/datagen/reconnu-datagen --persons 2000 --seed 1 \
    --out data/sample.csv.tmp
  mv data/sample.csv.tmp data/sample.csv
fi
[ -s data/sample.csv ] && LOAD=(--load data/sample.csv)

# Quick start with a person of the sample (first data row, simple CSV).
Q='--given Marie --family Curie --birth-date 1867-11-07'
if [ -s data/sample.csv ]; then
  Q=$(awk -F, 'NR == 2 && !/"/ { printf "--given %s --family %s --birth-date %s --email %s", $3, $4, $5, $7 }' data/sample.csv)
  [ -n "$Q" ] || Q='--given Marie --family Curie --birth-date 1867-11-07'
fi
cat <<MSG
== reconnu-server on 127.0.0.1:7450 (Ctrl-C stops it) ==
Quick start, from another terminal:
  build/tools/cli/reconnu health
  build/tools/cli/reconnu identify $Q
  build/tools/cli/reconnu upsert --source eshop --id 42 --given Marie --family Curie --birth-date 1867-11-07 --email marie@example.com
  build/tools/cli/reconnu stats
  build/tools/cli/reconnu --help   (exit codes, load, bench)
MSG
exec build/engine/rpc/reconnu-server --data-dir data "${LOAD[@]}" "$@"
