"""Keyword spotting on a continuous stream: sliding window, smoothing, detections.

    times, probs = posteriors(audio, model, settings)            # one row per window
    found = detect(audio, model, settings, labels)               # [Detection(...), ...]
    stream, truth = make_stream(clips, labels_of_clips, labels, noise=ds.noise)
    scores = evaluate(found, truth)                              # hits, misses, false alarms/hour
    quiet, _ = keyword_free_stream(clips_without_keywords, noise=ds.noise)  # no keyword at all
    posts = [(*posteriors(audio, model, settings), truth)]       # a stream's posteriors
    rows = sweep(posts, labels)                                  # hits vs false alarms
    detector = KeywordDetector(threshold=operating_point(rows)["threshold"])
    detector, point, tried = choose_detector(posts, labels)      # window, runs, margin too
    strict = KeywordDetector(threshold=0.6, min_runs=2, margin=0.2, thresholds={"no": 0.8})
    detector.save("model_detector.json")                         # beside the model, like features

The model can be a Keras model (fast, batched) or int8 .tflite bytes (run on the
TFLite Micro interpreter: what the board would do).
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError, ParameterError
from .features._record import Settings, from_file

IGNORED = ("_silence_", "_unknown_")


@dataclass(frozen=True)
class Detection:
    """A keyword heard in a stream: ``label`` at ``time`` seconds, smoothed ``score``."""
    label: str
    time: float
    score: float


def _windows(audio, settings, stride_s):
    audio = np.asarray(audio, np.float32)
    if audio.ndim != 1:
        raise DatasetError(f"expected mono audio as a 1-D array, got shape {audio.shape}.")
    n = settings.clip_samples
    hop = max(1, int(round(stride_s * settings.sample_rate)))
    if len(audio) < n:
        audio = np.pad(audio, (0, n - len(audio)))
    starts = np.arange(0, len(audio) - n + 1, hop)
    return starts, np.lib.stride_tricks.sliding_window_view(audio, n)[starts]


def posteriors(audio, model, settings, stride=0.1, batch=256, on="tflm"):
    """Class probabilities of every 1-s window of ``audio``, ``stride`` seconds apart.

    Args:
        audio: float mono samples at ``settings.sample_rate``.
        model: a Keras model or an int8 model (``convert.to_int8``'s
            :class:`~tinykit.convert.Int8Model`, or .tflite bytes).
        settings: the :class:`tinykit.features.AudioFeatures` the model was trained with.
        stride: seconds between windows.
        batch: windows whose features are computed at once.
        on: where an int8 model runs (``Int8Model.run``'s backends): ``"tflm"``, the
            TFLite Micro interpreter, or ``"c"``, tinykit's C kernels compiled for this
            machine: the same outputs bit for bit, about three times faster.

    Returns:
        ``(times, probs)``: the end time of each window (seconds) and an array
        (windows, classes) of probabilities.
    """
    from .features.audio import extract
    starts, windows = _windows(audio, settings, stride)
    if isinstance(model, (bytes, bytearray)):
        from .convert import as_model
        model = as_model(model)       # one interpreter for every batch
    probs = []
    for i in range(0, len(windows), batch):
        x = extract(np.ascontiguousarray(windows[i:i + batch]), settings)
        if isinstance(model, bytes):
            probs.append(model.predict(x, on=on))
        else:
            probs.append(np.asarray(model.predict(x, verbose=0)))
    times = (starts + settings.clip_samples) / settings.sample_rate
    return times, np.concatenate(probs).astype(np.float32)


def smooth(probs, times, window=0.5):
    """Moving average of the probabilities over the last ``window`` seconds."""
    probs = np.asarray(probs, np.float32)
    if len(times) < 2:
        return probs
    k = max(1, int(round(window / (times[1] - times[0]))))
    csum = np.cumsum(np.vstack([np.zeros((1, probs.shape[1]), np.float32), probs]), axis=0)
    lo = np.maximum(np.arange(len(probs)) + 1 - k, 0)
    return (csum[np.arange(len(probs)) + 1] - csum[lo]) / (np.arange(len(probs)) + 1 - lo)[:, None]


def detect(audio, model, settings, labels, *, stride=0.1, window=0.5, threshold=0.6,
           suppress=1.0, ignore=IGNORED, min_runs=1, margin=0.0, thresholds=None):
    """Keywords heard in a long recording.

    The model runs on 1-s windows every ``stride`` seconds; probabilities are averaged
    over ``window`` seconds; a keyword is reported when its smoothed probability
    crosses ``threshold``, at the time of its peak, and the same keyword is not
    reported again within ``suppress`` seconds. Labels in ``ignore`` (silence,
    unknown) are never reported. ``min_runs``, ``margin`` and ``thresholds`` make the
    detector stricter (see :func:`detections_from`); their defaults change nothing.

    Returns:
        A list of :class:`Detection`, in time order.

    Example:
        >>> found = detect(audio, model, settings, ds.labels)  # doctest: +SKIP
        >>> found[0]  # doctest: +SKIP
        Detection(label='yes', time=2.1, score=0.93)
        >>> strict = detect(audio, model, settings, ds.labels, min_runs=2, margin=0.2,
        ...                 thresholds={"no": 0.8})  # doctest: +SKIP
    """
    times, probs = posteriors(audio, model, settings, stride)
    return detections_from(times, smooth(probs, times, window), labels, threshold=threshold,
                           suppress=suppress, ignore=ignore, min_runs=min_runs,
                           margin=margin, thresholds=thresholds)


def check_detector(threshold=0.6, min_runs=1, margin=0.0, thresholds=None):
    """Check the detector's decision settings (see :func:`detections_from`); returns
    ``thresholds`` as a dict ``{label: float}``.

    Raises:
        ParameterError: a threshold or margin outside [0, 1], ``min_runs`` not a whole
            number >= 1, ``thresholds`` not a mapping of label names to thresholds.

    Example:
        >>> check_detector(0.6, 2, 0.1, {"no": 0.8})
        {'no': 0.8}
    """
    if not _unit(threshold):
        raise ParameterError(f"threshold={threshold!r}: expected a smoothed probability in "
                             f"[0, 1] from which a keyword counts.")
    if isinstance(min_runs, bool) or not isinstance(min_runs, (int, np.integer, float)) \
            or int(min_runs) != min_runs or min_runs < 1:
        raise ParameterError(f"min_runs={min_runs!r}: expected a whole number of model runs "
                             f">= 1 a keyword must last (1: every run counts).")
    if not _unit(margin):
        raise ParameterError(f"margin={margin!r}: expected a probability in [0, 1] by which a "
                             f"keyword must beat the runner-up class (0: no margin).")
    if thresholds is None:
        return {}
    pairs = thresholds.items() if isinstance(thresholds, Mapping) else thresholds
    try:
        pairs = [(label, value) for label, value in pairs]
    except (TypeError, ValueError):
        raise ParameterError(f"thresholds={thresholds!r}: expected per-keyword thresholds "
                             f"{{label: threshold}}, e.g. {{'no': 0.8}}.") from None
    out = {}
    for label, value in pairs:
        if not isinstance(label, str) or label in out:
            raise ParameterError(f"thresholds={thresholds!r}: expected each label once, as a "
                                 f"string ({label!r} is not).")
        if not _unit(value):
            raise ParameterError(f"thresholds[{label!r}]={value!r}: expected a threshold in "
                                 f"[0, 1].")
        out[label] = float(value)
    return out


def _unit(value):
    """``value`` is a real number in [0, 1] (not a bool, not NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return False
    return 0.0 <= float(value) <= 1.0


def class_thresholds(labels, threshold=0.6, thresholds=None):
    """Each class's threshold, in the order of ``labels``: ``thresholds[label]`` where
    given, else ``threshold``.

    Raises:
        ParameterError: bad values (:func:`check_detector`), or ``thresholds`` naming a
            label that is not in ``labels``.

    Example:
        >>> class_thresholds(["_silence_", "yes", "no"], 0.6, {"no": 0.8})
        [0.6, 0.6, 0.8]
    """
    given = check_detector(threshold, thresholds=thresholds)
    labels = list(labels)
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise ParameterError(f"thresholds names {unknown}, not among the labels {labels}; "
                             f"expected per-keyword thresholds of the model's classes.")
    return [given.get(label, float(threshold)) for label in labels]


def detections_from(times, smoothed, labels, *, threshold=0.6, suppress=1.0, ignore=IGNORED,
                    min_runs=1, margin=0.0, thresholds=None):
    """Detections from smoothed posteriors (see :func:`detect`).

    A model run (a row of ``smoothed``) counts towards keyword k's run when k is its
    argmax (the first of equal values), its value is at least k's threshold
    (``thresholds[label]``, else ``threshold``) and it beats the runner-up class (the
    second highest value, silence and unknown included) by at least ``margin``. A run
    of consecutive counting rows of one keyword is reported at its first highest row
    when it lasts at least ``min_runs`` rows, unless the keyword is in ``ignore`` or
    was reported less than ``suppress`` seconds before (a run too short is not
    reported and does not suppress). The board's C detector (``tk_detect.c``) decides
    the same, in the same float64 arithmetic.

    Args:
        times: the end time of each row's window (seconds).
        smoothed: rows of smoothed probabilities (:func:`smooth`), (runs, classes).
        labels: class names, one per column.
        threshold: the smoothed probability from which a keyword counts.
        suppress: seconds before the same keyword may be reported again.
        ignore: labels never reported.
        min_runs: model runs a keyword's run must last (1: any run).
        margin: by how much a keyword must beat the runner-up class in a row (0: no
            margin).
        thresholds: per-keyword thresholds ``{label: threshold}``; others use
            ``threshold``.

    Returns:
        A list of :class:`Detection`, in time order.

    Raises:
        ParameterError: settings out of range (:func:`check_detector`), ``thresholds``
            naming a label not in ``labels``.

    Example:
        >>> times = np.arange(5) * 0.1
        >>> rows = np.array([[.9, .1], [.2, .8], [.3, .7], [.9, .1], [.3, .7]])
        >>> [d.time for d in detections_from(times, rows, ["_silence_", "yes"], suppress=0.0)]
        [0.1, 0.4]
        >>> [d.time for d in detections_from(times, rows, ["_silence_", "yes"],
        ...                                  suppress=0.0, min_runs=2)]
        [0.1]
        >>> detections_from(times, rows, ["_silence_", "yes"], margin=0.5)
        [Detection(label='yes', time=0.1, score=0.8)]
    """
    check_detector(threshold, min_runs, margin, thresholds)
    limit = class_thresholds(labels, threshold, thresholds)
    smoothed = np.asarray(smoothed)
    found, last = [], {}
    best = smoothed.argmax(axis=1)
    runner = None
    if margin > 0 and smoothed.ndim == 2 and smoothed.shape[1] > 1:
        runner = np.sort(smoothed, axis=1)[:, -2]   # the second highest value of each row

    def counts(row, k):
        v = smoothed[row, k]
        return v >= limit[k] and (runner is None or v - runner[row] >= margin)

    i = 0
    while i < len(times):
        k = int(best[i])
        label = labels[k]
        if label in ignore or not counts(i, k):
            i += 1
            continue
        j = i  # follow the run and report its peak
        while j + 1 < len(times) and best[j + 1] == k and counts(j + 1, k):
            j += 1
        if j + 1 - i >= min_runs:
            peak = i + int(np.argmax(smoothed[i:j + 1, k]))
            t = float(times[peak])
            if t - last.get(label, -np.inf) >= suppress:
                found.append(Detection(label, round(t, 3), float(smoothed[peak, k])))
                last[label] = t
        i = j + 1
    return found


def make_stream(clips, clip_labels, labels, *, noise=(), noise_level=0.05, gap=(1.0, 2.0),
                shuffle=True, sample_rate=16000, seed=0):
    """A long recording of clips separated by gaps, over background noise.

    Args:
        clips: float array (n, samples) of 1-s clips.
        clip_labels: their label indices into ``labels``.
        noise: background recordings to loop under the stream (e.g. ``ds.noise``).
        noise_level: peak amplitude of the noise bed.
        gap: (min, max) seconds of silence between clips.
        shuffle: place the clips in random order (else as given).

    Returns:
        ``(audio, truth)``: the stream and a list of ``(label, start_s, end_s)`` for the
        keywords in it (silence/unknown clips are placed too, but not listed).
    """
    rng = np.random.default_rng(seed)
    clips = np.asarray(clips, np.float32)
    clip_labels = np.asarray(clip_labels)
    if shuffle:
        order = rng.permutation(len(clips))
        clips, clip_labels = clips[order], clip_labels[order]
    gaps = rng.uniform(gap[0], gap[1], size=len(clips) + 1)
    n = clips.shape[1]
    total = int(gaps.sum() * sample_rate) + len(clips) * n
    audio = np.zeros(total, np.float32)
    if len(noise):
        bed = np.concatenate([np.asarray(b, np.float32) for b in noise])
        reps = int(np.ceil(total / len(bed)))
        bed = np.tile(bed, reps)[:total]
        peak = np.abs(bed).max() or 1.0
        audio += bed / peak * noise_level
    truth, pos = [], int(gaps[0] * sample_rate)
    for clip, y, g in zip(clips, clip_labels, gaps[1:]):
        audio[pos:pos + n] += clip
        label = labels[int(y)]
        if label not in IGNORED:
            truth.append((label, pos / sample_rate, (pos + n) / sample_rate))
        pos += n + int(g * sample_rate)
    return np.clip(audio, -1.0, 1.0), truth


def keyword_free_stream(clips, *, noise=(), noise_level=0.05, noise_seconds=30.0,
                        levels=(0.1, 0.3), gap=(1.0, 2.0), sample_rate=16000, seed=0):
    """A recording that holds no keyword: other words and noise, to count false alarms.

    The ``clips`` (e.g. the test speakers' ``_unknown_`` words and ``_silence_`` clips)
    are placed as :func:`make_stream` places them, over the ``noise`` bed; then, for
    each background recording in ``noise``, a random stretch of ``noise_seconds`` at
    each peak level of ``levels`` (running water, dishes, a miaowing voice ...).

    Returns:
        ``(audio, truth)`` with ``truth == []``: every detection in it is a false alarm.

    Raises:
        DatasetError: ``clips`` that are not an array (n, samples).

    Example:
        >>> quiet, truth = keyword_free_stream(x_unknown, noise=ds.noise)  # doctest: +SKIP
    """
    clips = np.asarray(clips, np.float32)
    if clips.ndim != 2:
        raise DatasetError(f"expected clips as an array (n, samples), got shape {clips.shape}; "
                           f"pass e.g. the _unknown_ and _silence_ clips of the test split.")
    rng = np.random.default_rng(seed)
    parts = []
    if len(clips):
        audio, _ = make_stream(clips, np.zeros(len(clips), int), ["_unknown_"], noise=noise,
                               noise_level=noise_level, gap=gap, sample_rate=sample_rate,
                               seed=seed)
        parts.append(audio)
    n = int(noise_seconds * sample_rate)
    for bed in noise:
        bed = np.asarray(bed, np.float32)
        if not len(bed):
            continue
        bed = np.tile(bed, int(np.ceil(n / len(bed))) + 1)
        peak = np.abs(bed).max() or 1.0
        for level in levels:
            start = int(rng.integers(0, len(bed) - n + 1))
            parts.append(bed[start:start + n] / peak * level)
    if not parts:
        raise DatasetError("a keyword-free stream needs clips or noise recordings; got neither.")
    return np.clip(np.concatenate(parts), -1.0, 1.0), []


#: Seconds after a keyword's clip ends during which a detection of it is a hit. The
#: model's windows last 1 s, so a window that still holds the end of a word spoken
#: late in its clip ends up to 1 s after the clip; the smoothed run peaks in that
#: time. Measured on bench/kws.py's held-out folds (window 0.3 s, threshold 0.9):
#: with 0.5 s, 40 of 46 false alarms between keywords were the right keyword 0.5 to
#: 0.81 s after its clip, each counted as a miss and a false alarm.
TOLERANCE = 1.0


def evaluate(detections, truth, *, duration=None, tolerance=TOLERANCE):
    """Hits, misses and false alarms of detections against the true keywords.

    A detection is a hit when it names the keyword of a true occurrence and falls
    within ``[start, end + tolerance]`` of it (:data:`TOLERANCE`: the detector's
    latency); each occurrence is hit at most once.
    Every other detection is a false alarm, of one of two kinds: a *wrong word* (it
    falls within a keyword's span: the keyword heard as another, or heard twice) or a
    false alarm in *keyword-free* audio (everything outside the keywords' spans: the
    gaps, other words, noise). A stream without keywords (``truth == []``) has no
    hits and only keyword-free false alarms.

    Returns:
        dict with ``hits``, ``misses``, ``false_alarms`` (of both kinds), ``wrong_word``,
        ``false_alarms_keyword_free``, ``hit_rate`` (None without keywords), ``hours``,
        ``keyword_free_hours``, ``false_alarms_per_hour``, ``wrong_word_per_hour`` (per
        hour of the stream), ``false_alarms_per_hour_keyword_free`` (per keyword-free
        hour; None when there is none) and ``per_keyword``: ``{label: {"keywords",
        "hits", "false_alarms", "false_alarms_keyword_free"}}`` (false alarms that name
        the label; those of them in keyword-free audio).

    Example:
        >>> truth = [("yes", 1.0, 2.0)]
        >>> found = [Detection("yes", 1.8, 0.9), Detection("no", 1.9, 0.7),
        ...          Detection("no", 5.0, 0.8)]
        >>> s = evaluate(found, truth, duration=10.0)
        >>> s["hits"], s["wrong_word"], s["false_alarms_keyword_free"]
        (1, 1, 1)
    """
    used = [False] * len(truth)
    hits = wrong = free = 0
    per = {}

    def row(label):
        return per.setdefault(label, {"keywords": 0, "hits": 0, "false_alarms": 0,
                                      "false_alarms_keyword_free": 0})

    for label, _, _ in truth:
        row(label)["keywords"] += 1
    for d in detections:
        spans = [k for k, (_, start, end) in enumerate(truth) if start <= d.time <= end + tolerance]
        k = next((k for k in spans if not used[k] and truth[k][0] == d.label), None)
        if k is not None:
            used[k] = True
            hits += 1
            row(d.label)["hits"] += 1
            continue
        row(d.label)["false_alarms"] += 1
        if spans:
            wrong += 1
        else:
            free += 1
            row(d.label)["false_alarms_keyword_free"] += 1
    if duration is None:
        duration = max([e for _, _, e in truth] + [d.time for d in detections] + [1.0])
    covered, reach = 0.0, 0.0
    for _, start, end in sorted(truth, key=lambda t: t[1]):   # union of the keyword spans
        lo, hi = max(start, reach), min(end + tolerance, duration)
        covered += max(0.0, hi - lo)
        reach = max(reach, hi)
    hours, free_hours = duration / 3600.0, max(0.0, duration - covered) / 3600.0
    return {"hits": hits, "misses": len(truth) - hits, "false_alarms": wrong + free,
            "wrong_word": wrong, "false_alarms_keyword_free": free,
            "hit_rate": hits / len(truth) if truth else None, "hours": hours,
            "keyword_free_hours": free_hours, "false_alarms_per_hour": (wrong + free) / hours,
            "wrong_word_per_hour": wrong / hours,
            "false_alarms_per_hour_keyword_free": free / free_hours if free_hours else None,
            "per_keyword": per}


def pool(scores):
    """Scores of several streams (:func:`evaluate`'s dicts) as one: counts and hours
    summed, rates computed anew."""
    scores = list(scores)
    if not scores:
        raise ParameterError("pool() needs the scores of at least one stream.")
    total = {k: sum(s[k] for s in scores) for k in
             ("hits", "misses", "false_alarms", "wrong_word", "false_alarms_keyword_free",
              "hours", "keyword_free_hours")}
    per = {}
    for s in scores:
        for label, r in s["per_keyword"].items():
            mine = per.setdefault(label, dict.fromkeys(r, 0))
            for k in mine:
                mine[k] += r[k]
    keywords = total["hits"] + total["misses"]
    hours, free_hours = total["hours"], total["keyword_free_hours"]
    return {**total, "hit_rate": total["hits"] / keywords if keywords else None,
            "false_alarms_per_hour": total["false_alarms"] / hours,
            "wrong_word_per_hour": total["wrong_word"] / hours,
            "false_alarms_per_hour_keyword_free":
                total["false_alarms_keyword_free"] / free_hours if free_hours else None,
            "per_keyword": per}


#: Thresholds :func:`sweep` tries unless told otherwise.
#: The top is finer: a weak model's false alarms can still be many at 0.95 (on the
#: held-out folds of bench/kws.py, 90 + 10 epochs, scored with a 0.5 s tolerance: 25 per
#: hour of keyword-free audio; with 150 + 15 epochs and TOLERANCE: 3.4).
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05)) + (0.97, 0.98, 0.99)


def sweep(streams, labels, *, thresholds=THRESHOLDS, window=0.5, suppress=1.0,
          ignore=IGNORED, tolerance=TOLERANCE, min_runs=1, margin=0.0, keyword_thresholds=None):
    """Hit rate against false alarms per hour over thresholds: a DET-style curve.

    Each stream's posteriors are smoothed once; then, for every threshold, the
    detector (:func:`detections_from`, exactly as :func:`detect` and the board run it)
    picks its keywords and :func:`evaluate` scores them; the streams' scores are
    pooled (:func:`pool`).

    Args:
        streams: a list of ``(times, probs, truth)``: :func:`posteriors` of a stream
            and its keywords (``[]`` for a :func:`keyword_free_stream`). Each stream
            lasts until its last window's end time.
        labels: class names, in the model's output order.
        thresholds: the thresholds to try.
        window, suppress, ignore, tolerance: as in :func:`detect` and :func:`evaluate`.
        min_runs, margin: as in :func:`detect`, the same for every threshold.
        keyword_thresholds: per-keyword thresholds ``{label: threshold}`` (:func:`detect`'s
            ``thresholds``), fixed over the sweep: the swept threshold is the one every
            other keyword uses (a keyword given here is scored at its own threshold in
            every row).

    Returns:
        One dict per threshold, in the order given: ``threshold`` and the pooled
        scores of :func:`evaluate` (``hit_rate``, ``false_alarms_per_hour_keyword_free``,
        ``wrong_word_per_hour``, ``per_keyword`` ...).

    Raises:
        ParameterError: no stream, settings out of range (:func:`check_detector`).

    Example:
        >>> rows = sweep([(*posteriors(audio, tfl, settings), truth),  # doctest: +SKIP
        ...               (*posteriors(quiet, tfl, settings), [])], ds.labels)
        >>> print(sweep_table(rows))  # doctest: +SKIP
        >>> rows = sweep(streams, ds.labels, min_runs=2, margin=0.1,  # doctest: +SKIP
        ...              keyword_thresholds={"no": 0.8})   # "no" stays at 0.8
    """
    smoothed = [(np.asarray(t), smooth(p, t, window), truth) for t, p, truth in streams]
    if not smoothed:
        raise ParameterError("sweep() needs at least one stream (times, probs, truth).")
    for threshold in thresholds:
        class_thresholds(labels, float(threshold), keyword_thresholds)
    check_detector(min_runs=min_runs, margin=margin)
    rows = []
    for threshold in thresholds:
        scores = [evaluate(detections_from(t, p, labels, threshold=float(threshold),
                                           suppress=suppress, ignore=ignore,
                                           min_runs=min_runs, margin=margin,
                                           thresholds=keyword_thresholds),
                           truth, duration=float(t[-1]) if len(t) else 1.0,
                           tolerance=tolerance) for t, p, truth in smoothed]
        rows.append({"threshold": float(threshold), **pool(scores)})
    return rows


def operating_point(rows, max_false_alarms_per_hour=10.0):
    """The row of :func:`sweep` with the highest hit rate among those with at most
    ``max_false_alarms_per_hour`` false alarms per hour of keyword-free audio (on a
    tie, the higher threshold); when none is that quiet, the quietest row."""
    if not rows:
        raise ParameterError("operating_point() needs the rows of sweep(); got none.")

    def fa(r):
        v = r["false_alarms_per_hour_keyword_free"]
        return 0.0 if v is None else v

    quiet = [r for r in rows if fa(r) <= max_false_alarms_per_hour]
    if not quiet:
        return min(rows, key=lambda r: (fa(r), -r["threshold"]))
    return max(quiet, key=lambda r: (r["hit_rate"] or 0.0, r["threshold"]))


def keyword_thresholds(rows, max_false_alarms_per_hour=10.0):
    """A threshold per keyword from one :func:`sweep`: the most hits with at most
    ``max_false_alarms_per_hour`` false alarms per hour of keyword-free audio in all.

    A keyword's hits and false alarms depend only on its own threshold (its runs are
    where it is the smoothed argmax; its repeats are suppressed on their own), so the
    sweep's per-keyword counts tell what any mix of thresholds gives. Each keyword takes
    the threshold that maximises ``hits - cost * false alarms`` (ties: the higher
    threshold), for the smallest ``cost`` that keeps the total within the budget; the
    single-threshold :func:`operating_point` is a candidate too, so the mix never hits
    fewer keywords than it within the same budget.

    Args:
        rows: :func:`sweep`'s rows (same streams, one row per threshold, at least one
            with keyword-free audio).
        max_false_alarms_per_hour: the budget, per hour of keyword-free audio.

    Returns:
        ``{"thresholds": {label: threshold}, "hit_rate", "false_alarms_per_hour_keyword_free",
        "hits", "false_alarms_keyword_free"}``: what the sweep's streams give with them.

    Example:
        >>> rows = sweep(streams, ds.labels)  # doctest: +SKIP
        >>> chosen = keyword_thresholds(rows, 10.0)  # doctest: +SKIP
        >>> detector = KeywordDetector(threshold=0.9,  # doctest: +SKIP
        ...                            thresholds=chosen["thresholds"])
    """
    if not rows:
        raise ParameterError("keyword_thresholds() needs the rows of sweep(); got none.")
    free_hours = rows[0]["keyword_free_hours"]
    if not free_hours:
        raise ParameterError("keyword_thresholds() needs streams with keyword-free audio "
                             "(a keyword_free_stream) to count false alarms per hour.")
    keywords = sorted({k for r in rows for k in r["per_keyword"]
                       if r["per_keyword"][k]["keywords"]})
    total = sum(rows[0]["per_keyword"][k]["keywords"] for k in keywords)
    budget = max_false_alarms_per_hour * free_hours
    zero = {"hits": 0, "false_alarms_keyword_free": 0}

    def counts(r, k):
        return r["per_keyword"].get(k, zero)

    def score(choice):
        hits = sum(counts(rows[choice[k]], k)["hits"] for k in keywords)
        fa = sum(counts(rows[choice[k]], k)["false_alarms_keyword_free"] for k in keywords)
        return hits, fa

    point = operating_point(rows, max_false_alarms_per_hour)
    single = {k: rows.index(point) for k in keywords}
    best, best_score = single, score(single)
    if best_score[1] > budget:              # even the quietest single threshold is too loud
        best = {k: max(range(len(rows)), key=lambda i: (-counts(rows[i], k)[
            "false_alarms_keyword_free"], rows[i]["threshold"])) for k in keywords}
        best_score = score(best)
    for cost in np.concatenate([[0.0], np.logspace(-3, 3, 241)]):
        choice = {k: max(range(len(rows)), key=lambda i: (
            counts(rows[i], k)["hits"] - cost * counts(rows[i], k)["false_alarms_keyword_free"],
            rows[i]["threshold"])) for k in keywords}
        hits, fa = score(choice)
        if fa <= budget and (hits, -fa) > (best_score[0], -best_score[1]):
            best, best_score = choice, (hits, fa)
    return {"thresholds": {k: rows[best[k]]["threshold"] for k in keywords},
            "hits": best_score[0], "false_alarms_keyword_free": best_score[1],
            "hit_rate": best_score[0] / total if total else None,
            "false_alarms_per_hour_keyword_free": best_score[1] / free_hours}


def sweep_table(rows, per_keyword=False):
    """:func:`sweep`'s rows as text: threshold, hit rate, false alarms per hour of
    keyword-free audio, wrong words per hour (and, with ``per_keyword``, each
    keyword's hit rate / false alarms)."""
    def pct(v):
        return "-" if v is None else f"{100 * v:.1f}%"

    def num(v):
        return "-" if v is None else f"{v:.1f}"

    head = f"{'threshold':>9} {'hit rate':>9} {'FA/h keyword-free':>18} {'wrong word/h':>13}"
    keys = sorted({k for r in rows for k in r["per_keyword"]}) if per_keyword else []
    head += "".join(f" {k:>10}" for k in keys)
    lines = [head]
    for r in rows:
        line = (f"{r['threshold']:9.2f} {pct(r['hit_rate']):>9} "
                f"{num(r['false_alarms_per_hour_keyword_free']):>18} "
                f"{num(r['wrong_word_per_hour']):>13}")
        for k in keys:
            c = r["per_keyword"].get(k, {"keywords": 0, "hits": 0, "false_alarms": 0})
            hit = f"{100 * c['hits'] / c['keywords']:.0f}%" if c["keywords"] else "-"
            line += f" {hit + '/' + str(c['false_alarms']):>10}"
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class KeywordDetector(Settings):
    """The keyword detector's settings, saved beside the model as the feature settings
    are, so the board listens at the operating point chosen on the host.

    Attributes:
        threshold: smoothed probability a keyword must reach.
        window: seconds the posteriors are averaged over.
        suppress: seconds before the same keyword may be reported again.
        every: feature hops between model runs (``stride = every * hop``).
        min_runs: model runs a keyword's run must last to be reported (1: any run).
        margin: by how much a keyword's smoothed probability must beat the runner-up
            class's for a model run to count (0: no margin).
        thresholds: per-keyword thresholds, ``(label, threshold)`` pairs sorted by label
            (a dict ``{label: threshold}`` is accepted and stored so; saved as a JSON
            object); other keywords use ``threshold``.

    Raises:
        ParameterError: a value out of range, naming it and the range it must be in.

    Example:
        >>> d = KeywordDetector(threshold=0.8, min_runs=2, thresholds={"no": 0.9})
        >>> d.thresholds
        (('no', 0.9),)
        >>> d.device_options()["min_runs"], d.device_options()["thresholds"]
        (2, {'no': 0.9})
        >>> d.options(AudioFeatures())["stride"]  # doctest: +SKIP
        0.1
        >>> load_detector(d.save("model_detector.json")) == d  # doctest: +SKIP
        True
    """
    TAG = "keyword_detector"
    threshold: float = 0.6
    window: float = 0.5
    suppress: float = 1.0
    every: int = 5
    min_runs: int = 1
    margin: float = 0.0
    thresholds: tuple = ()

    def __post_init__(self):
        if not _unit(self.threshold) or self.window < 0 or self.suppress < 0:
            raise ParameterError(f"threshold={self.threshold!r}, window={self.window!r}, "
                                 f"suppress={self.suppress!r}: expected a threshold in [0, 1] "
                                 f"and seconds >= 0.")
        if int(self.every) != self.every or self.every < 1:
            raise ParameterError(f"every={self.every!r}: expected a whole number of hops >= 1.")
        given = check_detector(self.threshold, self.min_runs, self.margin,
                               self.thresholds or None)
        object.__setattr__(self, "min_runs", int(self.min_runs))
        object.__setattr__(self, "margin", float(self.margin))
        object.__setattr__(self, "thresholds", tuple(sorted(given.items())))

    def to_dict(self) -> dict:
        """As :meth:`Settings.to_dict`, ``thresholds`` as an object ``{label: threshold}``."""
        return {**super().to_dict(), "thresholds": dict(self.thresholds)}

    def options(self, settings):
        """Keyword arguments of :func:`detect` for a model with feature ``settings``."""
        hop = settings.stride_samples / settings.sample_rate
        return {"stride": self.every * hop, "window": self.window,
                "threshold": self.threshold, "suppress": self.suppress,
                "min_runs": self.min_runs, "margin": self.margin,
                "thresholds": dict(self.thresholds)}

    def sweep(self, streams, labels, thresholds=None):
        """:func:`sweep` of ``streams`` (``(times, probs, truth)``) with this detector's
        window, suppression, min runs, margin and per-keyword thresholds, over
        ``thresholds`` (default: its own threshold alone, so the one row is its scores at
        its operating point).

        Example:
            >>> row = KeywordDetector(threshold=0.8).sweep(posts, labels)[0]  # doctest: +SKIP
        """
        return sweep(streams, labels,
                     thresholds=(self.threshold,) if thresholds is None else thresholds,
                     window=self.window, suppress=self.suppress, min_runs=self.min_runs,
                     margin=self.margin, keyword_thresholds=dict(self.thresholds))

    def device_options(self):
        """Keyword arguments of ``tinykit.deploy.listen.listen`` and the keyword sketch's
        ``settings`` of ``tinykit.deploy.generate``."""
        return {"every": int(self.every), "threshold": self.threshold, "window": self.window,
                "suppress": self.suppress, "min_runs": self.min_runs, "margin": self.margin,
                "thresholds": dict(self.thresholds)}


#: The smoothing windows, min runs and margins :func:`choose_detector` tries. On the
#: held-out speakers of bench/kws.py's five grouped folds (eq_db 10 recipe) the
#: window chosen was 0.7 or 1.0 s; 0.3 and 0.5 s won for earlier, weaker models. Each
#: fold at the threshold chosen on the other four (min runs 1, margin 0), hit rate
#: within 10 false alarms per hour: window 0.3 s 73.8%, 0.5 s 81.1%, 0.7 s 81.4%,
#: 1.0 s 81.1%; with the whole grid 82.0%. So the default window (0.5 s) stays.
WINDOWS, MIN_RUNS, MARGINS = (0.3, 0.5, 0.7, 1.0), (1, 2), (0.0, 0.3)
#: The repeat suppression times (s) it tries: the detector's default alone.
SUPPRESS_TIMES = (KeywordDetector.suppress,)


def choose_detector(streams, labels, *, max_false_alarms_per_hour=10.0, windows=WINDOWS,
                    suppress=SUPPRESS_TIMES, min_runs=MIN_RUNS, margins=MARGINS,
                    thresholds=THRESHOLDS, every=KeywordDetector.every):
    """The detector with the highest hit rate within a false-alarm budget: every
    ``windows`` x ``suppress`` x ``min_runs`` x ``margins`` is swept over ``thresholds``
    (:func:`sweep`) and each sweep's :func:`operating_point` competes in another
    :func:`operating_point` (on a tie, the higher threshold, then the one tried first).

    Args:
        streams: ``(times, probs, truth)`` as for :func:`sweep`, computed at the stride
            of ``every`` hops (``tinykit.recipes.kws_posteriors``).
        labels: class names, in the model's output order.
        max_false_alarms_per_hour: the budget, per hour of keyword-free audio.
        windows, suppress, min_runs, margins, thresholds: the settings to try.
        every: the detector's hops between model runs (the posteriors' stride).

    Returns:
        ``(detector, point, tried)``: the :class:`KeywordDetector`; the chosen
        operating point (a row of :func:`sweep` with its ``window``, ``suppress``,
        ``min_runs``, ``margin`` and the whole sweep at them as ``rows``); one such
        point per combination tried, in order.

    Example:
        >>> posts = recipes.kws_posteriors(tfl, settings, streams)  # doctest: +SKIP
        >>> detector, point, tried = choose_detector(posts, ds.labels)  # doctest: +SKIP
        >>> print(sweep_table(point["rows"]))  # doctest: +SKIP
    """
    tried = []
    for window, sup, runs, margin in itertools.product(windows, suppress, min_runs, margins):
        knobs = dict(window=window, suppress=sup, min_runs=runs, margin=margin)
        rows = sweep(streams, labels, thresholds=thresholds, **knobs)
        tried.append({**operating_point(rows, max_false_alarms_per_hour), **knobs,
                      "rows": rows})
    if not tried:
        raise ParameterError("choose_detector() needs at least one window, suppress, "
                             "min_runs and margin to try.")
    point = operating_point(tried, max_false_alarms_per_hour)
    detector = KeywordDetector(threshold=point["threshold"], every=every,
                               **{k: point[k] for k in ("window", "suppress", "min_runs",
                                                        "margin")})
    return detector, point, tried


def load_detector(path):
    """Read a :class:`KeywordDetector` written by its ``save`` (``<name>_detector.json``).

    Raises:
        DatasetError: no such file, or its text is not keyword-detector settings.
    """
    return from_file(path, {KeywordDetector.TAG: KeywordDetector}, "keyword detector",
                     "KeywordDetector(...).save(path)")
