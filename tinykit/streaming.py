"""Keyword spotting on a continuous stream: sliding window, smoothing, detections.

    times, probs = posteriors(audio, model, settings)            # one row per window
    found = detect(audio, model, settings, labels)               # [Detection(...), ...]
    stream, truth = make_stream(clips, labels_of_clips, labels, noise=ds.noise)
    scores = evaluate(found, truth)                              # hits, misses, false alarms/hour

The model can be a Keras model (fast, batched) or int8 .tflite bytes (run on the
TFLite Micro interpreter: what the board would do).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DatasetError

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


def posteriors(audio, model, settings, stride=0.1, batch=256):
    """Class probabilities of every 1-s window of ``audio``, ``stride`` seconds apart.

    Args:
        audio: float mono samples at ``settings.sample_rate``.
        model: a Keras model or an int8 model (``convert.to_int8``'s
            :class:`~tinykit.convert.Int8Model`, or .tflite bytes), run on TFLite Micro.
        settings: the :class:`tinykit.features.AudioFeatures` the model was trained with.
        stride: seconds between windows.

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
            probs.append(model.predict(x))
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
           suppress=1.0, ignore=IGNORED):
    """Keywords heard in a long recording.

    The model runs on 1-s windows every ``stride`` seconds; probabilities are averaged
    over ``window`` seconds; a keyword is reported when its smoothed probability
    crosses ``threshold``, at the time of its peak, and the same keyword is not
    reported again within ``suppress`` seconds. Labels in ``ignore`` (silence,
    unknown) are never reported.

    Returns:
        A list of :class:`Detection`, in time order.

    Example:
        >>> found = detect(audio, model, settings, ds.labels)  # doctest: +SKIP
        >>> found[0]  # doctest: +SKIP
        Detection(label='yes', time=2.1, score=0.93)
    """
    times, probs = posteriors(audio, model, settings, stride)
    return detections_from(times, smooth(probs, times, window), labels, threshold=threshold,
                           suppress=suppress, ignore=ignore)


def detections_from(times, smoothed, labels, *, threshold=0.6, suppress=1.0, ignore=IGNORED):
    """Detections from smoothed posteriors (see :func:`detect`)."""
    found, last = [], {}
    best = smoothed.argmax(axis=1)
    i = 0
    while i < len(times):
        k = int(best[i])
        label = labels[k]
        if label in ignore or smoothed[i, k] < threshold:
            i += 1
            continue
        j = i  # follow the run above threshold and report its peak
        while j + 1 < len(times) and best[j + 1] == k and smoothed[j + 1, k] >= threshold:
            j += 1
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


def evaluate(detections, truth, *, duration=None, tolerance=0.5):
    """Hits, misses and false alarms of detections against the true keywords.

    A detection is a hit when it names the keyword of a true occurrence and falls
    within ``[start, end + tolerance]`` of it; each occurrence is hit at most once.
    Everything else detected is a false alarm (a wrong word counts as both a miss and
    a false alarm).

    Returns:
        dict with ``hits``, ``misses``, ``false_alarms``, ``hit_rate``, ``hours`` and
        ``false_alarms_per_hour``.
    """
    used = [False] * len(truth)
    hits = false = 0
    for d in detections:
        for k, (label, start, end) in enumerate(truth):
            if not used[k] and label == d.label and start <= d.time <= end + tolerance:
                used[k] = True
                hits += 1
                break
        else:
            false += 1
    if duration is None:
        duration = max([e for _, _, e in truth] + [d.time for d in detections] + [1.0])
    hours = duration / 3600.0
    return {"hits": hits, "misses": len(truth) - hits, "false_alarms": false,
            "hit_rate": hits / len(truth) if truth else None, "hours": hours,
            "false_alarms_per_hour": false / hours}
