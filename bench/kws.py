#!/usr/bin/env python
"""Keyword-spotting benchmark: DS-CNN with QAT vs the tiny_conv baseline, int8 on TFLM.

    python bench/kws.py [--data DIR] [--test-dir DIR] [--json FILE] [--seed N]

Runs ``tinykit.recipes.kws`` (the code the demo and the notebook use): Speech Commands
(12 classes, speaker-disjoint hash split), 49x10 MFCC normalised with training
statistics, DS-CNN trained with fresh augmentation every epoch (background noise, time
shift, SpecAugment) then quantization-aware fine-tuning, int8 accuracy on the TFLite
Micro interpreter. The tiny_conv baseline (micro_speech) gets the same features and
training. ``--test-dir`` scores the int8 DS-CNN on every clip of another folder in the
same layout (other speakers). A streaming check places the test clips in a long
recording over background noise and counts hits, misses and false alarms per hour.

``--folds K`` also cross-validates the DS-CNN recipe on K speaker-grouped folds of all
the clips (``tinykit.recipes.cross_validate``): the estimate to choose models with.

Prints a table and writes JSON with ``float_accuracy``, ``qat_accuracy``,
``int8_accuracy``, ``baseline_int8_accuracy``, ``test_dir_accuracy``, ``flash_bytes``,
``arena_bytes``, ``seconds``, ``streaming``, with ``--folds`` ``fold_accuracy_mean``,
``fold_accuracy_std``, ``fold_accuracies`` and ``worst_speakers`` (and more).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

import tinykit  # noqa: E402
from tinykit import convert, features, recipes, streaming  # noqa: E402
from tinykit.datasets import load_speech_commands  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "speech_commands"
D = recipes.KWS_DEFAULTS


def record(result):
    """The benchmark's row for one trained model."""
    r = result.report
    return {"model": result.name,
            "features": f"{result.settings.kind} {result.settings.shape[0]}x{result.settings.shape[1]}",
            "params": result.model_info["params"], "float_accuracy": result.float_accuracy,
            "qat_accuracy": r.float_accuracy, "int8_accuracy": r.int8_accuracy,
            "int8_float_agreement": r.float_agreement, "litert_max_lsb": r.litert_max_lsb,
            "flash_bytes": r.flash_bytes, "arena_bytes": r.arena_bytes, "ops": r.ops,
            "train_seconds": result.train_seconds, "seconds": result.seconds}


def score_dir(tfl, folder, labels, settings):
    """int8 accuracy on every clip of a Speech Commands-layout folder."""
    words = [w for w in labels if not w.startswith("_")]
    t = load_speech_commands(folder, words=words, silence="_silence_" in labels,
                             unknown="_unknown_" in labels, validation_percentage=0,
                             testing_percentage=0, salt="")
    if t.labels != list(labels):
        raise SystemExit(f"{folder}: labels {t.labels} differ from the training labels {labels}.")
    xs, ys = zip(*(t.audio(s) for s in ("train", "val", "test") if len(t.files(s)[0])))
    x = features.extract(np.concatenate(xs), settings)
    return convert.verify(tfl, x, np.concatenate(ys), litert=False).int8_accuracy, len(x)


def stream_check(result, threshold, seed):
    """Hits, misses and false alarms of the int8 model on a stream of the test clips."""
    ds, clips, _, settings = result.prepared
    x, y = clips["test"]
    audio, truth = streaming.make_stream(x, y, ds.labels, noise=ds.noise, noise_level=0.05,
                                         seed=seed)
    found = streaming.detect(audio, result.tflite, settings, ds.labels, threshold=threshold)
    scores = streaming.evaluate(found, truth, duration=len(audio) / settings.sample_rate)
    return {**scores, "threshold": threshold, "stream_seconds": len(audio) / settings.sample_rate}


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else "speech_commands",
                   help="Speech Commands folder, or the bundled 'speech_commands' sample")
    p.add_argument("--test-dir", help="extra folder (same layout) scored with the int8 DS-CNN")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=D["epochs"], help="float epochs")
    p.add_argument("--qat-epochs", type=int, default=D["qat_epochs"])
    p.add_argument("--batch-size", type=int, default=D["batch_size"])
    p.add_argument("--lr", type=float, default=D["learning_rate"])
    p.add_argument("--filters", type=int, default=D["filters"], help="DS-CNN channels")
    p.add_argument("--dropout", type=float, default=D["dropout"])
    p.add_argument("--l2", type=float, default=D["l2"])
    p.add_argument("--fmax", type=float, default=D["fmax"])
    p.add_argument("--noise-level", type=float, default=D["noise_level"])
    p.add_argument("--noise-probability", type=float, default=D["noise_probability"])
    p.add_argument("--max-shift", type=float, default=D["max_shift"], help="seconds")
    p.add_argument("--time-width", type=int, default=D["time_width"])
    p.add_argument("--freq-width", type=int, default=D["freq_width"])
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--stream-threshold", type=float, default=0.6)
    p.add_argument("--save", help="folder for the exported model, feature settings, C tables")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--folds", type=int, default=0, help="speaker-grouped folds (0: none)")
    args = p.parse_args(argv)
    if tinykit.train.fast_mode():
        print("note: TINYKIT_FAST is set: training is cut to a few epochs")

    t0 = time.perf_counter()
    data = args.data if Path(args.data).is_dir() else tinykit.datasets.data_root() / args.data
    ds = load_speech_commands(data, seed=args.seed)
    print(ds)
    for note in ds.notes:
        print("  note:", note)
    overrides = dict(epochs=args.epochs, qat_epochs=args.qat_epochs, batch_size=args.batch_size,
                     learning_rate=args.lr, filters=args.filters, dropout=args.dropout,
                     l2=args.l2, fmax=args.fmax, augment=not args.no_augment,
                     noise_level=args.noise_level, noise_probability=args.noise_probability,
                     max_shift=args.max_shift, time_width=args.time_width,
                     freq_width=args.freq_width)
    main_model = recipes.kws(ds, seed=args.seed, out=args.save, verbose=not args.quiet,
                             **overrides)
    rows = [record(main_model)]
    base = None
    if not args.no_baseline:
        base = record(recipes.kws(ds, model="tiny_conv", seed=args.seed, verbose=not args.quiet,
                                  prepared=main_model.prepared, **overrides))
        rows.append(base)
    test_dir_acc = test_dir_n = None
    if args.test_dir:
        test_dir_acc, test_dir_n = score_dir(main_model.tflite, args.test_dir, ds.labels,
                                             main_model.settings)
    stream = stream_check(main_model, args.stream_threshold, args.seed)

    cols = ("model", "features", "params", "float_accuracy", "qat_accuracy", "int8_accuracy",
            "flash_bytes", "arena_bytes", "seconds")
    print(f"\nkeyword spotting on {data}: {len(ds.files_test)} test clips "
          f"(speaker-disjoint), {len(ds.files_train)} train, seed {args.seed}")
    print(" ".join(f"{c:>14}" for c in cols))
    for r in rows:
        cells = [pct(r[c]) if c.endswith("accuracy") else
                 f"{r[c]:.0f}" if c == "seconds" else
                 f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols]
        print(" ".join(f"{v:>14}" for v in cells))
    if args.test_dir:
        print(f"int8 DS-CNN on {args.test_dir}: {pct(test_dir_acc)} of {test_dir_n} clips")
    print(f"streaming ({stream['stream_seconds']:.0f} s of test clips over noise, threshold "
          f"{stream['threshold']}): {stream['hits']} hits, {stream['misses']} misses, "
          f"{stream['false_alarms']} false alarms ({stream['false_alarms_per_hour']:.0f}/hour)")
    total = time.perf_counter() - t0
    rec = rows[0]
    result = {
        "float_accuracy": rec["float_accuracy"], "qat_accuracy": rec["qat_accuracy"],
        "int8_accuracy": rec["int8_accuracy"],
        "baseline_int8_accuracy": base["int8_accuracy"] if base else None,
        "test_dir_accuracy": test_dir_acc, "test_dir_clips": test_dir_n,
        "flash_bytes": rec["flash_bytes"], "arena_bytes": rec["arena_bytes"],
        "seconds": total, "train_seconds": rec["train_seconds"], "streaming": stream,
        "test_clips": len(ds.files_test), "train_clips": len(ds.files_train),
        "data": str(data), "seed": args.seed, "split": ds.split,
        "settings": main_model.settings.to_dict(), "args": vars(args), "runs": rows}
    if args.folds:
        cv = recipes.cross_validate("kws", ds, folds=args.folds, seed=args.seed,
                                    verbose=not args.quiet, **overrides)
        print(cv.summary())
        result.update(fold_accuracy_mean=cv.mean, fold_accuracy_std=cv.std,
                      fold_accuracies=cv.accuracies, fold_seconds=cv.seconds,
                      worst_speakers=[list(w) for w in cv.worst(10)])
        total = time.perf_counter() - t0
        result["seconds"] = total
    print(f"total {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
