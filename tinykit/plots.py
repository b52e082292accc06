"""Plots for notebooks (matplotlib): raw traces, learning curves, confusion matrices.

Each function draws on a new figure (or the ``ax`` given) and returns the figure.
"""
from __future__ import annotations

import numpy as np

from .datasets.folds import group_name
from .errors import ParameterError


def _plt():
    import matplotlib.pyplot as plt
    return plt


def readable(label) -> str:
    """A class name as a student should read it: Speech Commands' ``_silence_`` and
    ``_unknown_`` lose their underscores.

    Example:
        >>> readable("_silence_"), readable("Revelio")
        ('silence', 'Revelio')
    """
    label = str(label)
    return label.strip("_") if label.startswith("_") and label.endswith("_") else label


def imu_traces(ds, per_class=1, columns=None):
    """Raw IMU traces of ``per_class`` training gestures for each label: accelerometer
    on the top row, gyroscope below, one column per label. Each row shares its y axis,
    so the labels can be compared."""
    plt = _plt()
    columns = columns or ds.columns
    fig, axes = plt.subplots(2, ds.num_classes, figsize=(3.2 * ds.num_classes, 5.4),
                             sharex=True, sharey="row", squeeze=False)
    t = np.arange(ds.samples_per_gesture) / ds.sample_rate
    for i, label in enumerate(ds.labels):
        picks = np.flatnonzero(ds.y_train == i)[:per_class]
        for row, lo in enumerate((0, 3)):
            ax = axes[row, i]
            for k in picks:
                for c in range(lo, min(lo + 3, len(columns))):
                    ax.plot(t, ds.x_train[k, :, c], lw=1, color=f"C{c - lo}", label=columns[c])
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("time (s)")
        axes[0, i].set_title(readable(label), fontsize=10)
    axes[0, 0].set_ylabel("acceleration (g)")
    axes[1, 0].set_ylabel("angular rate (deg/s)")
    for row in range(2):
        handles, names = axes[row, 0].get_legend_handles_labels()
        axes[row, 0].legend(handles[:3], names[:3], fontsize=7, loc="upper right")
    many = f"{per_class} training gestures" if per_class > 1 else "one training gesture"
    fig.suptitle(f"{many} per label: accelerometer (top), gyroscope (bottom)")
    fig.tight_layout()
    return fig


def imu_augmented(original, augmented, features=None, columns=("aX", "aY", "aZ")):
    """One normalised gesture (solid) and an augmented copy of it (dashed), the
    accelerometer axes only, each axis in its own colour in both.

    Args:
        original, augmented: arrays (samples, channels) as ``features.imu_normalize``
            returns them (1 = the sensor's full scale).
        features: the ``ImuFeatures`` used (full scale, sample rate); default ones if None.
    """
    from .features import ImuFeatures
    plt = _plt()
    features = features or ImuFeatures()
    t = np.arange(len(original)) / features.sample_rate
    fig, ax = plt.subplots(figsize=(8, 3))
    for c, name in enumerate(columns):
        ax.plot(t, np.asarray(original)[:, c], lw=1.2, color=f"C{c}", label=f"{name} original")
        ax.plot(t, np.asarray(augmented)[:, c], "--", lw=1, color=f"C{c}", label=f"{name} augmented")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"acceleration / {features.accel_range_g:g} g")
    ax.set_title("accelerometer: one gesture (solid) and an augmented copy (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3, loc="upper right")
    fig.tight_layout()
    return fig


def learning_curves(history):
    """Loss and accuracy per epoch (training and validation); the QAT epochs are shaded,
    a line marks where QAT began and the titles say from which epoch.

    Args:
        history: ``tinykit.train.history(model)`` or the model itself.
    """
    from matplotlib.ticker import MaxNLocator
    plt = _plt()
    if not isinstance(history, dict):
        from .train import history as get
        history = get(history)
    curves, qat = history["curves"], history.get("qat_start_epoch")
    epochs = max((len(v) for v in curves.values()), default=0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    units = {"loss": ("loss (cross-entropy)", 1), "accuracy": ("accuracy (%)", 100)}
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ylabel, scale = units[metric]
        for key, style, name in ((metric, "-", "training"), (f"val_{metric}", "--", "validation")):
            if key in curves:
                ax.plot(np.arange(1, len(curves[key]) + 1), scale * np.asarray(curves[key]),
                        style, marker="." if epochs < 20 else None, label=name)
        title = f"{metric} per epoch"
        if qat is not None and qat < epochs:     # said in the title: no curve or legend hides it
            ax.axvspan(qat + 0.5, epochs + 0.5, color="tab:purple", alpha=0.1, label="QAT")
            ax.axvline(qat + 0.5, color="tab:purple", lw=1, ls=":")
            title += f"\n(shaded: QAT, from epoch {qat + 1})"
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, epochs + 0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts, rows = true label, columns = predicted label."""
    m = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def confusion(y_true, predictions, labels, titles=None):
    """Confusion matrices, one per entry of ``predictions`` (e.g. float and int8), side
    by side (above one another past 8 labels, so that names and numbers stay
    readable). Each cell shows its count and the share of its row (the true label)
    that it holds; the colour is that share, so rows of rare and common labels read
    alike. The accuracy is in each title."""
    plt = _plt()
    if isinstance(predictions, np.ndarray):
        predictions = [predictions]
    titles = titles or [f"model {i}" for i in range(len(predictions))]
    n = len(labels)
    names = [readable(x) for x in labels]
    side = max(4.5, 0.55 * n + 2)
    rows, cols = (1, len(predictions)) if n <= 8 else (len(predictions), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(side * cols + 1, side * rows), squeeze=False,
                             layout="constrained")
    axes = axes.ravel()
    font = 8 if n <= 8 else 7
    for k, (ax, pred, title) in enumerate(zip(axes, predictions, titles)):
        m = confusion_matrix(y_true, pred, n)
        share = row_shares(m)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                if m[i, j] or i == j:
                    ax.text(j, i, f"{m[i, j]}\n{100 * share[i, j]:.0f}%", ha="center",
                            va="center", color="white" if share[i, j] > 0.5 else "black",
                            fontsize=font)
        ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), names, fontsize=8)
        ax.set_xlabel("predicted label")
        if k % cols == 0:               # beside a neighbour's class names it would collide
            ax.set_ylabel("true label")
        acc = np.trace(m) / max(m.sum(), 1)
        ax.set_title(f"{title}: {100 * acc:.1f}% correct ({np.trace(m)}/{m.sum()})")
    fig.colorbar(image, ax=list(axes), shrink=0.8 if rows == 1 else 0.4,
                 label="share of the true label's samples (row)")
    return fig


def row_shares(m):
    """Each row of a confusion matrix divided by its sum (rows with no sample stay 0).

    Example:
        >>> row_shares(np.array([[3, 1], [0, 0]])).tolist()
        [[0.75, 0.25], [0.0, 0.0]]
    """
    m = np.asarray(m, dtype=float)
    total = m.sum(axis=1, keepdims=True)
    return np.divide(m, total, out=np.zeros_like(m), where=total > 0)


def audio_examples(clips, y, labels, settings, per_class=1, classes=None, columns=6):
    """Waveform and, below it, its features (MFCC or log-mel, time left to right) of
    ``per_class`` clips of each label, ``columns`` clips to a row."""
    from .features.audio import extract
    plt = _plt()
    classes = list(range(len(labels))) if classes is None else list(classes)
    picks = [k for c in classes for k in np.flatnonzero(np.asarray(y) == c)[:per_class]]
    cols = min(columns, len(picks))
    rows = -(-len(picks) // cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(2.2 * cols, 4.2 * rows), squeeze=False)
    feats = extract(np.asarray(clips)[picks], settings, normalized=False)
    t = np.arange(np.asarray(clips).shape[1]) / settings.sample_rate
    seconds = feats.shape[1] * settings.stride_ms / 1000
    what = "MFCC coefficient" if settings.kind == "mfcc" else "mel band"
    in_last_row = len(picks) - (rows - 1) * cols
    for ax in axes[-2:, in_last_row:].ravel():
        ax.axis("off")                      # empty places in the last row
    for i, (k, f) in enumerate(zip(picks, feats)):
        wave, feat = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        wave.plot(t, clips[k], lw=0.5)
        wave.set_title(readable(labels[y[k]]), fontsize=10)
        wave.set_ylim(-1, 1)
        feat.imshow(f.T, origin="lower", aspect="auto", cmap="magma",
                    extent=(0, seconds, -0.5, f.shape[1] - 0.5))
        for ax in (wave, feat):
            ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
        if i % cols == 0:
            wave.set_ylabel("amplitude\n(full scale = 1)", fontsize=8)
            feat.set_ylabel(what, fontsize=8)
    kind = "MFCC" if settings.kind == "mfcc" else "log-mel energies"
    fig.suptitle(f"one clip per label: its waveform, and below it its {kind} "
                 f"(bright = more energy)" if per_class == 1 else
                 f"{per_class} clips per label: waveforms, and below them their {kind}")
    fig.tight_layout()
    return fig


def stream_detections(audio, detections, truth=(), sample_rate=16000, seconds=None):
    """A long recording with the true keywords (shaded, named above) and the
    detections (vertical lines, named below)."""
    plt = _plt()
    audio = np.asarray(audio)
    n = len(audio) if seconds is None else min(len(audio), int(seconds * sample_rate))
    fig, ax = plt.subplots(figsize=(14, 3))
    t = np.arange(n) / sample_rate
    ax.plot(t, audio[:n], lw=0.3, color="grey")
    end = n / sample_rate
    for label, start, stop in truth:
        if start < end:
            ax.axvspan(start, stop, color="tab:blue", alpha=0.15)
            ax.text(start, 0.95, readable(label), fontsize=8, color="tab:blue", va="top")
    for d in detections:
        if d.time < end:
            ax.axvline(d.time, color="tab:red", lw=1)
            ax.text(d.time, -0.95, readable(d.label), fontsize=8, color="tab:red", va="bottom")
    ax.set_ylim(-1, 1)
    ax.set_xlim(0, end)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.set_title(f"the first {end:.0f} s of the stream: true keywords (blue, named above) "
                 f"and detections (red lines, named below)")
    fig.tight_layout()
    return fig


def detection_sweep(rows, operating=None, per_keyword=True, ax=None):
    """Hit rate against false alarms per hour of keyword-free audio over thresholds
    (the rows of :func:`tinykit.streaming.sweep`), overall (black, each point named by
    its threshold) and per keyword (thin lines), with the operating point ringed.

    Args:
        rows: :func:`tinykit.streaming.sweep`'s rows.
        operating: the threshold of the operating point (e.g. the saved
            ``KeywordDetector``'s), or a row of the sweep; none when ``None``.
        per_keyword: also draw each keyword's curve (its false alarms: detections that
            name it where it was not said, per hour of the whole audio).
    """
    if not rows:
        raise ParameterError("detection_sweep() needs the rows of tinykit.streaming.sweep().")
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
    else:
        fig = ax.figure
    fa = [r["false_alarms_per_hour_keyword_free"] or 0.0 for r in rows]
    hit = [100 * (r["hit_rate"] or 0.0) for r in rows]
    if per_keyword:
        for k in sorted({k for r in rows for k in r["per_keyword"]}):
            cells = [r["per_keyword"].get(k) for r in rows]
            if not all(c and c["keywords"] for c in cells):
                continue
            ax.plot([c["false_alarms"] / r["hours"] for c, r in zip(cells, rows)],
                    [100 * c["hits"] / c["keywords"] for c in cells], lw=0.8, alpha=0.6,
                    label=k)
    ax.plot(fa, hit, "o-", color="black", lw=2, ms=4, label="all keywords")
    for x, y, r in zip(fa, hit, rows):
        ax.annotate(f"{r['threshold']:g}", (x, y), textcoords="offset points", xytext=(3, -9),
                    fontsize=7)
    if operating is not None:
        t = operating["threshold"] if isinstance(operating, dict) else float(operating)
        i = int(np.argmin([abs(r["threshold"] - t) for r in rows]))
        ax.plot([fa[i]], [hit[i]], "o", ms=14, mfc="none", mec="tab:red", mew=2,
                label=f"operating point (threshold {rows[i]['threshold']:g}): "
                      f"{hit[i]:.0f}% at {fa[i]:.0f}/h")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("false alarms per hour of keyword-free audio")
    ax.set_ylabel("hit rate (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("keyword detection over thresholds")
    fig.tight_layout()
    return fig


def _mark_detections(ax, detections, end, color, y):
    for d in detections:
        if d.time < end:
            ax.axvline(d.time, color=color, lw=1)
            ax.text(d.time, y, f" {d.label}", fontsize=8, color=color, va="center")


def stream_host_device(audio, host, device, truth=(), sample_rate=16000, seconds=None):
    """A recording with the true keywords (shaded, named), the host's detections (red,
    on the waveform) and the device's (green, in a strip under it), on one time axis.

    Args:
        audio: the samples (floats in [-1, 1] or int16).
        host, device: lists of :class:`tinykit.streaming.Detection`.
        truth: ``(label, start_s, end_s)`` of the keywords.
        seconds: draw only the first seconds.
    """
    plt = _plt()
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        audio = audio / 32768.0
    n = len(audio) if seconds is None else min(len(audio), int(seconds * sample_rate))
    end = n / sample_rate
    fig, (top, strip) = plt.subplots(2, 1, figsize=(14, 3.8), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1]})
    top.plot(np.arange(n) / sample_rate, audio[:n], lw=0.3, color="grey")
    for ax in (top, strip):
        for label, start, stop in truth:
            if start < end:
                ax.axvspan(start, stop, color="tab:blue", alpha=0.15)
    for label, start, stop in truth:
        if start < end:
            top.text(start, 0.95, label, fontsize=8, color="tab:blue", va="top")
    _mark_detections(top, host, end, "tab:red", -0.8)
    _mark_detections(strip, device, end, "tab:green", 0.5)
    top.set_ylim(-1, 1)
    top.set_ylabel("amplitude")
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.set_ylabel("device", rotation=0, ha="right", va="center")
    strip.set_xlim(0, end)
    strip.set_xlabel("time (s)")
    top.set_title(f"true keywords (blue); detections of the host, TFLM (red, "
                  f"{len(host)}) and of the emulated board (green, {len(device)})")
    fig.tight_layout()
    return fig


#: Readable names of the audio front end's stages (tinykit.deploy.audio_frontend.STAGES).
STAGE_NAMES = {"power": "power spectrum", "mel": "mel energies", "log_mel": "log-mel (dB)",
               "coefficients": "MFCC", "normalized": "normalised features"}


def feature_parity(match, title="C front end on the device vs librosa in Python"):
    """The largest difference of each stage of the C front end from Python's, relative
    to the stage's size (bars, log scale, the absolute difference written on each), and
    the int8 model inputs that match, in the title.

    Args:
        match: :func:`tinykit.deploy.audio_frontend.parity` of a run with stages.
    """
    plt = _plt()
    stages = list(match["max_rel"])
    if not stages:
        raise ParameterError("parity() of a run without stages: run the front end with "
                         "stages=True to draw them.")
    rel = [max(match["max_rel"][s], 1e-12) for s in stages]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bars = ax.bar([STAGE_NAMES.get(s, s) for s in stages], rel, color="tab:purple")
    for bar, s in zip(bars, stages):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(),
                f"{match['max_abs'][s]:.2g}", ha="center", va="bottom", fontsize=8)
    eps = float(np.finfo(np.float32).eps)
    ax.axhline(eps, color="grey", lw=1, ls="--", label="float32 rounding (2^-23)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(1e-9, 1)
    ax.set_ylabel("largest difference /\nlargest value of the frame")
    ax.set_xlabel("stage (the number on a bar: largest absolute difference)")
    step = match["max_feature_step"]
    ax.set_title(f"{title}\nint8 model input: {100 * match['feature_match']:.2f}% of "
                 f"{match['values']:,} values equal"
                 + (f", at most {step} step apart" if step else ""), fontsize=10)
    fig.tight_layout()
    return fig


def cross_validation(cv, worst=8):
    """A grouped-fold estimate (:func:`tinykit.recipes.cross_validate`) at a glance.

    Left, the int8 (TFLM) accuracy of each fold (bars, the value on each) and the float
    model's (dots), with the mean over folds (dashed line) and ± one standard
    deviation (band). Right, the ``worst`` groups (speakers, recordings or gestures)
    surest to be weak over the fold that tested them (:meth:`CrossValidation.worst
    <tinykit.recipes.CrossValidation.worst>`), worst on top, each named with its number
    of items and share right; the dashed line is the mean over folds.

    Args:
        cv: a :class:`tinykit.recipes.CrossValidation`.
        worst: how many groups to show on the right.

    Raises:
        ParameterError: ``cv`` has no fold, or ``worst`` is not a positive integer.

    Example:
        >>> cv = tinykit.recipes.cross_validate("gesture", "magic_wand")  # doctest: +SKIP
        >>> plots.cross_validation(cv, worst=5)  # doctest: +SKIP
    """
    if not cv.accuracies:
        raise ParameterError("cross_validation() got a CrossValidation with no fold: run "
                             "tinykit.recipes.cross_validate() first.")
    if isinstance(worst, bool) or int(worst) != worst or worst < 1:
        raise ParameterError(f"worst={worst!r}: give how many groups to show (1 or more).")
    plt = _plt()
    acc = 100 * np.asarray(cv.accuracies, dtype=float)
    mean, std = 100 * cv.mean, 100 * cv.std
    folds = np.arange(1, len(acc) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    bars = left.bar(folds, acc, width=0.6, color="tab:blue", label="int8 (TFLM)")
    for bar, a in zip(bars, acc):                  # at the foot: the dots sit at the tops
        left.text(bar.get_x() + bar.get_width() / 2, 3, f"{a:.1f}%", ha="center",
                  va="bottom", fontsize=8, color="white" if a > 12 else "black")
    left.axhspan(mean - std, mean + std, color="tab:red", alpha=0.15, zorder=3,
                 label=f"± 1 std ({std:.1f} points)")
    floats = [(f, 100 * a) for f, a in zip(folds, cv.float_accuracies) if a is not None]
    if floats:
        left.plot(*zip(*floats), "o", color="black", ms=5, label="float (Keras)")
    left.axhline(mean, color="tab:red", ls="--", lw=1.5, label=f"mean int8 {mean:.1f}%")
    if cv.cuts > 1:        # cut.fold: each cut's folds in turn
        left.set_xticks(folds, cv.fold_labels, fontsize=7)
    else:
        left.set_xticks(folds, [f"fold {n}" for n in cv.fold_labels])
    left.set_ylim(0, 130)                                  # room for the legend above
    left.set_yticks(range(0, 101, 20))
    left.set_xlabel("held-out fold (groups no other fold has)" if cv.cuts == 1 else
                    "held-out fold (cut.fold; a cut's folds share no group)")
    left.set_ylabel("accuracy on the held-out fold (%)")
    left.set_title(f"{cv.recipe}: {mean:.1f}% ± {std:.1f} over {cv.split}", fontsize=10)
    left.grid(axis="y", alpha=0.3)
    left.legend(fontsize=7, loc="upper left", ncol=2)

    rows = cv.worst(int(worst))
    many = any(t > 1 for _, _, t in rows) or any(t > 1 for _, t in cv.per_group.values())
    items = "clips" if cv.recipe == "kws" else "gestures"
    kind = "speakers" if cv.recipe == "kws" else ("recordings" if many else "gestures")
    if rows:
        names = [f"{group_name(g)} ({t} {items if t != 1 else items[:-1]})"
                 for g, _, t in rows]
        share = [100 * a for _, a, _ in rows]
        y = np.arange(len(rows))
        right.barh(y, share, height=0.6, color="tab:orange")
        for k, (g, a, t) in zip(y, rows):          # long bars carry it inside, at the end
            inside = a > 0.6
            right.text(100 * a + (-1 if inside else 1), k,
                       f"{100 * a:.0f}% ({cv.per_group[g][0]}/{t})", va="center",
                       ha="right" if inside else "left", fontsize=8,
                       color="white" if inside else "black")
        right.set_yticks(y, names, fontsize=8)
        right.invert_yaxis()                               # the worst on top
    else:
        right.text(0.5, 0.5, "no per-group results", ha="center", va="center",
                   transform=right.transAxes)
        right.set_yticks([])
    right.axvline(mean, color="tab:red", ls="--", lw=1.5)
    right.set_xlim(0, 105)
    right.set_xlabel("accuracy over the group's items (%); dashed: the folds' mean\n"
                     "(ranked by the upper end of a 95% interval: CrossValidation.worst)")
    right.set_title(f"the {len(rows)} weakest {kind} (of {len(cv.per_group)})", fontsize=10)
    right.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
