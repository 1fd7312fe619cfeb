#!/usr/bin/env bash
# Runs Reconnu's evaluation suite and writes its report:
#   1. builds reconnu-eval and reconnu-datagen (Release) in its own build
#      directory ($BUILD, default build-eval);
#   2. generates two sets with fixed seeds (tests/eval/generated_sets.py):
#      20,000 persons (datagen-20k) and 8,000 persons with half of the
#      Russian, Chinese and Korean records written in Cyrillic, Han or
#      Hangul (datagen-xscript);
#   3. scores every set: FEBRL 1-4, fake_1000, NCVR, RLdata10000 from the
#      shared labelled data ($DATA, default ../shared/data) and the two
#      generated ones, each with a threshold sweep;
#   4. writes docs/EVALUATION.md (results table, baselines, targets),
#      docs/eval/<set>.png (precision-recall curves) and
#      docs/eval/<set>-worst.txt (the worst errors, explained).
# Usage: bash scripts/eval.sh          (a few minutes on two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-eval}
JOBS=${JOBS:-2}
DATA=${DATA:-../shared/data}
WORST=${WORST:-10}

if [ ! -d "$DATA" ]; then
  echo "eval: labelled data not found at $DATA (set DATA=...)" >&2
  exit 1
fi
command -v gnuplot >/dev/null || {
  echo "eval: gnuplot is missing (bash scripts/setup.sh)" >&2
  exit 1
}

echo "== build (Release, $BUILD) =="
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRECONNU_BENCH=OFF \
      -DRECONNU_RPC=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target reconnu-eval reconnu-datagen
EVAL=$BUILD/tools/eval/reconnu-eval
GEN=$BUILD/tools/datagen/reconnu-datagen

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p docs/eval

# name, then the reconnu-eval arguments that load it
SETS=(
  "febrl1|--preset febrl1"
  "febrl2|--preset febrl2"
  "febrl3|--preset febrl3"
  "febrl4|--preset febrl4"
  "fake1000|--preset fake1000"
  "ncvr5000-ocp20|--preset ncvr5000-ocp20"
  "rldata10000|--preset rldata10000"
)

# the generated sets, defined once in tests/eval/generated_sets.py (the CI
# floors score the same ones)
echo "== generated sets =="
while read -r name preset csv; do
  SETS+=("$name|--preset $preset $csv")
done < <(python3 tests/eval/generated_sets.py "$GEN" "$DATA" "$work")

echo "== evaluation =="
for s in "${SETS[@]}"; do
  name=${s%%|*}
  read -r -a args <<<"${s#*|}"
  start=$(date +%s.%N)
  "$EVAL" "${args[@]}" --data-root "$DATA" --sweep \
          --plot "docs/eval/$name.png" --json >"$work/$name.json"
  "$EVAL" "${args[@]}" --data-root "$DATA" --worst "$WORST" \
          >"docs/eval/$name-worst.txt"
  # the same load with weights estimated from the data (EM, no labels)
  "$EVAL" "${args[@]}" --data-root "$DATA" --weights estimate --json \
          >"$work/$name.estimate.json" 2>/dev/null
  end=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(f\"{sys.argv[2]:16} F1 {r['f1']:.4f}  B3-F1 {r['bcubed_f1']:.4f}  \
({float(sys.argv[4]) - float(sys.argv[3]):.1f} s)\")" \
    "$work/$name.json" "$name" "$start" "$end"
done

python3 scripts/eval_report.py --results "$work" \
        --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine include || echo '+changes')" \
        >docs/EVALUATION.md
echo "== wrote docs/EVALUATION.md and docs/eval/ =="
