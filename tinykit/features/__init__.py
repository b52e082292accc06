"""Features: IMU scaling and augmentation; audio MFCC / log-mel (librosa)."""
from .imu import IMU_RANGES, augment_imu, imu_normalize
from .audio import (AudioFeatures, c_tables, extract, fit_normalization, kws_augment,
                    load_settings, log_mel, mel_filterbank, mfcc, mix_noise, normalize,
                    settings_from_json, spec_augment, time_shift, write_c_tables)
