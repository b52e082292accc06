#!/usr/bin/env python
"""Keyword-spotting benchmark: DS-CNN with QAT vs the tiny_conv baseline, int8 on TFLM.

    python bench/kws.py [--data DIR] [--test-dir DIR] [--json FILE] [--seed N]

Loads Speech Commands (12 classes, speaker-disjoint hash split), computes 49x10 MFCC
normalised with training statistics, trains DS-CNN with fresh augmentation every
epoch (background noise, time shift, SpecAugment) then quantization-aware
fine-tuning, converts to int8 and measures accuracy on the TFLite Micro interpreter.
The tiny_conv baseline (micro_speech) gets the same data and QAT. ``--test-dir``
scores the int8 DS-CNN on every clip of another folder in the same layout.

Prints a table and writes JSON with ``float_accuracy``, ``qat_accuracy``,
``int8_accuracy``, ``baseline_int8_accuracy``, ``test_dir_accuracy``,
``flash_bytes``, ``arena_bytes``, ``seconds`` (and more).
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import tinykit  # noqa: E402,F401
from tinykit.datasets import load_speech_commands  # noqa: E402
from tinykit.features.audio import (AudioFeatures, extract, fit_normalization,  # noqa: E402
                                    kws_augment)
from tinykit.models.kws import ds_cnn, tiny_conv  # noqa: E402

SHARED = Path("/work/shared/data/speech_commands")


def _features(ds, settings):
    clips = {s: ds.audio(s) for s in ("train", "val", "test")}
    raw = extract(clips["train"][0], settings, normalized=False)
    settings = fit_normalization(raw, settings)
    feats = {s: (extract(x, settings), y) for s, (x, y) in clips.items()}
    return clips, feats, settings


def _accuracy(model, x, y):
    return float((model.predict(x, verbose=0, batch_size=256).argmax(axis=1) == y).mean())


def train_one(name, build, ds, settings, args, verbose):
    """Train one model with QAT; return (record, tfl bytes, float model, settings)."""
    from tinykit import convert, train
    t0 = time.perf_counter()
    clips, feats, settings = _features(ds, settings)
    (xtr, ytr), (xv, yv), (xte, yte) = feats["train"], feats["val"], feats["test"]
    aug = None
    if not args.no_augment:
        aug = kws_augment(clips["train"][0], settings, noise=ds.noise, level=args.noise_level,
                          probability=args.noise_probability, max_shift=args.max_shift,
                          time_masks=2, time_width=args.time_width, freq_masks=2,
                          freq_width=args.freq_width)
    model = build(settings.shape, ds.num_classes)
    qat = train.fit(model, xtr, ytr, qat=True, epochs=args.epochs, qat_epochs=args.qat_epochs,
                    batch_size=args.batch_size, learning_rate=args.lr, augment=aug,
                    validation_data=(xv, yv), seed=args.seed, verbose=verbose)
    train_seconds = time.perf_counter() - t0
    float_acc = _accuracy(model, xte, yte)  # `model` keeps the float weights of phase 1
    tfl = convert.to_int8(qat, representative=xtr, seed=args.seed)
    report = convert.verify(tfl, xte, yte, model=qat)
    rec = {"model": name, "features": f"{settings.kind} {settings.shape[0]}x{settings.shape[1]}",
           "params": int(model.count_params()), "float_accuracy": float_acc,
           "qat_accuracy": report.float_accuracy, "int8_accuracy": report.int8_accuracy,
           "val_float_accuracy": _accuracy(model, xv, yv),
           "int8_float_agreement": report.float_agreement, "litert_max_lsb": report.litert_max_lsb,
           "flash_bytes": report.flash_bytes, "arena_bytes": report.arena_bytes,
           "ops": report.ops, "train_seconds": train_seconds,
           "seconds": time.perf_counter() - t0}
    return rec, tfl, qat, settings


def score_dir(tfl, folder, labels, settings):
    """int8 accuracy on every clip of a Speech Commands-layout folder."""
    from tinykit import convert
    words = [w for w in labels if not w.startswith("_")]
    t = load_speech_commands(folder, words=words, silence="_silence_" in labels,
                             unknown="_unknown_" in labels, validation_percentage=0,
                             testing_percentage=0, salt="")
    if t.labels != list(labels):
        raise SystemExit(f"{folder}: labels {t.labels} differ from the training labels {labels}.")
    xs, ys = zip(*(t.audio(s) for s in ("train", "val", "test") if len(t.files(s)[0])))
    x = extract(np.concatenate(xs), settings)
    return convert.verify(tfl, x, np.concatenate(ys), litert=False).int8_accuracy, len(x)


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else "speech_commands",
                   help="Speech Commands folder, or the bundled 'speech_commands' sample")
    p.add_argument("--test-dir", help="extra folder (same layout) scored with the int8 DS-CNN")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=90, help="float epochs")
    p.add_argument("--qat-epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--filters", type=int, default=64, help="DS-CNN channels")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--fmax", type=float, default=4000.0)
    p.add_argument("--noise-level", type=float, default=0.1)
    p.add_argument("--noise-probability", type=float, default=0.8)
    p.add_argument("--max-shift", type=float, default=0.1, help="seconds")
    p.add_argument("--time-width", type=int, default=6)
    p.add_argument("--freq-width", type=int, default=2)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--save", help="folder for kws.tflite, kws_features.json, audio_features.h")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    data = args.data
    if not Path(data).is_dir():
        data = tinykit.datasets.data_root() / data
    ds = load_speech_commands(data, seed=args.seed)
    print(ds)
    for note in ds.notes:
        print("  note:", note)
    settings = AudioFeatures(fmax=args.fmax)
    build = lambda shape, n: ds_cnn(shape, n, filters=args.filters, dropout=args.dropout,  # noqa: E731
                                    l2=args.l2)
    rec, tfl, qat, settings = train_one("ds_cnn", build, ds, settings, args, not args.quiet)
    rows = [rec]
    base = None
    if not args.no_baseline:
        base, _, _, _ = train_one("tiny_conv", tiny_conv, ds, AudioFeatures(fmax=args.fmax),
                                  args, not args.quiet)
        rows.append(base)
    test_dir_acc = test_dir_n = None
    if args.test_dir:
        test_dir_acc, test_dir_n = score_dir(tfl, args.test_dir, ds.labels, settings)
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        (out / "kws.tflite").write_bytes(tfl)
        settings.save(out / "kws_features.json")
        tinykit.features.audio.write_c_tables(out / "audio_features.h", settings)

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
    total = time.perf_counter() - t0
    result = {
        "float_accuracy": rec["float_accuracy"], "qat_accuracy": rec["qat_accuracy"],
        "int8_accuracy": rec["int8_accuracy"],
        "baseline_int8_accuracy": base["int8_accuracy"] if base else None,
        "test_dir_accuracy": test_dir_acc, "test_dir_clips": test_dir_n,
        "flash_bytes": rec["flash_bytes"], "arena_bytes": rec["arena_bytes"],
        "seconds": total, "train_seconds": rec["train_seconds"],
        "test_clips": len(ds.files_test), "train_clips": len(ds.files_train),
        "data": str(data), "seed": args.seed, "split": ds.split,
        "settings": settings.to_dict(), "args": vars(args), "runs": rows}
    print(f"total {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
