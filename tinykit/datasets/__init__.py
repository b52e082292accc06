"""Data set loaders: IMU_Capture gesture CSV, Speech Commands; bundled samples.

``load(name_or_path)`` finds a bundled data set by name (see ``bundled()``) or
reads a folder.
"""
from pathlib import Path

from .._resources import datasets_dir
from ..errors import DatasetError
from .imu import ImuDataset, load_imu, still_gestures
from .imu_csv import IMU_COLUMNS, read_imu_csv
from .audio import Clips, read_wav, read_wavs
from .speech_commands import (KWS12_WORDS, SpeechCommands, download_speech_commands,
                              load_speech_commands)
from .folds import Fold, grouped_folds, pooled
from . import spoken
from .spoken import Spoken, speak

# Bundled samples live in the repository's top-level datasets/ folder, carried in the
# package as tinykit/_datasets; TINYKIT_DATA points elsewhere.
_KINDS = {"magic_wand": "imu", "speech_commands": "speech_commands"}


def data_root() -> Path:
    """The folder holding the bundled data sets (``TINYKIT_DATA`` overrides it)."""
    return datasets_dir()


def bundled() -> list:
    """Names of the data sets bundled with tinykit."""
    root = data_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def load(name_or_path, **kwargs):
    """Load a bundled data set by name, or a data set folder by path.

    Example:
        >>> ds = load("magic_wand")  # doctest: +SKIP
        >>> ds.num_classes  # doctest: +SKIP
        5
    """
    path = Path(name_or_path)
    if not path.exists():
        candidate = data_root() / str(name_or_path)
        if not candidate.is_dir():
            raise DatasetError(f"{name_or_path!r} is neither a folder nor a bundled data set; "
                               f"bundled: {bundled()}.")
        path = candidate
    kind = _KINDS.get(path.name) or ("speech_commands" if (path / "_background_noise_").is_dir()
                                     else "imu")
    if kind == "imu":
        return load_imu(path, **kwargs)
    if kind == "speech_commands":
        return load_speech_commands(path, **kwargs)
    raise DatasetError(f"{path}: unknown data set kind {kind!r}.")


__all__ = ["ImuDataset", "load_imu", "still_gestures", "read_imu_csv", "IMU_COLUMNS", "load", "bundled",
           "data_root", "SpeechCommands", "load_speech_commands", "download_speech_commands",
           "KWS12_WORDS", "read_wav", "read_wavs", "Clips", "Fold", "grouped_folds", "pooled",
           "spoken", "Spoken", "speak"]
