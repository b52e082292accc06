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


@pytest.fixture(scope="session")
def small_gesture_model():
    """A small untrained int8 gesture CNN (119x6 in, 3 classes): for tests that need a
    model (export, generation, compiling, fit), not a good one."""
    import numpy as np
    from tinykit import convert, models
    from tinykit.models._keras import keras
    keras.utils.set_random_seed(0)
    model = models.build("gesture_cnn", (119, 6), 3, filters=(4,))
    x = np.random.default_rng(0).uniform(-1, 1, (20, 119, 6)).astype(np.float32)
    return convert.to_int8(model, representative=x, source="a test model")


def runtime_program(folder, name, main, runtime_sources):
    """A host program of tinykit's C runtime: ``main`` (C text) compiled with the
    runtime files ``runtime_sources`` (e.g. ``["tk_detect.c"]``) into ``folder/name``,
    -Wall -Wextra -Werror; returns its path."""
    import subprocess
    from tinykit._resources import runtime_dir
    from tinykit.deploy.cmodel import _host_cc
    folder = Path(folder)
    (folder / f"{name}.c").write_text(main)
    exe = folder / name
    rt = runtime_dir()
    subprocess.run([_host_cc(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(rt),
                    str(folder / f"{name}.c"), *(str(rt / s) for s in runtime_sources),
                    "-lm", "-o", str(exe)], check=True, timeout=180)
    return exe
