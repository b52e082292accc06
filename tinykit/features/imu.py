"""IMU features: scaling by the sensor's full range, and augmentation for gestures."""
from __future__ import annotations

import numpy as np

from ..errors import DatasetError

# Full-scale ranges IMU_Capture sets on the Nano 33 BLE Sense (LSM9DS1): ±4 g for the
# accelerometer, ±2000 degrees/s for the gyroscope. Dividing by them maps every reading
# into [-1, 1]; the generated sketch divides by the same numbers.
IMU_RANGES = (4.0, 4.0, 4.0, 2000.0, 2000.0, 2000.0)


def imu_normalize(x, ranges=IMU_RANGES):
    """Scale raw IMU readings into [-1, 1] by the sensor's full-scale range.

    Args:
        x: array (..., channels) in sensor units (g, degrees/s).
        ranges: full-scale range per channel.

    Returns:
        float32 array of the same shape, clipped to [-1, 1].

    Raises:
        DatasetError: the last axis does not match ``ranges``.

    Example:
        >>> imu_normalize(np.array([[2.0, 0, 0, 1000.0, 0, 0]]))
        array([[0.5, 0. , 0. , 0.5, 0. , 0. ]], dtype=float32)
    """
    x = np.asarray(x, dtype=np.float32)
    ranges = np.asarray(ranges, dtype=np.float32)
    if x.shape[-1] != len(ranges):
        raise DatasetError(f"expected {len(ranges)} channels in the last axis, got shape "
                           f"{x.shape}; pass ranges=... with one full-scale value per channel.")
    return np.clip(x / ranges, -1.0, 1.0)


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


def augment_imu(x, noise=0.01, scale=0.1, shift=8, rotate=10.0, speed=0.0, seed=None):
    """Randomly perturbed copies of gestures, for training on few examples.

    Each gesture gets: a random rotation of at most ``rotate`` degrees applied to both
    the accelerometer and the gyroscope triplets (the wand held a little differently),
    an amplitude scale in ``1 ± scale`` (a faster or bigger movement), a circular-free
    time shift of up to ``shift`` samples (edges repeated), a change of tempo by a factor
    in ``1 ± speed`` (the gesture made faster or slower, resampled linearly), and
    Gaussian noise of standard deviation ``noise`` (in the units of ``x``).

    Args:
        x: float array (n, time, channels); channels 0-2 and 3-5 are rotated as vectors
            when there are 6 channels.
        seed: int or numpy Generator.

    Returns:
        float32 array with the shape of ``x``.

    Example:
        >>> x = np.zeros((2, 119, 6), np.float32)
        >>> augment_imu(x, seed=0).shape
        (2, 119, 6)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    n, t, c = x.shape
    out = x.copy()
    if rotate and c == 6:
        r = _rotation_matrices(n, rotate, rng).astype(np.float32)
        out[..., 0:3] = np.einsum("nij,ntj->nti", r, out[..., 0:3])
        out[..., 3:6] = np.einsum("nij,ntj->nti", r, out[..., 3:6])
    if scale:
        out *= rng.uniform(1 - scale, 1 + scale, size=(n, 1, 1)).astype(np.float32)
    if speed:
        factors = rng.uniform(1 - speed, 1 + speed, size=n)
        pos = np.clip(np.arange(t)[None, :] * factors[:, None], 0, t - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, t - 1)
        w = (pos - lo)[:, :, None].astype(np.float32)
        out = ((1 - w) * np.take_along_axis(out, lo[:, :, None], axis=1)
               + w * np.take_along_axis(out, hi[:, :, None], axis=1))
    if shift:
        offsets = rng.integers(-shift, shift + 1, size=n)
        idx = np.clip(np.arange(t)[None, :] - offsets[:, None], 0, t - 1)
        out = np.take_along_axis(out, idx[:, :, None], axis=1)
    if noise:
        out += rng.normal(0, noise, size=out.shape).astype(np.float32)
    return out
