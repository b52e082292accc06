"""Augmentation: new, perturbed training examples from few recordings.

IMU gestures: :func:`imu_augment` (rotation, scale, tempo, time shift, noise).

Keyword spotting, at waveform level (before features): :func:`speed_perturb`,
:func:`random_gain`, :func:`mix_noise`, :func:`time_shift`; at feature level:
:func:`spec_augment` (time and frequency masks) and ``audio_augment``'s ``warp`` (stretched
mel filters).
:func:`audio_augment` combines them into an ``augment`` function for
``tinykit.train.fit`` that makes new noisy, shifted, masked features from the clips
at every epoch.

All functions take ``seed`` (an int, or a ``numpy.random.Generator``) and return new
arrays; the inputs are not modified. Bad arguments raise
:class:`tinykit.errors.ParameterError`; data of the wrong shape raises
:class:`tinykit.errors.DatasetError`.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..errors import DatasetError, ParameterError
from .audio import _settings, extract


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and seed >= 0):
        return np.random.default_rng(seed)
    raise ParameterError(f"seed must be None, a non-negative int or a numpy Generator, "
                         f"got {seed!r}.")


def _number(name, value, lo=0.0, hi=None, integer=False):
    """``value`` if it is a number in [lo, hi], else ParameterError."""
    kinds = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok and (value < lo or (hi is not None and value > hi) or value != value):
        ok = False
    if not ok:
        what = "an integer" if integer else "a number"
        bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ParameterError(f"{name} must be {what} {bounds}, got {value!r}.")
    return value


def _sample_rate(value):
    """``value`` if it is a positive number (Hz), else ParameterError."""
    if not _number("sample_rate", value) > 0:
        raise ParameterError(f"sample_rate must be positive (Hz), got {value!r}.")
    return value


def _clips(clips):
    x = np.asarray(clips, np.float32)
    if x.ndim != 2:
        raise DatasetError(f"expected clips as a (n, samples) array, got shape {x.shape}.")
    return x


def _stretch(x, factors, *, about=0.0, fill=None):
    """Resample each row of ``x`` (n, time, ...) linearly at positions
    ``about + (t - about) * factor``: a factor above 1 plays it faster. Positions outside
    the row take the edge value (``fill=None``) or ``fill``."""
    n, t = x.shape[:2]
    pos = about + (np.arange(t)[None, :] - about) * np.asarray(factors)[:, None]
    outside = (pos < 0) | (pos > t - 1)
    pos = np.clip(pos, 0, t - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    extra = (1,) * (x.ndim - 2)
    w = (pos - lo).astype(np.float32).reshape(pos.shape + extra)
    pick = lambda i: np.take_along_axis(x, i.reshape(i.shape + extra), axis=1)  # noqa: E731
    out = (1 - w) * pick(lo) + w * pick(hi)
    if fill is not None:
        out[outside] = fill
    return out.astype(np.float32)


def _rotation_matrices(n, max_degrees, rng):
    """n random 3-D rotations of at most max_degrees about a random axis."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.radians(rng.uniform(-max_degrees, max_degrees, size=n))
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def imu_augment(x, *, noise=0.01, scale=0.1, shift=8, rotate=10.0, speed=0.0,
                seed=None) -> np.ndarray:
    """Randomly perturbed copies of gestures, for training on few examples.

    Each gesture gets: a random rotation of at most ``rotate`` degrees applied to both
    the accelerometer and the gyroscope triplets (the wand held a little differently),
    an amplitude scale in ``1 ± scale`` (a faster or bigger movement), a change of
    tempo by a factor in ``1 ± speed`` (the gesture made faster or slower, resampled
    linearly), a time shift of up to ``shift`` samples (edges repeated, not wrapped)
    and Gaussian noise of standard deviation ``noise`` (in the units of ``x``).

    Args:
        x: float array (n, time, channels); channels 0-2 and 3-5 are rotated as vectors
            when there are 6 channels.
        noise: standard deviation of the added noise (>= 0).
        scale: amplitude change, in [0, 1).
        shift: largest time shift, samples (an int >= 0).
        rotate: largest rotation, degrees, in [0, 180].
        speed: largest tempo change, in [0, 1).
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array with the shape of ``x``.

    Raises:
        ParameterError: an argument out of its range.
        DatasetError: ``x`` is not (n, time, channels).

    Example:
        >>> x = np.zeros((2, 119, 6), np.float32)
        >>> imu_augment(x, seed=0).shape
        (2, 119, 6)
    """
    _number("noise", noise)
    _number("scale", scale, 0.0, 0.999)
    _number("shift", shift, 0, integer=True)
    _number("rotate", rotate, 0.0, 180.0)
    _number("speed", speed, 0.0, 0.999)
    rng = _rng(seed)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise DatasetError(f"expected gestures as an (n, time, channels) array, got shape "
                           f"{x.shape}.")
    n, t, c = x.shape
    out = x.copy()
    if rotate and c == 6:
        r = _rotation_matrices(n, rotate, rng).astype(np.float32)
        out[..., 0:3] = np.einsum("nij,ntj->nti", r, out[..., 0:3])
        out[..., 3:6] = np.einsum("nij,ntj->nti", r, out[..., 3:6])
    if scale:
        out *= rng.uniform(1 - scale, 1 + scale, size=(n, 1, 1)).astype(np.float32)
    if speed:
        out = _stretch(out, rng.uniform(1 - speed, 1 + speed, size=n))
    if shift:
        offsets = rng.integers(-shift, shift + 1, size=n)
        idx = np.clip(np.arange(t)[None, :] - offsets[:, None], 0, t - 1)
        out = np.take_along_axis(out, idx[:, :, None], axis=1)
    if noise:
        out += rng.normal(0, noise, size=out.shape).astype(np.float32)
    return out.astype(np.float32)


def speed_perturb(clips, *, max_change=0.1, seed=None) -> np.ndarray:
    """Play each clip faster or slower by a random factor in ``1 ± max_change``.

    Like tape speed (sox ``speed``), it moves tempo and pitch together: a voice a little
    higher or lower, a word a little quicker or slower, which is how speakers differ.
    The clip is stretched about its middle, so a centred word stays centred; samples
    stretched in from outside the clip are silence.

    Args:
        clips: (n, samples) float32 audio.
        max_change: largest relative change of speed, in [0, 0.5].
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array (n, samples).

    Raises:
        ParameterError: ``max_change`` out of range.
        DatasetError: clips not (n, samples).

    Example:
        >>> x = np.sin(np.arange(16000, dtype=np.float32) / 10)[None]
        >>> speed_perturb(x, max_change=0.1, seed=0).shape
        (1, 16000)
    """
    _number("max_change", max_change, 0.0, 0.5)
    rng = _rng(seed)
    x = _clips(clips)
    if not max_change:
        return x.copy()
    factors = rng.uniform(1 - max_change, 1 + max_change, size=len(x))
    half = (x.shape[1] - 1) / 2
    return np.concatenate([_stretch(x[i:i + 256], factors[i:i + 256], about=half, fill=0.0)
                           for i in range(0, len(x), 256)] or [x[:0]])


def random_gain(clips, *, db=6.0, seed=None) -> np.ndarray:
    """Scale each clip by a random gain of up to ``± db`` decibels (clipped to [-1, 1]).

    Speakers talk louder or softer and sit nearer or farther from the microphone; with
    noise mixed in afterwards this also varies the signal-to-noise ratio.

    Args:
        clips: (n, samples) float32 audio.
        db: largest gain change in dB (>= 0).
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array (n, samples).

    Example:
        >>> random_gain(np.full((2, 4), 0.1, np.float32), db=6.0, seed=0).shape
        (2, 4)
    """
    _number("db", db)
    rng = _rng(seed)
    x = _clips(clips)
    gains = 10.0 ** (rng.uniform(-db, db, size=(len(x), 1)) / 20.0)
    return np.clip(x * gains.astype(np.float32), -1.0, 1.0)


def _same_loudness(out, x):
    """``out`` scaled so that each row has the RMS of the same row of ``x``."""
    rms = lambda a: np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=1, keepdims=True))  # noqa: E731
    scale = np.where(rms(out) > 1e-9, rms(x) / np.maximum(rms(out), 1e-9), 1.0)
    return np.clip(out * scale, -1.0, 1.0).astype(np.float32)


def reverberate(clips, *, probability=0.5, rt60=(0.1, 0.6), drr_db=(0.0, 12.0),
                sample_rate=16000, seed=None) -> np.ndarray:
    """Play clips in random rooms: each is convolved with a synthetic room impulse response.

    The response is the direct sound followed, 1 to 5 ms later, by a diffuse tail of
    Gaussian noise decaying by 60 dB in a reverberation time drawn from ``rt60`` (a
    small room to a hall), the tail's energy below the direct sound's by a
    direct-to-reverberant ratio drawn from ``drr_db`` (a speaker far from the
    microphone has a low one). Speech Commands clips were recorded in many rooms on
    many phones; other speakers' rooms are among the things a model has never heard.
    The result keeps each clip's loudness (RMS) and length (the tail after the clip's
    end is cut).

    Args:
        clips: (n, samples) float32 audio.
        probability: share of clips that are reverberated, in [0, 1].
        rt60: (shortest, longest) reverberation time, seconds (> 0).
        drr_db: (lowest, highest) direct-to-reverberant ratio, dB.
        sample_rate: Hz of the clips.
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array (n, samples).

    Raises:
        ParameterError: a probability, time or ratio out of range.
        DatasetError: clips not (n, samples).

    Example:
        >>> x = np.zeros((2, 16000), np.float32); x[:, 8000] = 0.5
        >>> y = reverberate(x, probability=1.0, seed=0)
        >>> y.shape, bool(np.count_nonzero(y[0]) > 1000)
        ((2, 16000), True)
    """
    _number("probability", probability, 0.0, 1.0)
    t_lo, t_hi = (_number("rt60", v, 1e-3) for v in rt60)
    d_lo, d_hi = (_number("drr_db", v, -30.0, 60.0) for v in drr_db)
    if t_lo > t_hi or d_lo > d_hi:
        raise ParameterError(f"rt60 and drr_db are (low, high) pairs with low <= high, got "
                             f"rt60={tuple(rt60)}, drr_db={tuple(drr_db)}.")
    _sample_rate(sample_rate)
    rng = _rng(seed)
    x = _clips(clips)
    out = x.copy()
    n, length = x.shape
    which = np.flatnonzero(rng.random(n) < probability)
    taps = min(length, int(np.ceil(t_hi * sample_rate)))
    size = 1 << int(np.ceil(np.log2(length + taps)))
    for chunk in np.array_split(which, max(1, int(np.ceil(len(which) / 256)))):
        if not len(chunk):
            continue
        m = len(chunk)
        t60 = rng.uniform(t_lo, t_hi, size=(m, 1)) * sample_rate
        delay = rng.integers(int(0.001 * sample_rate), int(0.005 * sample_rate) + 1, size=m)
        k = np.arange(taps)[None, :]
        tail = rng.normal(size=(m, taps)) * np.exp(-6.908 * (k - delay[:, None]) / t60)
        tail[k < delay[:, None]] = 0.0
        energy = np.sum(tail ** 2, axis=1, keepdims=True)
        drr = rng.uniform(d_lo, d_hi, size=(m, 1))
        rir = tail * np.sqrt(10.0 ** (-drr / 10.0) / np.maximum(energy, 1e-12))
        rir[:, 0] = 1.0
        wet = np.fft.irfft(np.fft.rfft(x[chunk], size) * np.fft.rfft(rir, size), size)
        out[chunk] = _same_loudness(wet[:, :length], x[chunk])
    return out


def random_eq(clips, *, db=6.0, bands=6, sample_rate=16000, seed=None) -> np.ndarray:
    """Colour each clip with a random smooth frequency response, as different microphones do.

    The response is drawn in dB, uniformly in ``± db``, at ``bands`` frequencies spaced
    evenly on a log scale from 100 Hz to half the sample rate, and interpolated
    between them (linearly in log frequency): phones and laptops differ in bass
    roll-off, presence peaks and treble. Loudness (RMS) is kept.

    Args:
        clips: (n, samples) float32 audio.
        db: largest boost or cut, dB (>= 0; 0 returns a copy).
        bands: frequencies the response is drawn at (an int >= 2).
        sample_rate: Hz of the clips.
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array (n, samples).

    Raises:
        ParameterError: ``db`` negative, fewer than 2 bands, bad sample rate.
        DatasetError: clips not (n, samples).

    Example:
        >>> x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
        >>> random_eq(x, db=6.0, seed=0).shape
        (2, 16000)
    """
    _number("db", db)
    _number("bands", bands, 2, integer=True)
    _sample_rate(sample_rate)
    rng = _rng(seed)
    x = _clips(clips)
    if not db:
        return x.copy()
    n, length = x.shape
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    nodes = np.log(np.geomspace(100.0, sample_rate / 2, bands))
    where = np.log(np.maximum(freqs, 100.0))
    out = np.empty_like(x)
    for i in range(0, n, 256):
        part = x[i:i + 256]
        gains_db = rng.uniform(-db, db, size=(len(part), bands))
        curve = np.stack([np.interp(where, nodes, g) for g in gains_db])
        # circular filtering: a smooth response's impulse response lasts a few ms
        coloured = np.fft.irfft(np.fft.rfft(part) * 10.0 ** (curve / 20.0), length)
        out[i:i + 256] = _same_loudness(coloured, part)
    return out


def time_shift(clips, *, max_shift=0.1, sample_rate=16000, seed=None) -> np.ndarray:
    """Shift each clip by a random time in [-max_shift, +max_shift] seconds, zero-filled.

    Args:
        clips: (n, samples) float32 audio.
        max_shift: largest shift, seconds (>= 0).
        sample_rate: Hz of the clips.
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array (n, samples).

    Raises:
        ParameterError: ``max_shift`` negative or ``sample_rate`` not positive.
        DatasetError: clips not (n, samples).

    Example:
        >>> x = time_shift(np.ones((4, 16000), np.float32), max_shift=0.1, seed=0)
        >>> x.shape
        (4, 16000)
    """
    _number("max_shift", max_shift)
    _sample_rate(sample_rate)
    rng = _rng(seed)
    x = _clips(clips)
    n, length = x.shape
    m = int(round(max_shift * sample_rate))
    if m <= 0:
        return x.copy()
    shifts = np.clip(rng.integers(-m, m + 1, size=n), -length, length)
    out = np.zeros((n, length), np.float32)
    for row, clip, s in zip(out, x, shifts):    # out[t] = clip[t - s], silence outside
        if s >= 0:
            row[s:] = clip[:length - s]
        else:
            row[:s] = clip[-s:]
    return out


def mix_noise(clips, noise, *, level=0.1, probability=0.8, seed=None) -> np.ndarray:
    """Add a random 1 s window of background noise to clips, at a random volume.

    Args:
        clips: (n, samples) float32 audio.
        noise: list of 1-D float32 recordings (``ds.noise`` of a Speech Commands set),
            each at least as long as a clip (shorter ones are skipped).
        level: the noise is scaled by a gain drawn uniformly from [0, level]; or a
            (low, high) pair for [low, high] (0 <= low <= high).
        probability: share of clips that get noise, in [0, 1].
        seed: None, an int or a numpy Generator.

    Returns:
        Noisy clips, clipped to [-1, 1].

    Raises:
        ParameterError: ``level`` or ``probability`` out of range.
        DatasetError: no noise recording is long enough; clips not (n, samples).

    Example:
        >>> noise = [np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32)]
        >>> mix_noise(np.zeros((3, 16000), np.float32), noise, level=0.5, seed=1).shape
        (3, 16000)
    """
    if isinstance(level, (tuple, list)) and len(level) == 2:
        lo, hi = _number("level[0]", level[0]), _number("level[1]", level[1])
        if lo > hi:
            raise ParameterError(f"level=(low, high) needs low <= high, got {tuple(level)}.")
    elif isinstance(level, (tuple, list)):
        raise ParameterError(f"level must be a number or a (low, high) pair, got {level!r}.")
    else:
        lo, hi = 0.0, _number("level", level)
    _number("probability", probability, 0.0, 1.0)
    rng = _rng(seed)
    x = _clips(clips)
    n, length = x.shape
    usable = [np.asarray(a, np.float32) for a in noise if len(a) >= length]
    if not usable:
        raise DatasetError(f"no background-noise recording is at least {length} samples long; "
                           f"pass recordings of 1 s or more (ds.noise).")
    out = x.copy()
    which = np.flatnonzero(rng.random(n) < probability)
    pick = rng.integers(len(usable), size=len(which))
    gains = rng.uniform(float(lo), float(hi), size=len(which)).astype(np.float32)
    for i, k, g in zip(which, pick, gains):
        rec = usable[k]
        start = rng.integers(0, len(rec) - length + 1)
        out[i] += g * rec[start:start + length]
    return np.clip(out, -1.0, 1.0)


def spec_augment(features, *, time_masks=2, time_width=6, freq_masks=2, freq_width=2,
                 value=0.0, seed=None) -> np.ndarray:
    """SpecAugment-style masking (Park et al. 2019) of features (n, frames, coefficients).

    Each example gets ``time_masks`` bands of 0..``time_width`` frames and
    ``freq_masks`` bands of 0..``freq_width`` coefficients set to ``value`` (0, the
    mean of normalised features).

    Args:
        features: (n, frames, coefficients) or (n, frames, coefficients, 1).
        time_masks, time_width, freq_masks, freq_width: counts and widths (ints >= 0).
        value: what masked entries become.
        seed: None, an int or a numpy Generator.

    Returns:
        float32 array with the shape of ``features``.

    Raises:
        ParameterError: a count or width that is not an int >= 0.
        DatasetError: features with fewer than 3 axes.

    Example:
        >>> x = spec_augment(np.ones((2, 49, 10), np.float32), seed=0)
        >>> x.shape, bool((x == 0).any())
        ((2, 49, 10), True)
    """
    for name, v in (("time_masks", time_masks), ("time_width", time_width),
                    ("freq_masks", freq_masks), ("freq_width", freq_width)):
        _number(name, v, 0, integer=True)
    rng = _rng(seed)
    x = np.array(features, dtype=np.float32, copy=True)
    if x.ndim < 3:
        raise DatasetError(f"expected features (n, frames, coefficients), got shape {x.shape}.")
    n, frames, coeffs = x.shape[:3]
    t = np.arange(frames)[None, :]
    f = np.arange(coeffs)[None, :]
    tmask = np.zeros((n, frames), bool)
    for _ in range(time_masks):
        w = rng.integers(0, time_width + 1, size=n)[:, None]
        s = rng.integers(0, np.maximum(frames - w[:, 0], 0) + 1)[:, None]
        tmask |= (t >= s) & (t < s + w)
    fmask = np.zeros((n, coeffs), bool)
    for _ in range(freq_masks):
        w = rng.integers(0, freq_width + 1, size=n)[:, None]
        s = rng.integers(0, np.maximum(coeffs - w[:, 0], 0) + 1)[:, None]
        fmask |= (f >= s) & (f < s + w)
    mask = tmask[:, :, None] | fmask[:, None, :]
    mask = mask.reshape(mask.shape + (1,) * (x.ndim - 3))  # (n, frames, coeffs[, 1])
    return np.where(mask, np.float32(value), x).astype(np.float32)


def _word_spans(clips, sample_rate, frame=0.02, floor_db=30.0):
    """(start, stop) sample of each clip's word: from the first to the last 20 ms frame
    whose RMS is within ``floor_db`` of the clip's loudest frame."""
    n = max(1, int(frame * sample_rate))
    frames = clips.shape[1] // n
    rms = np.sqrt(np.mean(clips[:, :frames * n].reshape(len(clips), frames, n) ** 2, axis=2))
    loud = 20 * np.log10(np.maximum(rms, 1e-9) / np.maximum(rms.max(axis=1, keepdims=True),
                                                             1e-9)) > -floor_db
    first = np.argmax(loud, axis=1)
    last = frames - 1 - np.argmax(loud[:, ::-1], axis=1)
    return first * n, (last + 1) * n


def hard_negatives(clips, labels, n, *, sample_rate=16000, share=(0.25, 0.5), seed=None):
    """``n`` clips of speech that is no word of ``clips``: negatives for keyword spotting.

    Two kinds, half each, made from randomly drawn clips that hold a word (a clip loud
    from end to end, e.g. noise, is not drawn): a word cut short (only its
    first or its last ``share`` of the spoken part is kept, the rest silent: what a
    detector hears while a keyword begins or ends), and two words spliced (the first
    part of one word joined to the last part of a word of another label, cut at 35 to
    65% of each). The result is centred in the clip. Train them as ``_unknown_`` so that
    the model learns that only a whole keyword is one (:func:`audio_augment`'s
    ``negatives``).

    Args:
        clips: (m, samples) float32 audio, e.g. the training clips.
        labels: their labels (ints, m of them): spliced words never share a label.
        n: how many negatives to make.
        sample_rate: of the clips.
        share: (lowest, highest) share of a word kept in a cut word.
        seed: int or numpy Generator.

    Returns:
        (n, samples) float32.

    Raises:
        ParameterError: ``share`` outside (0, 1], fewer than two labels, or n < 0.
        DatasetError: clips not (m, samples) or labels not m long.

    Example:
        >>> fakes = hard_negatives(x_train, y_train, 200, seed=0)  # doctest: +SKIP
    """
    clips = _clips(clips)
    labels = np.asarray(labels)
    if labels.shape != (len(clips),):
        raise DatasetError(f"expected {len(clips)} labels (one per clip), got shape "
                           f"{labels.shape}.")
    _number("n", n, 0, integer=True)
    lo, hi = (_number("share", v, 0.0, 1.0) for v in share)
    if not 0 < lo <= hi:
        raise ParameterError(f"share must be (lowest, highest) with 0 < lowest <= highest <= 1,"
                             f" got {share!r}.")
    if len(np.unique(labels)) < 2:
        raise ParameterError("hard_negatives splices words of different labels: pass clips "
                             "of at least two labels.")
    rng = _rng(seed)
    start, stop = _word_spans(clips, sample_rate)
    length = clips.shape[1]
    words = np.flatnonzero(stop - start < 0.9 * length)  # not noise from end to end
    if len(np.unique(labels[words])) < 2:
        words = np.arange(len(clips))
    out = np.zeros((n, length), np.float32)
    for i in range(n):
        a = int(words[rng.integers(len(words))])
        s, e = int(start[a]), int(stop[a])
        if i % 2 == 0:      # a word cut short: its beginning or its end
            keep = max(1, int(round((e - s) * rng.uniform(lo, hi))))
            piece = clips[a, s:s + keep] if rng.random() < 0.5 else clips[a, e - keep:e]
        else:               # the first part of one word, the last part of another's
            others = words[labels[words] != labels[a]]
            b = int(others[rng.integers(len(others))])
            cut_a = s + int((e - s) * rng.uniform(0.35, 0.65))
            sb, eb = int(start[b]), int(stop[b])
            cut_b = sb + int((eb - sb) * rng.uniform(0.35, 0.65))
            first, last = clips[a, s:cut_a], clips[b, cut_b:eb]
            loud_a, loud_b = (float(np.sqrt(np.mean(v ** 2))) if len(v) else 0.0
                              for v in (first, last))
            if loud_b > 0:      # the second speaker as loud as the first
                last = last * (loud_a / loud_b)
            piece = np.concatenate([first, last])[:length]
        at = (length - len(piece)) // 2
        out[i, at:at + len(piece)] = piece
    return out


def audio_augment(clips, settings, *, noise=(), level=0.1, probability=0.8, max_shift=0.1,
                  time_masks=2, time_width=6, freq_masks=2, freq_width=2, speed=0.0,
                  gain_db=0.0, reverb=0.0, eq_db=0.0, warp=0.0, variants=None, negatives=None):
    """An ``augment(x, seed)`` function for ``tinykit.train.fit`` built on the clips.

    At every epoch it changes the clips' speed (:func:`speed_perturb`, when ``speed``),
    room (:func:`reverberate`, when ``reverb``), microphone (:func:`random_eq`, when
    ``eq_db``) and loudness (:func:`random_gain`, when ``gain_db``), shifts them
    (:func:`time_shift`), mixes in background noise (:func:`mix_noise`, when ``noise``
    is given), computes their features with ``settings`` (normalised, when the
    settings hold mean/std; with each clip's mel filters stretched, when ``warp``) and
    applies :func:`spec_augment`. ``x`` (the clean features
    given to ``fit``) is only used for its length and shape: it must be the features of
    ``clips``, in order.

    Args:
        clips: (n, samples) float32 training audio.
        settings: :class:`tinykit.features.AudioFeatures` of the model.
        noise: background recordings for :func:`mix_noise` (e.g. ``ds.noise``).
        level, probability: see :func:`mix_noise`.
        max_shift: see :func:`time_shift`.
        time_masks, time_width, freq_masks, freq_width: see :func:`spec_augment`.
        speed: largest change of speed (:func:`speed_perturb`'s ``max_change``).
        gain_db: largest change of loudness in dB (:func:`random_gain`).
        reverb: share of clips played in a random room (:func:`reverberate`).
        eq_db: largest boost or cut of a random microphone response (:func:`random_eq`).
        warp: vocal tract length perturbation (Jaitly & Hinton 2013): each clip's mel
            filters are stretched along frequency by a factor drawn in ``1 ± warp``
            (in steps of 0.01; ``tinykit.features.mel_filterbank``'s ``warp``), as
            longer or shorter vocal tracts move the formants, but not the pitch or pace
            that :func:`speed_perturb` moves with them. In [0, 0.3].
        variants: None to make every epoch's waveforms afresh; or how many waveform-level
            variants of each clip to make (the first ``variants`` epochs), after which every
            epoch draws one of them per clip at random (SpecAugment stays fresh): most of
            the variety at a fraction of the cost, as computing features dominates an epoch.
        negatives: None, or the clips' integer labels with -1 marking slots for hard
            negatives: each waveform variant fills every slot with a fresh
            :func:`hard_negatives` clip made from the labelled clips (train the slots
            as ``_unknown_``; what a slot's clip holds is not used).

    Returns:
        ``augment(x, seed=None) -> float32 array`` shaped like ``x``.

    Raises:
        ParameterError: an argument out of range (checked here, not at the first epoch).
        DatasetError: clips not (n, samples).

    Example:
        >>> aug = audio_augment(x_clips, settings, noise=ds.noise)  # doctest: +SKIP
        >>> model = tinykit.train.fit(model, x_train, y_train, augment=aug)  # doctest: +SKIP
    """
    settings = _settings(settings)
    clips = _clips(clips)
    noise = list(noise)
    # Check every argument now, on a tiny input, rather than in the middle of training.
    probe = np.zeros((1, settings.clip_samples), np.float32)
    speed_perturb(probe, max_change=speed, seed=0)
    random_gain(probe, db=gain_db, seed=0)
    reverberate(probe, probability=reverb, sample_rate=settings.sample_rate, seed=0)
    random_eq(probe, db=eq_db, sample_rate=settings.sample_rate, seed=0)
    time_shift(probe, max_shift=max_shift, sample_rate=settings.sample_rate, seed=0)
    if noise:
        mix_noise(probe, noise, level=level, probability=probability, seed=0)
    masks = dict(time_masks=time_masks, time_width=time_width, freq_masks=freq_masks,
                 freq_width=freq_width)
    spec_augment(np.zeros((1,) + settings.shape, np.float32), **masks, seed=0)
    _number("warp", warp, 0.0, 0.3)

    if variants is not None:
        _number("variants", variants, 1, integer=True)
    if negatives is not None:
        negatives = np.asarray(negatives)
        if negatives.shape != (len(clips),) or not np.issubdtype(negatives.dtype, np.integer):
            raise ParameterError(f"negatives must hold one integer label per clip ({len(clips)}),"
                                 f" -1 for a hard-negative slot; got shape {negatives.shape}.")
        slots = negatives < 0
        sources, source_labels = clips[~slots], negatives[~slots]  # what negatives are cut from
        if slots.any():
            hard_negatives(sources, source_labels, 0)  # checks the labels
    bank = []       # with variants: the waveform-level variants' features made so far

    def augment(x, seed=None):
        if len(x) != len(clips):
            raise ParameterError(f"this augment function was built on {len(clips)} clips but "
                                 f"got {len(x)} examples; pass the features of the same clips "
                                 f"(and repeat=1 to fit).")
        rng = _rng(seed)
        if variants is None or len(bank) < variants:
            a = clips
            if negatives is not None and slots.any():
                a = clips.copy()
                a[slots] = hard_negatives(sources, source_labels, int(slots.sum()),
                                          sample_rate=settings.sample_rate, seed=rng)
            a = speed_perturb(a, max_change=speed, seed=rng) if speed else a
            if reverb:
                a = reverberate(a, probability=reverb, sample_rate=settings.sample_rate,
                                seed=rng)
            a = random_eq(a, db=eq_db, sample_rate=settings.sample_rate, seed=rng) if eq_db else a
            a = random_gain(a, db=gain_db, seed=rng) if gain_db else a
            a = time_shift(a, max_shift=max_shift, sample_rate=settings.sample_rate, seed=rng)
            if noise and probability > 0:
                a = mix_noise(a, noise, level=level, probability=probability, seed=rng)
            stretch = np.round(rng.uniform(1 - warp, 1 + warp, len(a)), 2) if warp else None
            feats = extract(a, settings, warp=stretch)
            if variants is not None:
                bank.append(feats)
        else:
            pick = rng.integers(variants, size=len(clips))
            feats = np.stack(bank)[pick, np.arange(len(clips))]
        feats = spec_augment(feats, **masks, seed=rng)
        return feats.reshape(np.shape(x)).astype(np.float32)

    return augment
