"""An installed tinykit works outside the repository.

The wheel is built offline from the files git would ship (tracked, or new and not
ignored), installed with ``pip --target`` into a temporary folder, and used from an
empty folder: bundled data, int8 conversion, a board project and the emulated board
must all find what they need inside the installed package.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

# Files that a build leaves behind and that must never be committed or shipped.
BUILD_PRODUCTS = {".o", ".obj", ".elf", ".bin", ".hex", ".map", ".d", ".a", ".so",
                  ".pyc", ".pyo", ".whl", ".egg-info"}
# The package reaches the top-level folders through these links.
LINKS = {"tinykit/_boards": "boards", "tinykit/_datasets": "datasets"}


def _git_files(root):
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: the files to ship are the ones git lists")
    run = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, timeout=60, check=True)
    names = sorted({n for n in run.stdout.decode().split("\0") if n})
    return [n for n in names if os.path.lexists(root / n)]  # not deleted in the work tree


def _is_build_product(name):
    parts = PurePosixPath(name).parts
    return ("__pycache__" in parts or "build" in parts[:1] or ".ipynb_checkpoints" in parts
            or any(name.endswith(s) for s in BUILD_PRODUCTS))


@pytest.fixture(scope="module")
def wheel(root, tmp_path_factory):
    """(path of the built wheel, files git ships) for this checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    names = _git_files(root)
    src = tmp / "src"
    for name in names:       # a copy, so no stale build/ folder can leak into the wheel
        dst = src / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if (root / name).is_symlink():
            os.symlink(os.readlink(root / name), dst)
        else:
            shutil.copy2(root / name, dst)
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"),
                          str(src)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    wheels = list((tmp / "dist").glob("tinykit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], names


def test_git_tracks_no_build_products(wheel):
    _, names = wheel
    assert [n for n in names if _is_build_product(n)] == []


def test_wheel_carries_every_source_file_and_nothing_else(wheel):
    path, names = wheel
    with zipfile.ZipFile(path) as z:
        shipped = {n for n in z.namelist() if not n.split("/")[0].endswith(".dist-info")}
    sources = [n for n in names if not _is_build_product(n)]
    expected = {n for n in sources if n.startswith("tinykit/") and n not in LINKS}
    for link, folder in LINKS.items():
        expected |= {link + n[len(folder):] for n in sources if n.startswith(folder + "/")}
    assert sorted(shipped - expected) == [], "in the wheel but not a source file"
    assert sorted(expected - shipped) == [], "source files the wheel lacks"
    assert "tinykit/_boards/nano33ble/gesture.ino.tmpl" in shipped
    assert "tinykit/_boards/mps2-an386/harness/main.c" in shipped
    assert "tinykit/_datasets/magic_wand/train/Revelio.csv" in shipped
    assert "tinykit/deploy/cruntime/tk_kernels.c" in shipped


# Runs in a fresh Python, from an empty folder, with only the installed wheel on the path.
SCRIPT = r"""
import json, sys
import numpy as np
import tinykit
import tinykit.deploy.emulated
from tinykit.models._keras import keras

ds = tinykit.datasets.load("magic_wand")
x = tinykit.features.imu_normalize(ds.x_test[:4])
model = keras.Sequential([keras.layers.Input(x.shape[1:]), keras.layers.Flatten(),
                          keras.layers.Dense(ds.num_classes, activation="softmax")])
tfl = tinykit.convert.to_int8(model, representative=x)
project = tinykit.deploy.generate(
    tfl, board="nano33ble", app="gesture", out=sys.argv[1], labels=ds.labels,
    features=tinykit.features.ImuFeatures())
device = tinykit.deploy.emulated.run(tfl, x, build_dir=sys.argv[2], timeout=120)
print(json.dumps({
    "tinykit": tinykit.__file__, "labels": ds.labels, "n_train": len(ds.x_train),
    "project": [str(f) for f in project.files],
    "device": device.outputs.tolist(),
    "tflm": tinykit.convert.run_tflm(tfl, x).tolist()}))
"""


@pytest.mark.timeout(900)
def test_installed_wheel_runs_the_workflow_from_an_empty_folder(wheel, tmp_path):
    path, _ = wheel
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                          "--quiet", "--target", str(site), str(path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "TINYKIT_BOARDS", "TINYKIT_DATA")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "projects"),
                          str(tmp_path / "firmware")], cwd=empty, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(got["tinykit"]).resolve().is_relative_to(site.resolve())
    assert len(got["labels"]) == 5 and got["n_train"] > 0
    assert got["project"] and all(Path(f).is_file() for f in got["project"])
    assert Path(got["project"][0]).name == "gesture_nano33ble.ino"
    assert got["device"] == got["tflm"] and len(got["tflm"]) == 4
    assert list(empty.iterdir()) == []          # nothing written where it was run
