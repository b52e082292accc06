import json
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
    from tinykit.deploy.cmodel import host_compiler
    folder = Path(folder)
    (folder / f"{name}.c").write_text(main)
    exe = folder / name
    rt = runtime_dir()
    subprocess.run([host_compiler(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I",
                    str(rt), str(folder / f"{name}.c"), *(str(rt / s) for s in runtime_sources),
                    "-lm", "-o", str(exe)], check=True, timeout=180)
    return exe


# A stand-in for arduino-cli (not installable here): answers core/lib list in the JSON of
# 1.x ({"platforms": ...}, {"installed_libraries": ...}) or of 0.18-0.35 (bare lists),
# installs into its state file, refuses a third-party core without its board manager
# URL and a compile without the core, as the real one does, and logs every call.
_FAKE_ARDUINO_CLI = r'''
import json, sys, time
from pathlib import Path
here = Path(__file__).parent
state = json.loads((here / "arduino-state.json").read_text())
args = sys.argv[1:]
with open(here / "arduino-calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\n")
words = " ".join(a for a in args if not a.startswith("-"))
for prefix, seconds in state.get("hang", {}).items():
    if words.startswith(prefix):
        time.sleep(seconds)
for prefix, text in state.get("fail", {}).items():
    if words.startswith(prefix):
        print(text, file=sys.stderr)
        sys.exit(1)
def save():
    (here / "arduino-state.json").write_text(json.dumps(state))
def url():
    return args[args.index("--additional-urls") + 1] if "--additional-urls" in args else None
if args[:2] == ["core", "list"]:
    if state["shape"] == "1.x":
        out = {"platforms": [{"id": k, "installed_version": v, "latest_version": v,
                              "releases": {v: {"name": k, "version": v, "installed": True}}}
                             for k, v in state["cores"].items()] or None}
    else:
        out = [{"id": k, "installed": v, "latest": v, "name": k}
               for k, v in state["cores"].items()]
    print(json.dumps(out))
elif args[:2] == ["lib", "list"]:
    libs = [{"library": {"name": k, "version": v, "location": "user"}, "release": {}}
            for k, v in state["libs"].items()]
    print(json.dumps({"installed_libraries": libs} if state["shape"] == "1.x" else libs))
elif args[:2] in (["core", "update-index"], ["lib", "update-index"]):
    print("Downloading index: package_index.tar.bz2 downloaded")
elif args[:2] == ["core", "install"]:
    core, _, version = args[2].partition("@")
    if not core.startswith("arduino:") and url() != state["urls"].get(core):
        print(f"Error during install: Platform '{core}' not found", file=sys.stderr)
        sys.exit(1)
    if not state.get("noop"):
        state["cores"][core] = version or "9.9.9"
        save()
    print(f"Platform {core}@{version or '9.9.9'} installed")
elif args[:2] == ["lib", "install"]:
    name, _, version = args[2].partition("@")
    if not state.get("noop"):
        state["libs"][name] = version or "9.9.9"
        save()
    print(f"Installed {name}@{version or '9.9.9'}")
elif args[:1] == ["compile"]:
    fqbn = args[args.index("--fqbn") + 1]
    core = ":".join(fqbn.split(":")[:2])
    if core not in state["cores"]:
        print(f"Error during build: Platform '{core}' not found", file=sys.stderr)
        sys.exit(1)
    print("Sketch uses 123456 bytes (12%) of program storage space.")
elif args[:1] == ["upload"]:
    print("New upload port: " + args[args.index("-p") + 1])
else:
    print("Error: unknown command " + " ".join(args), file=sys.stderr)
    sys.exit(1)
'''


class FakeArduinoCli:
    """The stand-in's state (``cores``: id -> version, ``libs``: name -> version,
    ``shape``: "1.x" or "0.x", ``fail``/``hang``: command prefix -> stderr text/seconds,
    ``noop``: installs succeed and change nothing, ``urls``: core -> board manager URL
    its install needs) and the calls it got."""

    def __init__(self, folder):
        self.folder = folder
        self.set(cores={}, libs={}, shape="1.x", fail={}, hang={}, noop=False, urls={})

    def set(self, **changes):
        path = self.folder / "arduino-state.json"
        state = json.loads(path.read_text()) if path.is_file() else {}
        state.update(changes)
        path.write_text(json.dumps(state))

    @property
    def state(self):
        return json.loads((self.folder / "arduino-state.json").read_text())

    def calls(self):
        log = self.folder / "arduino-calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []

    def clear(self):
        (self.folder / "arduino-calls.jsonl").unlink(missing_ok=True)


@pytest.fixture
def fake_arduino_cli(tmp_path, monkeypatch):
    """A fake ``arduino-cli`` first on PATH (see _FAKE_ARDUINO_CLI); the board files'
    third-party cores need their ``core_url``."""
    import sys
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    script = folder / "arduino-cli"
    script.write_text(f"#!{sys.executable}\n{_FAKE_ARDUINO_CLI}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    fake = FakeArduinoCli(folder)
    fake.set(urls={
        "Seeeduino:mbed": "https://files.seeedstudio.com/arduino/package_seeeduino_boards_index.json",
        "esp32:esp32": "https://espressif.github.io/arduino-esp32/package_esp32_index.json",
        "STMicroelectronics:stm32": "https://github.com/stm32duino/BoardManagerFiles/raw/main/"
                                    "package_stmicroelectronics_index.json"})
    return fake
