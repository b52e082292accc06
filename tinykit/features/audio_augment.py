"""Augmentation for keyword spotting: background noise, time shift, SpecAugment.

Waveform level (before features): :func:`mix_noise`, :func:`time_shift`.
Feature level: :func:`spec_augment` (time and frequency masks). :func:`kws_augment`
combines them into an ``augment`` function for ``tinykit.train.fit`` that makes new
noisy, shifted, masked features from the clips at every epoch.

All functions take ``seed`` (an int, or a ``numpy.random.Generator``) and return new
arrays; the inputs are not modified.
"""
from __future__ import annotations

import numpy as np

from ..errors import DatasetError


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _clips(clips):
    x = np.asarray(clips, np.float32)
    if x.ndim != 2:
        raise DatasetError(f"expected clips as a (n, samples) array, got shape {x.shape}.")
    return x


def time_shift(clips, max_shift=0.1, sample_rate=16000, seed=None):
    """Shift each clip by a random time in [-max_shift, +max_shift] seconds, zero-filled.

    Example:
        >>> x = time_shift(np.ones((4, 16000), np.float32), max_shift=0.1, seed=0)
        >>> x.shape
        (4, 16000)
    """
    x = _clips(clips)
    rng = _rng(seed)
    n, length = x.shape
    m = int(round(max_shift * sample_rate))
    if m <= 0:
        return x.copy()
    shifts = rng.integers(-m, m + 1, size=n)
    idx = np.arange(length)[None, :] - shifts[:, None]
    valid = (idx >= 0) & (idx < length)
    out = np.take_along_axis(x, np.clip(idx, 0, length - 1), axis=1)
    return np.where(valid, out, 0.0).astype(np.float32)


def mix_noise(clips, noise, level=0.1, probability=0.8, seed=None):
    """Add a random 1 s window of background noise to clips, at a random volume.

    Args:
        clips: (n, samples) float32 audio.
        noise: list of 1-D float32 recordings (``ds.noise`` of a Speech Commands set),
            each at least as long as a clip (shorter ones are skipped).
        level: the noise is scaled by a gain drawn uniformly from [0, level]; or a
            (low, high) pair for [low, high].
        probability: share of clips that get noise.
        seed: int or numpy Generator.

    Returns:
        Noisy clips, clipped to [-1, 1].

    Raises:
        DatasetError: no noise recording is long enough.

    Example:
        >>> noise = [np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32)]
        >>> mix_noise(np.zeros((3, 16000), np.float32), noise, level=0.5, seed=1).shape
        (3, 16000)
    """
    x = _clips(clips)
    rng = _rng(seed)
    n, length = x.shape
    usable = [np.asarray(a, np.float32) for a in noise if len(a) >= length]
    if not usable:
        raise DatasetError(f"no background-noise recording is at least {length} samples long; "
                           f"pass recordings of 1 s or more (ds.noise).")
    lo, hi = (0.0, float(level)) if np.isscalar(level) else map(float, level)
    out = x.copy()
    which = np.flatnonzero(rng.random(n) < probability)
    pick = rng.integers(len(usable), size=len(which))
    gains = rng.uniform(lo, hi, size=len(which)).astype(np.float32)
    for i, k, g in zip(which, pick, gains):
        rec = usable[k]
        start = rng.integers(0, len(rec) - length + 1)
        out[i] += g * rec[start:start + length]
    return np.clip(out, -1.0, 1.0)


def spec_augment(features, time_masks=2, time_width=6, freq_masks=2, freq_width=2,
                 value=0.0, seed=None):
    """SpecAugment-style masking (Park et al. 2019) of features (n, frames, coefficients).

    Each example gets ``time_masks`` bands of 0..``time_width`` frames and
    ``freq_masks`` bands of 0..``freq_width`` coefficients set to ``value`` (0, the
    mean of normalised features).

    Example:
        >>> x = spec_augment(np.ones((2, 49, 10), np.float32), seed=0)
        >>> x.shape, bool((x == 0).any())
        ((2, 49, 10), True)
    """
    x = np.array(features, dtype=np.float32, copy=True)
    if x.ndim < 3:
        raise DatasetError(f"expected features (n, frames, coefficients), got shape {x.shape}.")
    rng = _rng(seed)
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


def kws_augment(clips, settings, noise=(), level=0.1, probability=0.8, max_shift=0.1,
                time_masks=2, time_width=6, freq_masks=2, freq_width=2):
    """An ``augment(x, seed)`` function for ``tinykit.train.fit`` built on the clips.

    At every epoch it shifts the training clips, mixes in background noise, computes
    their features with ``settings`` (normalised, when the settings hold mean/std)
    and applies :func:`spec_augment`. ``x`` (the clean features given to ``fit``)
    is only used for its length: it must be the features of ``clips``, in order.

    Example:
        >>> aug = kws_augment(x_clips, settings, noise=ds.noise)  # doctest: +SKIP
        >>> model = tinykit.train.fit(model, x_train, y_train, augment=aug)  # doctest: +SKIP
    """
    from .audio import extract
    clips = _clips(clips)

    def augment(x, seed=None):
        if len(x) != len(clips):
            raise DatasetError(f"kws_augment was built on {len(clips)} clips but got {len(x)} "
                               f"examples; pass the features of the same clips (and "
                               f"repeat=1 to fit).")
        rng = _rng(seed)
        a = time_shift(clips, max_shift, settings.sample_rate, seed=rng)
        if len(noise) and probability > 0:
            a = mix_noise(a, noise, level, probability, seed=rng)
        feats = extract(a, settings)
        feats = spec_augment(feats, time_masks, time_width, freq_masks, freq_width, seed=rng)
        return feats.reshape(np.shape(x)).astype(np.float32)

    return augment
