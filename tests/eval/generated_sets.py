#!/usr/bin/env python3
"""generated_sets.py — the generated evaluation sets, defined once.

scripts/eval.sh (the evaluation report) and check_f1.py (the CI floors)
score the same two sets made by reconnu-datagen with fixed seeds:
"datagen-20k" (20,000 persons, seed 20240601, names drawn from the Febrl
frequency tables) and "datagen-xscript" (8,000 persons, seed 20240602,
half of the Russian, Chinese and Korean persons' records in their own
script). Each maps to the reconnu-eval preset that loads it and the
reconnu-datagen arguments that make it ({root} is the data root).

usage: generated_sets.py DATAGEN DATA_ROOT OUT_DIR
  writes OUT_DIR/<name>.csv for every set and prints "name preset path"
  lines, one per set.
"""
import os
import subprocess
import sys

SETS = {
    "datagen-20k": ("datagen", ["--persons", "20000", "--seed", "20240601",
                                "--freq-dir", "{root}/febrl_freq_tables"]),
    "datagen-xscript": ("datagen-xscript",
                        ["--persons", "8000", "--seed", "20240602",
                         "--scripts-rate", "0.5"]),
}


def generate(datagen, name, root, out):
    """Writes set name to the CSV file out; returns its reconnu-eval preset."""
    preset, args = SETS[name]
    subprocess.run([datagen] + [a.format(root=root) for a in args] +
                   ["--out", out], check=True, capture_output=True)
    return preset


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[-1].strip())
    datagen, root, out_dir = sys.argv[1:]
    for name in SETS:
        out = os.path.join(out_dir, name + ".csv")
        print(name, generate(datagen, name, root, out), out)


if __name__ == "__main__":
    main()
