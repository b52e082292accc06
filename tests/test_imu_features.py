"""IMU features: ImuFeatures settings round-trip, scaling by the sensor ranges,
augmentation arguments checked at the door."""
import numpy as np
import pytest

from tinykit.errors import DatasetError, ParameterError
from tinykit.features import (AudioFeatures, ImuFeatures, imu_augment, imu_normalize,
                              load_settings, settings_from_json)


def test_defaults_are_the_gesture_sketch_settings():
    s = ImuFeatures()
    assert s.ranges == (4.0, 4.0, 4.0, 2000.0, 2000.0, 2000.0)
    assert s.shape == (119, 6) and s.channels == ("aX", "aY", "aZ", "gX", "gY", "gZ")
    assert s.sample_rate == 119.0 and s.trigger_g == 2.5 and s.seconds == 1.0


def test_imu_features_round_trip_through_json(tmp_path):
    s = ImuFeatures(accel_range_g=8, gyro_range_dps=500.0, samples=60,
                    channels=["aX", "aY", "aZ"], sample_rate=52, trigger_g=1.5)
    assert s.channels == ("aX", "aY", "aZ") and s.ranges == (8.0, 8.0, 8.0)
    assert isinstance(s.accel_range_g, float) and hash(s) == hash(ImuFeatures(
        accel_range_g=8.0, gyro_range_dps=500.0, samples=60, channels=("aX", "aY", "aZ"),
        sample_rate=52.0, trigger_g=1.5))
    d = s.to_dict()
    assert d["tinykit"] == "imu_features" and d["channels"] == ["aX", "aY", "aZ"]
    path = s.save(tmp_path / "gesture_features.json")
    back = load_settings(path)
    assert isinstance(back, ImuFeatures) and back == s and hash(back) == hash(s)
    assert settings_from_json(ImuFeatures().to_json()) == ImuFeatures()
    # One loader for both kinds: the tag in the file decides.
    assert isinstance(load_settings(AudioFeatures().save(tmp_path / "a.json")), AudioFeatures)
    with pytest.raises(DatasetError, match="unknown entries"):
        settings_from_json(s.to_json().replace('"samples"', '"colour": 1, "samples"'))
    with pytest.raises(DatasetError, match="ImuFeatures rejects: samples must be"):
        settings_from_json(s.to_json().replace('"samples": 60', '"samples": 0'))
    with pytest.raises(DatasetError, match="version 9"):
        settings_from_json(s.to_json().replace('"version": 1', '"version": 9'))
    with pytest.raises(DatasetError, match="not valid JSON"):
        settings_from_json("{")


@pytest.mark.parametrize("kwargs,message", [
    (dict(accel_range_g=0), "accel_range_g must be a positive number, got 0"),
    (dict(gyro_range_dps=-250.0), "gyro_range_dps must be a positive number"),
    (dict(sample_rate="119"), "sample_rate must be a positive number"),
    (dict(trigger_g=True), "trigger_g must be a positive number"),
    (dict(samples=11.5), "samples must be a positive integer"),
    (dict(channels="aXaYaZ"), "got the string"),
    (dict(channels=("aX", "mX")), "starting with 'a' \\(accelerometer\\) or 'g'"),
    (dict(channels=()), "starting with 'a'"),
    (dict(channels=("aX", "aX")), "repeat"),
])
def test_imu_features_validated_at_the_door(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ImuFeatures(**kwargs)


def test_imu_normalize_scales_by_the_settings():
    x = np.array([[2.0, -8.0, 0.0, 1000.0, -500.0, 4000.0]])
    np.testing.assert_array_equal(imu_normalize(x), [[0.5, -1.0, 0.0, 0.5, -0.25, 1.0]])
    wide = ImuFeatures(accel_range_g=16.0, gyro_range_dps=250.0)
    np.testing.assert_array_equal(imu_normalize(x, wide), [[0.125, -0.5, 0.0, 1.0, -1.0, 1.0]])
    three = ImuFeatures(channels=("gX", "gY", "gZ"))
    np.testing.assert_array_equal(imu_normalize(x[:, 3:], three), [[0.5, -0.25, 1.0]])
    assert imu_normalize(np.zeros((4, 119, 6))).dtype == np.float32
    with pytest.raises(DatasetError, match=r"expected 3 channels \(gX,gY,gZ\).*\(1, 6\)"):
        imu_normalize(x, three)
    with pytest.raises(ParameterError, match="settings must be a tinykit.features.ImuFeatures, got tuple"):
        imu_normalize(x, (4.0,) * 6)


def test_imu_augment_arguments_are_checked():
    x = np.zeros((2, 119, 6), np.float32)
    for kwargs, message in [(dict(noise=-0.1), "noise must be a number >= 0"),
                            (dict(scale=1.5), "scale must be a number in"),
                            (dict(shift=2.5), "shift must be an integer >= 0"),
                            (dict(rotate=270), "rotate must be a number in \\[0.0, 180.0\\]"),
                            (dict(speed=-0.2), "speed must be"),
                            (dict(seed=1.5), "seed must be None")]:
        with pytest.raises(ParameterError, match=message):
            imu_augment(x, **kwargs)
    with pytest.raises(DatasetError, match=r"\(n, time, channels\)"):
        imu_augment(x[0])
    with pytest.raises(TypeError):
        imu_augment(x, 0.01)  # flags are keyword-only
    # Tempo change alone: a ramp stays monotonic and starts where it started.
    ramp = np.tile(np.linspace(0, 1, 119, dtype=np.float32)[None, :, None], (8, 1, 6))
    sped = imu_augment(ramp, noise=0, scale=0, shift=0, rotate=0, speed=0.3, seed=0)
    assert np.all(np.diff(sped[..., 0], axis=1) >= 0) and np.all(sped[:, 0] == 0)
    assert not np.allclose(sped, ramp)
