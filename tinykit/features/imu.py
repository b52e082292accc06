"""IMU features: the capture settings of a gesture, and scaling by the sensor's range.

    settings = ImuFeatures()                        # Nano 33 BLE Sense: ±4 g, ±2000 dps
    x = imu_normalize(ds.x_train, settings)         # (n, 119, 6) in [-1, 1]
    settings.save("gesture_features.json")          # beside the model; load_settings() reads it

Augmentation of gestures (:func:`tinykit.features.imu_augment`) lives in
:mod:`tinykit.features.augment`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError, ParameterError
from . import _record


@dataclass(frozen=True)
class ImuFeatures(_record.Settings):
    """Settings of IMU gesture capture: saved beside a trained model, used on device.

    The defaults are those of the Arduino gesture sketch on the Nano 33 BLE Sense
    (LSM9DS1): the accelerometer at ±4 g and the gyroscope at ±2000 degrees/s, both
    read at 119 Hz; a gesture starts when the summed absolute acceleration exceeds
    ``trigger_g`` and is then recorded for ``samples`` readings of the six channels.

    Attributes:
        accel_range_g: accelerometer full scale, g (channels whose name starts with "a").
        gyro_range_dps: gyroscope full scale, degrees/s (channels starting with "g").
        samples: readings per gesture.
        channels: channel names, in the order of the last axis of the data.
        sample_rate: readings per second, Hz.
        trigger_g: the capture starts when ``|aX| + |aY| + |aZ|`` exceeds this, in g.

    Raises:
        ParameterError: a value the capture cannot use (a range or rate that is not
            positive, a channel that is neither accelerometer nor gyroscope ...).

    Example:
        >>> s = ImuFeatures()
        >>> s.shape, s.ranges
        ((119, 6), (4.0, 4.0, 4.0, 2000.0, 2000.0, 2000.0))
    """

    TAG = "imu_features"

    accel_range_g: float = 4.0
    gyro_range_dps: float = 2000.0
    samples: int = 119
    channels: tuple = ("aX", "aY", "aZ", "gX", "gY", "gZ")
    sample_rate: float = 119.0
    trigger_g: float = 2.5

    def __post_init__(self):
        for name in ("accel_range_g", "gyro_range_dps", "sample_rate", "trigger_g"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not value > 0:
                raise ParameterError(f"{name} must be a positive number, got {value!r}.")
            object.__setattr__(self, name, float(value))
        if isinstance(self.samples, bool) or not isinstance(self.samples, (int, np.integer)) \
                or self.samples < 1:
            raise ParameterError(f"samples must be a positive integer (readings per "
                                 f"gesture), got {self.samples!r}.")
        object.__setattr__(self, "samples", int(self.samples))
        if isinstance(self.channels, str):
            raise ParameterError(f"channels must be a sequence of names such as "
                                 f"('aX', 'aY', 'aZ'), got the string {self.channels!r}.")
        channels = tuple(self.channels)
        bad = [c for c in channels if not isinstance(c, str) or c[:1] not in ("a", "g")]
        if not channels or bad:
            raise ParameterError(f"channels must be names starting with 'a' (accelerometer) "
                                 f"or 'g' (gyroscope), e.g. ('aX', 'aY', 'aZ', 'gX', 'gY', "
                                 f"'gZ'); got {channels!r}.")
        if len(set(channels)) != len(channels):
            raise ParameterError(f"channel names repeat in {channels!r}.")
        object.__setattr__(self, "channels", channels)

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    @property
    def ranges(self) -> tuple:
        """The full-scale range of each channel (g or degrees/s), in channel order."""
        return tuple(self.accel_range_g if c.startswith("a") else self.gyro_range_dps
                     for c in self.channels)

    @property
    def shape(self) -> tuple:
        """(samples, channels) of one gesture."""
        return (self.samples, self.num_channels)

    @property
    def seconds(self) -> float:
        """Duration of one gesture, seconds."""
        return self.samples / self.sample_rate


def imu_normalize(x, settings=None) -> np.ndarray:
    """Scale raw IMU readings into [-1, 1] by the sensor's full-scale range.

    The gesture sketch divides by the same ranges on the board.

    Args:
        x: array (..., channels) in sensor units (g, degrees/s), channels in the
            order of ``settings.channels``.
        settings: :class:`ImuFeatures` (default ``ImuFeatures()``: ±4 g, ±2000 dps).

    Returns:
        float32 array of the same shape, clipped to [-1, 1].

    Raises:
        DatasetError: the last axis of ``x`` does not have one value per channel.
        ParameterError: ``settings`` is not an :class:`ImuFeatures`.

    Example:
        >>> imu_normalize(np.array([[2.0, 0, 0, 1000.0, 0, 0]]))
        array([[0.5, 0. , 0. , 0.5, 0. , 0. ]], dtype=float32)
    """
    settings = _record.checked(settings, ImuFeatures)
    x = np.asarray(x, dtype=np.float32)
    ranges = np.asarray(settings.ranges, dtype=np.float32)
    if x.ndim == 0 or x.shape[-1] != len(ranges):
        raise DatasetError(f"expected {len(ranges)} channels ({','.join(settings.channels)}) "
                           f"in the last axis, got shape {x.shape}; pass settings="
                           f"ImuFeatures(channels=...) naming the channels of the data.")
    return np.clip(x / ranges, -1.0, 1.0)
