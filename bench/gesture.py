#!/usr/bin/env python
"""Gesture benchmark: train on the train split, report int8 accuracy on the TFLM
interpreter, size and arena, over several seeds.

    python bench/gesture.py [--data DIR] [--seeds 0 1 2] [--json FILE]

Prints a table (one row per seed, then mean and range) and writes JSON with
``float_accuracy``, ``int8_accuracy``, ``params``, ``flash_bytes``, ``arena_bytes``,
``seconds`` (means) plus the per-seed runs. With ``--folds K`` (default 5; 0 skips it)
it also cross-validates on grouped folds of all the data (train and test pooled:
``tinykit.recipes.cross_validate``) and writes ``fold_accuracy_mean``,
``fold_accuracy_std`` and ``fold_accuracies``.
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tinykit import recipes  # noqa: E402

KEYS = ("float_accuracy", "int8_accuracy", "params", "flash_bytes", "arena_bytes", "seconds")


def run(data, seed):
    r = recipes.gesture(data, seed=seed, verbose=False)
    return {"seed": seed, "float_accuracy": r.report.float_accuracy,
            "int8_accuracy": r.report.int8_accuracy, "params": r.model_info["params"],
            "flash_bytes": r.report.flash_bytes, "arena_bytes": r.report.arena_bytes,
            "seconds": r.seconds, "int8_float_agreement": r.report.float_agreement,
            "litert_max_lsb": r.report.litert_max_lsb, "test_gestures": len(r.dataset.y_test)}


def fmt(key, v):
    return f"{100 * v:.1f}%" if key.endswith("accuracy") else (f"{v:.1f}" if key == "seconds" else f"{v:,.0f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="magic_wand", help="bundled name or IMU_Capture folder")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, default=5, help="grouped folds (0: none)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    runs = [run(args.data, s) for s in args.seeds]
    print(f"\ngesture benchmark on {args.data} ({runs[0]['test_gestures']} test gestures)")
    print(f"{'seed':>6} " + " ".join(f"{k:>15}" for k in KEYS))
    for r in runs:
        print(f"{r['seed']:>6} " + " ".join(f"{fmt(k, r[k]):>15}" for k in KEYS))
    summary = {}
    for k in KEYS:
        vals = [r[k] for r in runs]
        summary[k] = sum(vals) / len(vals)
        summary[f"{k}_range"] = [min(vals), max(vals)]
    print(f"{'mean':>6} " + " ".join(f"{fmt(k, summary[k]):>15}" for k in KEYS))
    print(f"{'range':>6} " + " ".join(
        f"{fmt(k, summary[k + '_range'][0]) + '-' + fmt(k, summary[k + '_range'][1]):>15}"
        for k in KEYS))
    if args.folds:
        cv = recipes.cross_validate("gesture", args.data, folds=args.folds, seed=args.seeds[0])
        print(cv.summary())
        summary.update(fold_accuracy_mean=cv.mean, fold_accuracy_std=cv.std,
                       fold_accuracies=cv.accuracies, fold_seconds=cv.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "data": args.data, "runs": runs},
                                              indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
