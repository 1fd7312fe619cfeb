#!/usr/bin/env python3
"""check_f1.py — runs reconnu-eval on labelled presets and checks F1 floors.

usage: check_f1.py --eval PATH/reconnu-eval --data-root DIR [--weights estimate]
                   PRESET FLOOR [PRESET FLOOR ...]

Each PRESET is run as `reconnu-eval --preset PRESET --data-root DIR --json`;
the check passes when its pairwise F1 is at least FLOOR. With --datagen
PATH/reconnu-datagen the generated sets of generated_sets.py are presets as
well ("datagen-20k", "datagen-xscript"), made as scripts/eval.sh makes them.
Ends with the plain line "N passed, N failed". Exits 77 (ctest SKIP_RETURN_CODE) when the data
root is missing, 1 when a check failed, 0 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from generated_sets import SETS as GENERATED, generate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True, help="reconnu-eval binary")
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--weights", default="default",
                    help="reconnu-eval --weights: default or estimate")
    ap.add_argument("--datagen", help="reconnu-datagen binary")
    ap.add_argument("pairs", nargs="+", help="PRESET FLOOR ...")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        ap.error("want PRESET FLOOR pairs")
    if not os.path.isdir(a.data_root):
        print(f"skip: data root {a.data_root} is missing")
        print("0 passed, 0 failed, 1 skipped")
        return 77
    passed = failed = 0
    tmp = tempfile.TemporaryDirectory()
    for preset, floor in zip(a.pairs[::2], a.pairs[1::2]):
        floor = float(floor)
        cmd = [a.eval, "--preset", preset, "--data-root", a.data_root, "--json",
               "--weights", a.weights]
        if preset in GENERATED:
            if not a.datagen:
                ap.error(f"{preset} needs --datagen")
            out = os.path.join(tmp.name, preset + ".csv")
            eval_preset = generate(a.datagen, preset, a.data_root, out)
            cmd = [a.eval, "--preset", eval_preset, out, "--data-root",
                   a.data_root, "--json", "--weights", a.weights]
        p = subprocess.run(cmd, capture_output=True, text=True)
        try:
            r = json.loads(p.stdout)
        except ValueError:
            print(f"not ok - {preset}: reconnu-eval exit {p.returncode}\n{p.stderr}")
            failed += 1
            continue
        line = (f"{preset}: F1 {r['f1']:.4f} (floor {floor}) P {r['precision']:.4f} "
                f"R {r['recall']:.4f} TP {r['tp']} FP {r['fp']} FN {r['fn']} "
                f"records {r['records']} rejected {r['rejected']} "
                f"{r['records_per_s']:.0f} records/s")
        if p.returncode == 0 and r["f1"] >= floor:
            print("ok - " + line)
            passed += 1
        else:
            print("not ok - " + line)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
