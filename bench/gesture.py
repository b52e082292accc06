#!/usr/bin/env python
"""Gesture benchmark: the CNN, its small variant and a classical baseline, on grouped folds.

    python bench/gesture.py [--data DIR] [--seeds 0 1 2] [--folds 5] [--keep-still] [--json FILE]

The data set is loaded with its still recordings dropped (``load_imu(drop_still=True)``:
recordings with no movement after the trigger carry no gesture; ``--keep-still`` keeps
them). Then:

1. the default model (``gesture_cnn``) trained on the train split once per seed: int8
   accuracy on the TFLM interpreter, size and arena (a table, one row per seed, then
   mean and range; JSON ``float_accuracy``, ``int8_accuracy``, ``params``,
   ``flash_bytes``, ``arena_bytes``, ``seconds``: means, and ``runs``);
2. grouped folds (``--folds K``, default 5; 0 skips it) of all the data, train and
   test pooled (``tinykit.recipes.cross_validate``), for ``gesture_cnn`` and
   ``gesture_small``, and for the classical baseline (``tinykit.baseline``: per-channel
   summary features, a random forest, emlearn's C) on the same folds. JSON
   ``fold_accuracy_mean``, ``fold_accuracy_std``, ``fold_accuracies`` (gesture_cnn),
   ``smallest`` and ``emlearn`` (dicts below);
3. each model once (first seed) on the emulated board (QEMU mps2-an386, -icount):
   instructions per inference (median over the test split) and whether the board's
   predictions equal Python's.

What the sizes mean: for the CNNs ``flash_bytes`` is the int8 .tflite and
``arena_bytes`` the TFLite Micro arena (its interpreter code not counted); for the
trees ``flash_bytes`` is the code and constants of the C features and the trees and
``ram_bytes`` the feature buffer plus their deepest stack frame (ARM build's symbols).
``firmware_text_bytes`` is, for both, the emulated board's whole firmware text less
the compiled-in test inputs (tinykit's C model for the CNNs), ``device_ram_bytes``
its .data + .bss (for the CNNs the C model's activation buffers, for the trees the
feature buffer; stacks not included). Accuracies of the
baseline over seeds vary the forest's ``random_state``.

JSON ``smallest``: ``model``, ``filters``, ``flash_bytes``, ``arena_bytes``,
``fold_accuracy_mean``, ``fold_accuracy_std``, ``fold_accuracies``,
``instructions``, ``device_matches``, ``firmware_text_bytes``, ``device_ram_bytes``.
``emlearn``: ``accuracy`` (test split, mean over
seeds), ``accuracy_range``, ``fold_accuracy_mean``, ``fold_accuracy_std``,
``fold_accuracies``, ``flash_bytes``, ``ram_bytes``, ``instructions``,
``firmware_text_bytes``, ``device_ram_bytes``, ``device_matches``, ``nodes``.
``seconds_total`` and
``cpu_seconds_total``: the wall and CPU time of the whole run (on a busy machine the
CPU time says what an idle one would take).
"""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from tinykit import baseline, datasets, recipes  # noqa: E402
from tinykit.deploy import emulated  # noqa: E402
from tinykit.models.gesture import SMALL  # noqa: E402

KEYS = ("float_accuracy", "int8_accuracy", "params", "flash_bytes", "arena_bytes", "seconds")


def run(ds, seed, model="gesture_cnn", emulate=False):
    r = recipes.gesture(ds, model=model, seed=seed, verbose=False, emulate=emulate)
    out = {"seed": seed, "float_accuracy": r.report.float_accuracy,
           "int8_accuracy": r.report.int8_accuracy, "params": r.model_info["params"],
           "flash_bytes": r.report.flash_bytes, "arena_bytes": r.report.arena_bytes,
           "seconds": r.seconds, "int8_float_agreement": r.report.float_agreement,
           "litert_max_lsb": r.report.litert_max_lsb, "test_gestures": len(r.dataset.y_test)}
    if emulate:
        d = r.device
        out.update(instructions=int(np.median(d.instructions)),
                   device_matches=bool((d.outputs == r.report.raw_outputs).all()),
                   device_ram_bytes=d.data_bytes + d.bss_bytes,
                   firmware_text_bytes=d.text_bytes - emulated.symbol_bytes(d.elf, {"tk_inputs"}))
    return out


def trees(ds, seeds, folds):
    """The classical baseline: test split over seeds, grouped folds, emulated board."""
    accs = []
    for seed in seeds:
        t = baseline.fit_trees(ds.x_train, ds.y_train, labels=ds.labels, seed=seed)
        accs.append(float((t.predict(ds.x_test) == ds.y_test).mean()))
        if seed == seeds[0]:
            first = t
    device = baseline.run_emulated(first, ds.x_test)
    out = {"accuracy": float(np.mean(accs)), "accuracy_range": [min(accs), max(accs)],
           "accuracies": accs, "flash_bytes": device.flash_bytes, "ram_bytes": device.ram_bytes,
           "instructions": int(np.median(device.instructions)),
           "firmware_text_bytes": device.text_bytes
           - emulated.symbol_bytes(device.elf, {"tk_inputs"}),
           "device_ram_bytes": device.data_bytes + device.bss_bytes,
           "device_matches": bool((device.predictions == first.predict(ds.x_test)).all()),
           "nodes": first.nodes, "options": dict(baseline.TREE_DEFAULTS)}
    if folds:
        scores = baseline.fold_accuracies(ds, folds, seed=seeds[0])
        out.update(fold_accuracy_mean=float(np.mean(scores)),
                   fold_accuracy_std=float(np.std(scores)), fold_accuracies=scores)
    return out


def cpu_seconds():
    """CPU time of this process (all its threads) and of its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def fmt(key, v):
    return f"{100 * v:.1f}%" if key.endswith("accuracy") else (f"{v:.1f}" if key == "seconds" else f"{v:,.0f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="magic_wand", help="bundled name or IMU_Capture folder")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, default=5, help="grouped folds (0: none)")
    p.add_argument("--keep-still", action="store_true",
                   help="keep recordings with no movement after the trigger")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    start = time.perf_counter()
    ds = datasets.load(args.data, drop_still=not args.keep_still)
    print(repr(ds))
    runs = [run(ds, s, emulate=s == args.seeds[0]) for s in args.seeds]
    print(f"\ngesture_cnn on the test split of {args.data} ({runs[0]['test_gestures']} "
          f"test gestures)")
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
    small = run(ds, args.seeds[0], model="gesture_small", emulate=True)
    rows = {"gesture_cnn": dict(runs[0], accuracy=summary["int8_accuracy"]),
            "gesture_small": dict(small, accuracy=small["int8_accuracy"])}
    summary["smallest"] = {"model": "gesture_small", "filters": list(SMALL["filters"]),
                           **{k: small[k] for k in (
            "flash_bytes", "arena_bytes", "instructions", "device_matches",
            "firmware_text_bytes", "device_ram_bytes")}}
    summary.update(instructions=runs[0]["instructions"],
                   device_matches=runs[0]["device_matches"],
                   firmware_text_bytes=runs[0]["firmware_text_bytes"],
                   device_ram_bytes=runs[0]["device_ram_bytes"])
    if args.folds:
        for name, row in rows.items():
            cv = recipes.cross_validate("gesture", ds, folds=args.folds, seed=args.seeds[0],
                                        model=name)
            print(cv.summary().replace("gesture:", f"{name}:", 1))
            row.update(fold_accuracy_mean=cv.mean, fold_accuracy_std=cv.std,
                       fold_accuracies=cv.accuracies)
        cnn = rows["gesture_cnn"]
        summary.update(fold_accuracy_mean=cnn["fold_accuracy_mean"],
                       fold_accuracy_std=cnn["fold_accuracy_std"],
                       fold_accuracies=cnn["fold_accuracies"])
        summary["smallest"].update({k: rows["gesture_small"][k] for k in (
            "fold_accuracy_mean", "fold_accuracy_std", "fold_accuracies")})
    summary["emlearn"] = rows["emlearn trees"] = trees(ds, args.seeds, args.folds)
    print(f"\n{'model':>14} {'fold mean ± std':>16} {'test acc.':>10} {'flash B':>8} "
          f"{'arena/RAM B':>11} {'instr./inference':>16} {'firmware text B':>15} "
          f"{'board RAM B':>11} {'board = Python':>14}")
    for name, r in rows.items():
        fold = (f"{100 * r['fold_accuracy_mean']:.1f}% ± {100 * r['fold_accuracy_std']:.1f}"
                if "fold_accuracy_mean" in r else "-")
        ram = r.get("arena_bytes", r.get("ram_bytes"))
        print(f"{name:>14} {fold:>16} {100 * r['accuracy']:>9.1f}% {r['flash_bytes']:>8,} "
              f"{ram:>11,} {r['instructions']:>16,} {r['firmware_text_bytes']:>15,} "
              f"{r['device_ram_bytes']:>11,} {str(r['device_matches']):>14}")
    print(f"(test acc.: gesture_cnn and emlearn trees mean over seeds {args.seeds}, "
          f"gesture_small seed {args.seeds[0]}; CNN flash = .tflite, arena = TFLM arena; "
          f"trees flash = C features + trees, RAM = features + stack; board RAM = the "
          f"emulated firmware's .data + .bss, for the CNNs tinykit's C model's buffers)")
    summary["seconds_total"] = time.perf_counter() - start
    summary["cpu_seconds_total"] = cpu_seconds()
    print(f"total {summary['seconds_total']:.0f} s wall, {summary['cpu_seconds_total']:.0f} s "
          f"CPU (this process and its compilers and QEMU; the wall time of an idle machine "
          f"when the work is serial)")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {**summary, "data": args.data, "still_dropped": not args.keep_still,
             "runs": runs, "small_run": small}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
