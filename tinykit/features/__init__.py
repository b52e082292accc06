"""Features: IMU scaling, audio MFCC / log-mel (librosa), augmentation, settings.

A step that exists for both sensors carries the sensor as a prefix
(``imu_normalize`` / ``audio_normalize``, ``imu_augment`` / ``audio_augment``); the
audio building blocks keep plain names (``log_mel``, ``mfcc``, ``extract``,
``mix_noise``, ``time_shift``, ``spec_augment`` ...). Settings travel with the model:
:class:`ImuFeatures` and :class:`AudioFeatures` are frozen dataclasses saved as JSON,
read back by :func:`load_settings`.

    settings = tinykit.features.ImuFeatures()
    x_train = tinykit.features.imu_normalize(ds.x_train, settings)
"""
from .audio import (AudioFeatures, audio_normalize, dct_matrix, extract, fit_normalization,
                    log_mel, mel_filterbank, mfcc, sparse_mel_filterbank, window)
from .augment import (audio_augment, hard_negatives, imu_augment, mix_noise, random_eq,
                      random_gain, reverberate, spec_augment, speed_perturb, time_shift)
from .imu import ImuFeatures, imu_normalize
from .settings import load_settings, settings_from_json

__all__ = ["AudioFeatures", "ImuFeatures", "audio_augment", "audio_normalize", "dct_matrix",
           "extract", "fit_normalization", "hard_negatives", "imu_augment", "imu_normalize",
           "load_settings", "log_mel", "mel_filterbank", "mfcc", "mix_noise", "random_eq",
           "random_gain", "reverberate", "settings_from_json", "sparse_mel_filterbank", "spec_augment", "speed_perturb",
           "time_shift", "window"]
