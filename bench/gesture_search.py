#!/usr/bin/env python
"""Smallest gesture CNN: grouped-fold accuracy and size of a few gesture_cnn shapes.

    python bench/gesture_search.py [--data DIR] [--folds 5] [--json FILE]

Every candidate (filters per block, kernel taps) is cross-validated with
``tinykit.recipes.cross_validate`` on the data set with its still recordings dropped
(``load_imu(drop_still=True)``), same folds and seed for all; candidates are the
default and smaller shapes (see CANDIDATES). Prints a table (fold mean, std,
range, flash and TFLM arena of the int8 model) and writes JSON ``{"candidates": [...]}``.
``tinykit.models.gesture_small`` is the smallest whose fold mean is within 1 point
of the default's. Candidates run one after the other (about 5 trainings each);
``--only`` runs some, e.g. in parallel processes.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tinykit import datasets, recipes  # noqa: E402

#: (filters, kernel_size), the default first, then by decreasing size: halving the
#: filters until the accuracy falls (all under 8 kB of int8 model but the default).
CANDIDATES = [((16, 24, 32), 5), ((8, 8, 16), 5), ((4, 8, 16), 5), ((6, 8, 12), 5),
              ((8, 8, 8), 5), ((4, 4, 8), 5), ((4, 4, 4), 5)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="magic_wand", help="bundled name or IMU_Capture folder")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="+", metavar="F,F,F:K",
                   help="candidates to run, e.g. 8,8,16:5 (default: all of CANDIDATES)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    candidates = CANDIDATES if not args.only else [
        (tuple(int(f) for f in c.split(":")[0].split(",")), int(c.split(":")[1]))
        for c in args.only]
    ds = datasets.load(args.data, drop_still=True)
    rows = []
    print(f"{'filters':>16} {'k':>2} {'fold mean':>10} {'std':>6} {'range':>12} "
          f"{'flash B':>8} {'arena B':>8} {'s':>5}", flush=True)
    for filters, k in candidates:
        t0 = time.perf_counter()
        cv = recipes.cross_validate("gesture", ds, folds=args.folds, seed=args.seed,
                                    filters=filters, kernel_size=k)
        row = {"filters": list(filters), "kernel_size": k, "fold_accuracy_mean": cv.mean,
               "fold_accuracy_std": cv.std, "fold_accuracies": cv.accuracies,
               "flash_bytes": cv.flash_bytes, "arena_bytes": cv.arena_bytes,
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        lo, hi = min(cv.accuracies), max(cv.accuracies)
        print(f"{str(filters):>16} {k:>2} {100 * cv.mean:>9.1f}% {100 * cv.std:>6.1f} "
              f"{100 * lo:>5.1f}-{100 * hi:.1f}% {cv.flash_bytes:>8,} {cv.arena_bytes:>8,} "
              f"{row['seconds']:>5.0f}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"data": args.data, "candidates": rows},
                                                  indent=2) + "\n")


if __name__ == "__main__":
    main()
