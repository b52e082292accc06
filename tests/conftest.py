import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TINYKIT_FAST", "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def bundled_dir():
    return ROOT / "datasets"


@pytest.fixture(scope="session")
def mfcc_settings():
    """MFCC 49x10 settings normalised on the bundled Speech Commands sample's training
    clips, as a keyword model trained on it would save them."""
    import tinykit
    from tinykit.features import AudioFeatures, extract, fit_normalization
    x, _ = tinykit.datasets.load("speech_commands").audio("train")
    return fit_normalization(extract(x, AudioFeatures(), normalized=False), AudioFeatures())
