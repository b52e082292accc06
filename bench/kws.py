#!/usr/bin/env python
"""Keyword-spotting benchmark: DS-CNN with QAT vs the tiny_conv baseline, int8 on TFLM.

    python bench/kws.py [--data DIR] [--test-dir DIR] [--json FILE] [--seed N] [--folds K]
                        [--cuts R]

Runs ``tinykit.recipes.kws`` (the code the demo and the notebook use): Speech Commands
(12 classes), 49x10 MFCC normalised with training statistics, DS-CNN trained with fresh
augmentation every epoch (speed, microphone response and loudness changes, background
noise, time shift, SpecAugment; ``_unknown_`` weighing twice in the loss) then
quantization-aware fine-tuning, int8 accuracy on the TFLite Micro interpreter.

By default (``--folds 5``) the estimate comes from K speaker-grouped folds of every clip
(``tinykit.recipes.cross_validate``: no speaker on both sides): int8 accuracy per fold,
mean and std, the worst speakers. Each fold's model also listens to two streams of its
held-out speakers (``recipes.kws_streams``: their keywords 1-2 s apart over background
noise; their ``_unknown_`` words, ``_silence_`` clips and stretches of every noise file,
which hold no keyword); the detector's operating point is chosen on the pooled sweep of
the folds (``streaming.sweep``: the highest hit rate with at most ``--max-false-alarms``
per hour of keyword-free audio, among ``--windows`` x ``--suppress`` x ``--min-runs`` x
``--margins``) and reported per fold; ``stream_choice.nested`` scores each fold at the
point chosen on the other folds alone (the estimate for speakers the choice has not
seen). ``--cuts R`` repeats the folds on R cuts of the clips (seeds ``--seed``,
``--seed`` + 1 ...; R times the time, so over the 45-min budget for R > 1): the mean
over every fold of every cut and each cut's mean (``fold_cut_means``); the nested
check then chooses each fold's point on the other folds of its own cut (which alone
never saw its speakers). Then the final model trains on every clip
(``tinykit.datasets.pooled``) and is saved with that operating point (``--save``);
``--test-dir`` (a folder of other speakers, same layout) is its test set: clip accuracy
and streams. The tiny_conv baseline trains once on the speaker-disjoint hash split.

``--folds 0`` trains once on the hash split instead and chooses the operating point on
the validation speakers' streams (``--stream-groups`` groups). ``--model DIR`` measures
the streams of a model saved by an earlier ``--save`` instead of training one.

Prints a table and writes JSON with ``fold_accuracy_mean``, ``fold_accuracy_std``,
``fold_accuracies``, ``fold_cut_means``, ``worst_speakers``, ``int8_accuracy`` (the fold
mean; with ``--folds 0`` the test split's), ``float_accuracy``, ``qat_accuracy``,
``baseline_int8_accuracy``, ``test_dir_accuracy`` and ``test_dir_float_accuracy`` (the
final model on ``--test-dir``), ``flash_bytes``, ``arena_bytes`` (the final model),
``seconds``, ``stream`` (``hit_rate``, ``false_alarms_per_hour_keyword_free``,
``wrong_word_per_hour``, ``threshold``: the saved operating point, on the held-out
folds' streams), ``test_dir_stream`` (same keys), ``stream_choice`` (the sweep, the
operating point, each fold at it and ``nested``).
"""
import argparse
import dataclasses
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
from tinykit import convert, datasets, features, recipes, streaming  # noqa: E402
from tinykit.datasets import load_speech_commands  # noqa: E402
from tinykit.datasets.speech_commands import speaker_of  # noqa: E402

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


def load_other(folder, labels):
    """Every clip of a Speech Commands-layout folder, as a data set with the training
    labels (all in its training split)."""
    words = [w for w in labels if not w.startswith("_")]
    t = load_speech_commands(folder, words=words, silence="_silence_" in labels,
                             unknown="_unknown_" in labels, validation_percentage=0,
                             testing_percentage=0, salt="")
    if t.labels != list(labels):
        raise SystemExit(f"{folder}: labels {t.labels} differ from the training labels {labels}.")
    return t


def load_dir(folder, labels):
    """Every clip of a Speech Commands-layout folder, with the training labels: (x, y)."""
    t = load_other(folder, labels)
    xs, ys = zip(*(t.audio(s) for s in ("train", "val", "test") if len(t.files(s)[0])))
    return np.concatenate(xs), np.concatenate(ys)


def score_dir(tfl, x, y, settings):
    """int8 accuracy on the clips of another folder."""
    return convert.verify(tfl, features.extract(x, settings), y, litert=False).int8_accuracy


def speaker_groups(ds, split, k):
    """Indices of ``split``'s clips cut into ``k`` groups of speakers (clips without a
    speaker, e.g. silence, dealt round)."""
    files, _ = ds.files(split)
    speakers = sorted({speaker_of(f) for f in files} - {None})
    group_of = {s: i % k for i, s in enumerate(speakers)}
    groups = [[] for _ in range(k)]
    for i, f in enumerate(files):
        sp = speaker_of(f)
        groups[group_of[sp] if sp is not None else i % k].append(i)
    return [np.array(g, int) for g in groups if g]


KEYS = ("hit_rate", "false_alarms_per_hour_keyword_free", "wrong_word_per_hour")


def stream_entry(row, detector):
    """A sweep row at the saved operating point as JSON: the keys of the issue, the
    threshold, and the counts behind them."""
    return {**{k: row[k] for k in KEYS}, "threshold": detector.threshold,
            **{k: row[k] for k in ("hits", "misses", "wrong_word", "false_alarms_keyword_free",
                                   "hours", "keyword_free_hours")}}


def stream_scores(tfl, settings, labels, x, y, noise, detector, seed):
    """The int8 model's detections at the saved operating point on the streams of the
    clips (x, y): the keys of the issue, and the counts behind them."""
    streams = recipes.kws_streams(x, y, labels, noise=noise, seed=seed)
    row = detector.sweep(recipes.kws_posteriors(tfl, settings, streams, detector=detector),
                         labels)[0]
    return {**stream_entry(row, detector),
            "keyword_stream_seconds": len(streams[0][0]) / settings.sample_rate,
            "keyword_free_stream_seconds": len(streams[1][0]) / settings.sample_rate}


def val_posteriors(tfl, settings, ds, x, y, args):
    """Posteriors of the validation speakers' streams, cut into ``--stream-groups``
    groups of speakers: one list of ``(times, probs, truth)`` per group."""
    return [recipes.kws_posteriors(tfl, settings, recipes.kws_streams(
        x[g], y[g], ds.labels, noise=ds.noise, seed=args.seed))
        for g in speaker_groups(ds, "val", args.stream_groups)]


def choose_detector(posts, labels, args):
    """``streaming.choose_detector`` on the pooled streams of ``posts`` (one list of
    posteriors per group of speakers) with ``--max-false-alarms``, ``--windows``,
    ``--suppress``, ``--min-runs`` and ``--margins``, and how each group fares at it."""
    detector, point, tried = streaming.choose_detector(
        [p for group in posts for p in group], labels,
        max_false_alarms_per_hour=args.max_false_alarms, windows=args.windows,
        suppress=args.suppress, min_runs=args.min_runs, margins=args.margins)
    per_group = [detector.sweep(group, labels)[0] for group in posts]
    spread = {}
    for k in KEYS:
        values = [r[k] for r in per_group if r[k] is not None]
        spread[k] = {"mean": float(np.mean(values)), "min": float(np.min(values)),
                     "max": float(np.max(values))} if values else None
    return detector, point, per_group, spread, tried


def choice_text(detector, point, per_group, spread, tried, args, where):
    """The sweep and the operating point chosen on ``where``'s streams, as text."""
    first = point["rows"][0]
    lines = [f"\noperating points on {where} (window, suppress, min runs, margin):"]
    lines += [f"  window {t['window']:g} s, suppress {t['suppress']:g} s, min runs "
              f"{t['min_runs']}, margin {t['margin']:g}: threshold "
              f"{t['threshold']:g}, hit rate {pct(t['hit_rate'])}, "
              f"{t['false_alarms_per_hour_keyword_free']:.1f} false alarms/h keyword-free, "
              f"{t['wrong_word_per_hour']:.1f} wrong words/h" for t in tried]
    lines += [f"stream sweep on {where} ({len(per_group)} groups pooled; "
              f"{first['hours'] * 60:.1f} min of audio, {first['keyword_free_hours'] * 60:.1f} "
              f"min without keywords; window {detector.window:g} s, suppress "
              f"{detector.suppress:g} s, min runs {detector.min_runs}, margin "
              f"{detector.margin:g}):", streaming.sweep_table(point["rows"], per_keyword=True),
              f"operating point (highest hit rate with <= {args.max_false_alarms:g} false alarms "
              f"per hour of keyword-free audio): threshold {detector.threshold:g}; over the "
              f"groups (mean [min, max]): "
              + "; ".join(f"{k} {v['mean']:.3g} [{v['min']:.3g}, {v['max']:.3g}]"
                          for k, v in spread.items() if v)]
    return lines


def choice_json(detector, point, per_group, spread, tried, args, split):
    return {"split": split, "groups": len(per_group),
            "max_false_alarms_per_hour": args.max_false_alarms,
            "detector": detector.to_dict(), "spread": spread,
            "tried": [{k: v for k, v in t.items() if k not in ("rows", "per_keyword")}
                      for t in tried],
            "per_group": [{k: r[k] for k in ("threshold",) + KEYS} for r in per_group],
            "sweep": [{k: v for k, v in r.items() if k != "per_keyword"}
                      for r in point["rows"]]}


def stream_lines(named):
    """One line per ``(name, stream scores)``."""
    lines = []
    for name, sc in named:
        if sc is not None:
            fa = sc["false_alarms_per_hour_keyword_free"]
            lines.append(
                f"stream of {name} at threshold {sc['threshold']:g}: hit rate "
                f"{pct(sc['hit_rate'])} ({sc['hits']} of {sc['hits'] + sc['misses']}), "
                f"{sc['false_alarms_keyword_free']} false alarms in "
                f"{60 * sc['keyword_free_hours']:.1f} min without keywords "
                f"({'-' if fa is None else f'{fa:.1f}'}/h), {sc['wrong_word']} wrong words "
                f"({sc['wrong_word_per_hour']:.1f}/h)")
    return lines


def stream_report(tfl, settings, ds, val, test, args, other=None, save=None):
    """Choose the operating point on the validation speakers' streams, save it (``save``:
    the JSON path), score the test split's streams and ``other``'s (the clips of
    ``--test-dir``) at it. Returns
    the JSON entries ``stream``, ``test_dir_stream``, ``stream_choice`` and ``text``."""
    chosen = choose_detector(val_posteriors(tfl, settings, ds, *val, args), ds.labels, args)
    detector = chosen[0]
    if save:
        detector.save(save)
    stream = stream_scores(tfl, settings, ds.labels, *test, ds.noise, detector, args.seed)
    test_dir_stream = None
    if other is not None:
        test_dir_stream = stream_scores(tfl, settings, ds.labels, *other, ds.noise, detector,
                                        args.seed)
    lines = choice_text(*chosen, args, "the validation speakers' streams")
    lines += stream_lines((("test split", stream), (args.test_dir, test_dir_stream)))
    return {"stream": stream, "test_dir_stream": test_dir_stream,
            "stream_choice": choice_json(*chosen, args, "val"), "text": "\n".join(lines)}


def saved_model(args, ds):
    """``--model DIR``: the streams of a model saved by ``--save`` (no training)."""
    folder = Path(args.model)
    tfl = convert.Int8Model.load(folder / "ds_cnn.tflite")
    settings = features.load_settings(folder / "ds_cnn_features.json")
    val, test = ds.audio("val"), ds.audio("test")
    acc = convert.verify(tfl, features.extract(test[0], settings), test[1],
                         litert=False).int8_accuracy
    other = load_dir(args.test_dir, ds.labels) if args.test_dir else None
    streams = stream_report(tfl, settings, ds, val, test, args, other,
                            save=folder / "ds_cnn_detector.json")
    print(f"int8 accuracy of {folder / 'ds_cnn.tflite'} on the test split: {pct(acc)}")
    print(streams.pop("text"))
    return {"int8_accuracy": acc, **streams, "model": str(folder), "data": str(args.data),
            "seed": args.seed, "args": vars(args)}


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def held_out_posteriors(args, ds):
    """``each`` of ``cross_validate``: the fold's row, and the posteriors of its held-out
    speakers' streams (keywords; no keyword) under the fold's model."""
    def each(fold, result):
        x, y = result.prepared[1]["test"]
        streams = recipes.kws_streams(x, y, ds.labels, noise=ds.noise, seed=args.seed)
        posts = recipes.kws_posteriors(result.tflite, result.settings, streams)
        if not args.quiet:
            print(f"fold {fold.index + 1}: int8 {pct(result.report.int8_accuracy)}, float "
                  f"{pct(result.report.float_accuracy)}, {result.seconds:.0f} s", flush=True)
        return {"record": record(result), "posts": posts}
    return each


def nested_choice(posts, labels, args, per_cut=None):
    """How the operating point holds on speakers its choice has not seen: each fold is
    scored at the point :func:`choose_detector` picks on the other folds' streams (window,
    suppression, min runs, margin and threshold), and with a threshold per keyword
    (``streaming.keyword_thresholds``) chosen there on the same knobs; the per-keyword
    thresholds are kept only if, pooled over the folds, they hit more keywords with no
    more false alarms per hour (or within budget). With several cuts (``posts`` cut after
    cut, ``per_cut`` folds each) the others are the folds of the fold's own cut: other
    cuts hold its speakers."""
    per_cut = per_cut or len(posts)
    single, mixed, chosen = [], [], []
    for i in range(len(posts)):
        others = [p for j, p in enumerate(posts) if j // per_cut == i // per_cut and j != i]
        detector, point = choose_detector(others, labels, args)[:2]
        mix = streaming.keyword_thresholds(point["rows"], args.max_false_alarms)["thresholds"]
        single.append(detector.sweep(posts[i], labels)[0])
        mixed.append(dataclasses.replace(detector, thresholds=mix).sweep(posts[i], labels)[0])
        chosen.append({k: getattr(detector, k)
                       for k in ("threshold", "window", "suppress", "min_runs", "margin")})
    a, b = streaming.pool(single), streaming.pool(mixed)
    fa = lambda r: r["false_alarms_per_hour_keyword_free"] or 0.0  # noqa: E731
    keep = b["hits"] > a["hits"] and fa(b) <= max(args.max_false_alarms, fa(a))
    return {"single": {k: a[k] for k in KEYS}, "per_keyword": {k: b[k] for k in KEYS},
            "keep_per_keyword": bool(keep), "chosen": chosen}


def nested_text(nested):
    row = lambda r: (f"hit rate {pct(r['hit_rate'])}, "  # noqa: E731
                     f"{r['false_alarms_per_hour_keyword_free']:.1f} false alarms/h keyword-free,"
                     f" {r['wrong_word_per_hour']:.1f} wrong words/h")
    points = ", ".join(f"{c['window']:g} s/{c['min_runs']}/{c['margin']:g}/{c['threshold']:g}"
                       for c in nested["chosen"])
    return (f"each fold at the point chosen on the others (window/min runs/margin/threshold: "
            f"{points}): one threshold {row(nested['single'])}; "
            f"a threshold per keyword {row(nested['per_keyword'])}: "
            + ("kept" if nested["keep_per_keyword"] else "not kept"))


def folds_run(args, ds, overrides, data):
    """The default run: grouped folds measure the recipe and choose the detector's
    operating point on their held-out speakers' streams; the final model is trained on
    every clip, saved with that point and scored on ``--test-dir``."""
    t0 = time.perf_counter()
    cv = recipes.cross_validate("kws", ds, folds=args.folds, seed=args.seed, cuts=args.cuts,
                                each=held_out_posteriors(args, ds), verbose=not args.quiet,
                                **overrides)
    fold_rows = [e["record"] for e in cv.extras]
    posts = [e["posts"] for e in cv.extras]
    chosen = choose_detector(posts, ds.labels, args)
    detector, point = chosen[0], chosen[1]
    nested = nested_choice(posts, ds.labels, args, per_cut=args.folds)
    if nested["keep_per_keyword"]:
        mix = streaming.keyword_thresholds(point["rows"], args.max_false_alarms)["thresholds"]
        detector = dataclasses.replace(detector, thresholds=tuple(sorted(
            (k, v) for k, v in mix.items() if v != detector.threshold)))
    at = detector.sweep([p for group in posts for p in group], ds.labels)[0]
    stream = {**stream_entry(at, detector), "thresholds": dict(detector.thresholds)}
    other = load_other(args.test_dir, ds.labels) if args.test_dir else None
    final = recipes.kws(datasets.pooled(ds, test=other), seed=args.seed, out=args.save,
                        verbose=not args.quiet, **overrides)
    if args.save:
        detector.save(Path(args.save) / f"{final.name}_detector.json")
    test_dir_stream = None
    if other is not None:
        test_dir_stream = stream_scores(final.tflite, final.settings, ds.labels,
                                        *final.prepared[1]["test"], ds.noise, detector, args.seed)
    base = None
    if not args.no_baseline:
        base = record(recipes.kws(ds, model="tiny_conv", seed=args.seed,
                                  verbose=not args.quiet, **overrides))
    final_row = record(final)
    print(f"\nkeyword spotting on {data}: {len(cv.accuracies)} speaker-grouped folds of "
          f"{len(ds.files_train) + len(ds.files_val) + len(ds.files_test)} clips, seed {args.seed}")
    print(cv.summary())
    cols = ("model", "float_accuracy", "qat_accuracy", "int8_accuracy", "flash_bytes",
            "arena_bytes", "seconds")
    print(" ".join(f"{c:>14}" for c in ("run",) + cols))
    named = [(f"fold {n}", r) for n, r in zip(cv.fold_labels, fold_rows)]
    named += [("final (all)", final_row)] + ([("tiny_conv split", base)] if base else [])
    for name, r in named:
        cells = [pct(r[c]) if c.endswith("accuracy") else f"{r[c]:.0f}" if c == "seconds"
                 else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols]
        print(" ".join(f"{v:>14}" for v in [name] + cells))
    if other is not None:
        print(f"final model (trained on every clip) on {args.test_dir}: int8 "
              f"{pct(final.report.int8_accuracy)}, float (QAT) {pct(final.report.float_accuracy)}"
              f", before QAT {pct(final.float_accuracy)} of {len(final.y_test)} clips")
    print("\n".join(choice_text(*chosen, args, "the held-out folds' streams")
                    + [nested_text(nested)]
                    + stream_lines((("the held-out folds", stream),
                                    (args.test_dir, test_dir_stream)))))
    mean = lambda key: float(np.mean([r[key] for r in fold_rows]))  # noqa: E731
    return {
        "float_accuracy": mean("float_accuracy"), "qat_accuracy": mean("qat_accuracy"),
        "int8_accuracy": cv.mean, "fold_accuracy_mean": cv.mean, "fold_accuracy_std": cv.std,
        "fold_accuracies": cv.accuracies, "fold_float_accuracies": cv.float_accuracies,
        "fold_cut_means": cv.cut_means,
        "worst_speakers": [list(w) for w in cv.worst(10)], "fold_seconds": cv.seconds,
        "baseline_int8_accuracy": base["int8_accuracy"] if base else None,
        "test_dir_accuracy": final.report.int8_accuracy if other is not None else None,
        "test_dir_float_accuracy": final.report.float_accuracy if other is not None else None,
        "test_dir_clips": len(final.y_test) if other is not None else None,
        "flash_bytes": final_row["flash_bytes"], "arena_bytes": final_row["arena_bytes"],
        "seconds": time.perf_counter() - t0, "train_seconds": final_row["train_seconds"],
        "stream": stream, "test_dir_stream": test_dir_stream,
        "stream_choice": {**choice_json(*chosen, args, cv.split),
                          "nested": nested, "detector": detector.to_dict()},
        "train_clips": len(final.prepared[1]["train"][1]),
        "data": str(data), "seed": args.seed, "split": cv.split,
        "settings": final.settings.to_dict(), "args": vars(args),
        "runs": fold_rows + [final_row] + ([base] if base else [])}


def split_run(args, ds, overrides, data, t0):
    """``--folds 0``: one model on the hash split, the operating point chosen on the
    validation speakers' streams, the test split's streams scored at it."""
    main_model = recipes.kws(ds, seed=args.seed, out=args.save, verbose=not args.quiet,
                             **overrides)
    rows = [record(main_model)]
    base = None
    if not args.no_baseline:
        base = record(recipes.kws(ds, model="tiny_conv", seed=args.seed, verbose=not args.quiet,
                                  prepared=main_model.prepared, **overrides))
        rows.append(base)
    tfl, settings = main_model.tflite, main_model.settings
    clips = main_model.prepared[1]
    test_dir_acc = test_dir_n = other = None
    if args.test_dir:
        other = load_dir(args.test_dir, ds.labels)
        test_dir_acc, test_dir_n = score_dir(tfl, *other, settings), len(other[1])
    streams = stream_report(tfl, settings, ds, clips["val"], clips["test"], args, other,
                            save=args.save and Path(args.save) / f"{main_model.name}_detector.json")

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
    print(streams.pop("text"))
    total = time.perf_counter() - t0
    rec = rows[0]
    result = {
        "float_accuracy": rec["float_accuracy"], "qat_accuracy": rec["qat_accuracy"],
        "int8_accuracy": rec["int8_accuracy"],
        "baseline_int8_accuracy": base["int8_accuracy"] if base else None,
        "test_dir_accuracy": test_dir_acc, "test_dir_clips": test_dir_n,
        "flash_bytes": rec["flash_bytes"], "arena_bytes": rec["arena_bytes"],
        "seconds": total, "train_seconds": rec["train_seconds"], **streams,
        "test_clips": len(ds.files_test), "train_clips": len(ds.files_train),
        "data": str(data), "seed": args.seed, "split": ds.split,
        "settings": main_model.settings.to_dict(), "args": vars(args), "runs": rows}
    return result


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
    p.add_argument("--blocks", type=int, default=D["blocks"],
                   help="DS-CNN depthwise-separable blocks")
    p.add_argument("--dropout", type=float, default=D["dropout"])
    p.add_argument("--l2", type=float, default=D["l2"])
    p.add_argument("--fmin", type=float, default=D["fmin"],
                   help="lowest edge of the mel filterbank, Hz")
    p.add_argument("--fmax", type=float, default=D["fmax"])
    p.add_argument("--n-mfcc", type=int, default=D["n_mfcc"], help="MFCC coefficients per frame")
    p.add_argument("--amin", type=float, default=D["amin"],
                   help="floor of the mel power before the log (1e-10: librosa's, -100 dB)")
    p.add_argument("--first-strides", type=int, nargs=2, default=D["first_strides"],
                   metavar=("TIME", "FREQ"),
                   help="strides (time, frequency) of the DS-CNN's first convolution")
    p.add_argument("--noise-level", type=float, default=D["noise_level"])
    p.add_argument("--noise-probability", type=float, default=D["noise_probability"])
    p.add_argument("--max-shift", type=float, default=D["max_shift"], help="seconds")
    p.add_argument("--time-width", type=int, default=D["time_width"])
    p.add_argument("--freq-width", type=int, default=D["freq_width"])
    p.add_argument("--speed", type=float, default=D["speed"],
                   help="largest change of speed (speed perturbation)")
    p.add_argument("--gain-db", type=float, default=D["gain_db"], help="largest gain change, dB")
    p.add_argument("--reverb", type=float, default=D["reverb"],
                   help="share of clips played in a random room (synthetic reverberation)")
    p.add_argument("--eq-db", type=float, default=D["eq_db"],
                   help="largest boost or cut of a random microphone response, dB")
    p.add_argument("--warp", type=float, default=D["warp"],
                   help="largest stretch of the mel filters along frequency (vocal tract "
                        "length perturbation; 0.1: factors 0.9-1.1)")
    p.add_argument("--variants", type=int, default=D["variants"],
                   help="waveform variants per clip made once, then drawn (0: afresh every "
                        "epoch)")
    p.add_argument("--label-smoothing", type=float, default=D["label_smoothing"])
    p.add_argument("--focal", type=float, default=D["focal"],
                   help="gamma of the focal loss (0: cross-entropy)")
    p.add_argument("--mixup", type=float, default=D["mixup"], help="Beta parameter (0: off)")
    p.add_argument("--negatives", type=float, default=D["negatives"],
                   help="hard negatives (words cut short, spliced) added as _unknown_, as a "
                        "share of the training clips")
    p.add_argument("--teacher", type=int, default=D["teacher"],
                   help="channels of a float DS-CNN teacher to distil (0: none)")
    p.add_argument("--distill", type=float, default=D["distill"],
                   help="the teacher's share of the targets")
    p.add_argument("--unknown-weight", type=float, default=D["unknown_weight"],
                   help="loss weight of _unknown_ examples (1: as every class)")
    p.add_argument("--average", type=float, default=D["average"],
                   help="decay of a moving average of the weights (0: off; 0.999 is usual)")
    p.add_argument("--spoken-unknown", type=float, default=D["spoken_unknown"],
                   help="other words said by espeak-ng, added as _unknown_, as a share of "
                        "the training clips (0: none)")
    p.add_argument("--spoken-phrases", type=float, default=D["spoken_phrases"],
                   help="share of the spoken clips that are 2-3 words run together, cut at "
                        "the clip's edges")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--stream-groups", type=int, default=4,
                   help="groups of validation speakers the operating point is checked on")
    p.add_argument("--max-false-alarms", type=float, default=10.0,
                   help="false alarms per hour of keyword-free audio the operating point allows")
    p.add_argument("--windows", type=float, nargs="+", default=list(streaming.WINDOWS),
                   help="smoothing windows (s) the operating point is chosen among")
    p.add_argument("--min-runs", type=int, nargs="+", default=list(streaming.MIN_RUNS),
                   help="model runs a keyword must last, tried in the choice")
    p.add_argument("--margins", type=float, nargs="+", default=list(streaming.MARGINS),
                   help="margins over the runner-up class, tried in the choice")
    p.add_argument("--suppress", type=float, nargs="+",
                   default=list(streaming.SUPPRESS_TIMES),
                   help="suppression times (s) the operating point is chosen among")
    p.add_argument("--save", help="folder for the exported model, feature settings, C tables")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--model", help="a folder written by --save: measure its streams only "
                   "(no training), and save the chosen operating point into it")
    p.add_argument("--folds", type=int, default=5,
                   help="speaker-grouped folds measuring the recipe and its operating point; "
                        "the final model then trains on every clip (0: one split instead)")
    p.add_argument("--cuts", type=int, default=1,
                   help="cuts of the clips into --folds folds (seeds --seed, --seed + 1 ...): "
                        "the estimate's mean over all, at that many times the time")
    args = p.parse_args(argv)
    if args.cuts < 1:
        p.error(f"--cuts {args.cuts}: give 1 or more cuts of the clips into folds")
    if tinykit.train.fast_mode():
        print("note: TINYKIT_FAST is set: training is cut to a few epochs")

    t0 = time.perf_counter()
    data = args.data if Path(args.data).is_dir() else tinykit.datasets.data_root() / args.data
    ds = load_speech_commands(data, seed=args.seed)
    print(ds)
    for note in ds.notes:
        print("  note:", note)
    if args.model:
        result = saved_model(args, ds)
    else:
        overrides = dict(epochs=args.epochs, qat_epochs=args.qat_epochs,
                         batch_size=args.batch_size, learning_rate=args.lr,
                         filters=args.filters, blocks=args.blocks, dropout=args.dropout,
                         l2=args.l2, fmin=args.fmin, fmax=args.fmax, n_mfcc=args.n_mfcc,
                         amin=args.amin,
                         first_strides=args.first_strides, augment=not args.no_augment,
                         noise_level=args.noise_level, noise_probability=args.noise_probability,
                         max_shift=args.max_shift, time_width=args.time_width,
                         freq_width=args.freq_width, speed=args.speed, gain_db=args.gain_db,
                         reverb=args.reverb, eq_db=args.eq_db, warp=args.warp,
                         variants=args.variants or None,
                         label_smoothing=args.label_smoothing, mixup=args.mixup,
                         negatives=args.negatives, teacher=args.teacher, distill=args.distill,
                         unknown_weight=args.unknown_weight, average=args.average,
                         focal=args.focal, spoken_unknown=args.spoken_unknown,
                         spoken_phrases=args.spoken_phrases)
        result = (folds_run(args, ds, overrides, data) if args.folds
                  else split_run(args, ds, overrides, data, t0))
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
