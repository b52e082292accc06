"""Where tinykit finds the files it carries: board descriptions and firmware
(``boards/``), bundled data sets (``datasets/``) and the C runtime.

In the repository they live at the top level (the fixed layout); an installed wheel
carries them inside the package as ``tinykit/_boards`` and ``tinykit/_datasets``.
Both are found with :mod:`importlib.resources`, never by walking up from a file.
``TINYKIT_BOARDS`` and ``TINYKIT_DATA`` point elsewhere.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def _carried(package_dir, env) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    return Path(str(resources.files("tinykit") / package_dir))


def boards_dir() -> Path:
    """The folder of board descriptions (one ``<name>/board.toml`` each)."""
    return _carried("_boards", "TINYKIT_BOARDS")


def datasets_dir() -> Path:
    """The folder of bundled data sets (``magic_wand``, ``speech_commands``)."""
    return _carried("_datasets", "TINYKIT_DATA")


def runtime_dir() -> Path:
    """tinykit's portable C kernels (``tk_kernels.h/.c``)."""
    return Path(str(resources.files("tinykit") / "deploy" / "cruntime"))
