#!/usr/bin/env python3
"""check_sweep.py — exercises reconnu-eval's threshold sweep, worst errors,
B-cubed and two-script figures on small labelled sets, through its JSON.

usage: check_sweep.py --eval BIN --data-root DIR [--datagen BIN] PRESET...

For each PRESET, `reconnu-eval --preset PRESET --sweep --worst 5 --plot F
--json` must give:
  - B-cubed precision, recall, F1 in [0, 1], F1 their harmonic mean;
  - sweep thresholds ascending, the engine's match_threshold among them;
    TP, FP (clusterings refine as the threshold rises) and recall
    non-increasing;
  - the sweep's "engine" point equal to the main figures;
  - the sweep's point at the engine threshold within 0.1 F1 of the engine
    (the union-find approximation is not far off);
  - worst false positives: pairs of two true persons in one entity, worst
    first, present exactly when FP > 0, each explained with the probability
    listed; worst false negatives: one person in two entities, present
    exactly when FN > 0;
  - a PNG written (when gnuplot is installed);
and the text output must show the sweep table and both worst lists.
With --datagen, a small generated set with many names in Cyrillic, Han and
Hangul is scored with --preset datagen-xscript: it must hold two-script
true pairs, and their recall must not rise with the threshold.
Ends with "N passed, N failed"; exits 77 when the data root is missing.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

PASSED = FAILED = 0


def check(cond, msg):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok - {msg}")
    else:
        FAILED += 1
        print(f"not ok - {msg}")
    return cond


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if not check(p.returncode == 0, f"{' '.join(cmd[1:])}: exit 0"):
        print(p.stderr)
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        check(False, "output is one JSON object")
        return None


def non_increasing(xs):
    return all(b <= a + 1e-12 for a, b in zip(xs, xs[1:]))


def check_sweep(name, r):
    for k in ("bcubed_precision", "bcubed_recall", "bcubed_f1",
              "exact_cluster_share"):
        check(0 <= r[k] <= 1, f"{name}: {k} {r[k]:.4f} in [0, 1]")
    p, q = r["bcubed_precision"], r["bcubed_recall"]
    check(math.isclose(r["bcubed_f1"], 2 * p * q / (p + q), abs_tol=1e-6),
          f"{name}: B-cubed F1 is the harmonic mean")
    s = r["sweep"]
    pts = s["points"]
    thr = [x["threshold"] for x in pts]
    check(len(pts) >= 10 and all(b > a for a, b in zip(thr, thr[1:])),
          f"{name}: {len(pts)} thresholds, ascending")
    check(any(math.isclose(t, r["match_threshold"], abs_tol=1e-9)
              for t in thr), f"{name}: the engine threshold is swept")
    check(non_increasing([x["recall"] for x in pts]),
          f"{name}: recall non-increasing as the threshold rises")
    check(non_increasing([x["tp"] for x in pts]) and
          non_increasing([x["fp"] for x in pts]),
          f"{name}: TP and FP non-increasing as the threshold rises")
    check(pts[0]["recall"] > pts[-1]["recall"] or pts[0]["recall"] == 1,
          f"{name}: the sweep moves recall "
          f"({pts[0]['recall']:.4f} -> {pts[-1]['recall']:.4f})")
    e = s["engine"]
    check(all(math.isclose(e[k], r[k], abs_tol=1e-9)
              for k in ("precision", "recall", "f1", "tp", "fp", "fn",
                        "bcubed_f1")) and
          math.isclose(e["threshold"], r["match_threshold"]),
          f"{name}: the engine point equals the main figures")
    at = [x for x in pts
          if math.isclose(x["threshold"], r["match_threshold"])][0]
    check(abs(at["f1"] - r["f1"]) <= 0.1,
          f"{name}: approximation at {at['threshold']} F1 {at['f1']:.4f} "
          f"near the engine's {r['f1']:.4f}")
    check(s["scored_pairs"] > 0 and s["identify_calls"] == r["records"],
          f"{name}: {s['scored_pairs']} scored pairs, one identify per "
          f"record")

    fp = r["worst_false_positives"]
    check((len(fp) > 0) == (r["fp"] > 0) and len(fp) <= 5,
          f"{name}: {len(fp)} worst false positives for FP {r['fp']}")
    check(all(x["records"][0]["truth"] != x["records"][1]["truth"] and
              x["records"][0]["entity"] == x["records"][1]["entity"] and
              x["entity_persons"] >= 2 for x in fp),
          f"{name}: each false positive joins two persons in one entity")
    fn = r["worst_false_negatives"]
    check((len(fn) > 0) == (r["fn"] > 0) and len(fn) <= 5,
          f"{name}: {len(fn)} worst false negatives for FN {r['fn']}")
    check(all(x["records"][0]["truth"] == x["records"][1]["truth"] and
              x["records"][0]["entity"] != x["records"][1]["entity"]
              for x in fn),
          f"{name}: each false negative is one person in two entities")
    for lst, what in ((fp, "false positives"), (fn, "false negatives")):
        ps = [x["probability"] for x in lst]
        check(non_increasing(ps), f"{name}: {what} worst first")
        check(all(x["explanation"]["features"] and
                  math.isclose(x["explanation"]["probability"],
                               x["probability"], abs_tol=1e-6)
                  for x in lst),
              f"{name}: {what} explained, with the probability listed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--datagen")
    ap.add_argument("presets", nargs="+")
    a = ap.parse_args()
    if not os.path.isdir(a.data_root):
        print(f"skip: data root {a.data_root} is missing")
        print("0 passed, 0 failed, 1 skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for preset in a.presets:
            png = os.path.join(tmp, preset + ".png")
            base = [a.eval, "--preset", preset, "--data-root", a.data_root,
                    "--sweep", "--worst", "5"]
            plot = ["--plot", png] if shutil.which("gnuplot") else []
            r = run_json(base + plot + ["--json"])
            if r is not None:
                check_sweep(preset, r)
            if plot:
                with open(png, "rb") as f:
                    check(f.read(8) == b"\x89PNG\r\n\x1a\n",
                          f"{preset}: PNG plot written")
            p = subprocess.run(base, capture_output=True, text=True)
            check(p.returncode == 0 and "threshold sweep" in p.stdout and
                  "worst false positives" in p.stdout and
                  "worst false negatives" in p.stdout and
                  "B-cubed" in p.stdout,
                  f"{preset}: text output has the sweep and worst lists")
        if a.datagen:
            csv = os.path.join(tmp, "xscript.csv")
            subprocess.check_call([a.datagen, "--persons", "1500", "--seed",
                                   "11", "--scripts-rate", "0.5", "--out",
                                   csv])
            r = run_json([a.eval, "--preset", "datagen-xscript", csv,
                          "--data-root", a.data_root, "--sweep", "--json"])
            if r is not None:
                sc = r["record_scripts"]
                check(r["cross_true_pairs"] > 0 and "Latin" in sc and
                      any(k in sc for k in ("Cyrillic", "Han", "Hangul")),
                      f"xscript: {r['cross_true_pairs']} two-script true "
                      f"pairs, scripts {sc}")
                check(r["cross_tp"] + r["cross_fn"] == r["cross_true_pairs"]
                      and 0 <= r["cross_precision"] <= 1 and
                      0 <= r["cross_recall"] <= 1,
                      f"xscript: P {r['cross_precision']:.4f} R "
                      f"{r['cross_recall']:.4f} consistent")
                check(non_increasing([p["cross_recall"]
                                      for p in r["sweep"]["points"]]),
                      "xscript: two-script recall non-increasing")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
