"""Every board's generated sketches, compiled with the host C++ compiler against the REAL
Arduino libraries the board file names (``../shared/arduino``, see test_arduino_real.py)
with host stand-ins only for the sensors' registers (tests/arduino_stubs/imu_*.cpp,
which define the real headers' declarations), and fed recorded gestures: what they print
is what TFLM's Python interpreter computes.

The board files themselves are checked here too: each names libraries, versions and
headers that exist, and each board with an IMU has a gesture app.
"""
import re
import subprocess
import tomllib
import warnings

import numpy as np
import pytest

from test_arduino_real import STUBS, build_sketch, check_board_libraries, shared_arduino
from tinykit import deploy, features

# The IMU libraries of the boards' gesture apps: their include folder (under
# ../shared/arduino) and the stand-in replaying recorded rows behind their real header.
# Arduino_LSM9DS1's are test_arduino_real's include folders and core library.
IMU_LIBRARIES = {
    "Arduino_LSM9DS1": (None, ()),
    "Arduino_BMI270_BMM150": ("Arduino_BMI270_BMM150/src", ("imu_bmi270.cpp", "imu_rows.cpp")),
    "Arduino_LSM6DSOX": ("Arduino_LSM6DSOX/src", ("imu_lsm6dsox.cpp", "imu_rows.cpp")),
    "Seeed Arduino LSM6DS3": ("Seeed_Arduino_LSM6DS3", ("imu_lsm6ds3.cpp", "imu_rows.cpp")),
}
LABELS = ["circle", "punch", "wave"]


def _toml(b):
    return tomllib.loads((b.folder / "board.toml").read_text())


def imu_boards():
    return [name for name in deploy.boards()
            if any(s.startswith("imu:") for s in deploy.board(name).sensors)]


def imu_library(b):
    names = [spec.partition("@")[0] for spec in _toml(b).get("libraries", [])]
    found = [n for n in names if n in IMU_LIBRARIES]
    assert len(found) == 1, f"{b.name}: expected one IMU library among {names}"
    return found[0]


def test_boards_listed_are_at_least_seven_and_each_imu_board_has_a_gesture_app():
    names = deploy.boards()
    assert len(names) >= 7, names
    assert {"nano33ble", "nano33ble_rev2", "xiao_nrf52840_sense", "nano_rp2040_connect",
            "xiao_esp32s3_sense", "nucleo_l4r5zi", "mps2-an386"} <= set(names)
    assert set(imu_boards()) == {"nano33ble", "nano33ble_rev2", "xiao_nrf52840_sense",
                                 "nano_rp2040_connect"}
    for name in imu_boards():
        assert "gesture" in deploy.board(name).apps, name


def test_every_board_file_names_libraries_versions_and_headers_that_exist(root):
    shared = shared_arduino(root)
    for name in deploy.boards():
        assert check_board_libraries(deploy.board(name).folder / "board.toml", shared) == [], name


def test_board_files_give_the_figures_the_fit_check_needs():
    for name in deploy.boards():
        b = deploy.board(name)
        data = _toml(b)
        if "run" in data:    # QEMU runs it: tinykit's bare-metal firmware, no Arduino sketch
            continue
        for key in ("cpu", "clock_hz", "flash_bytes", "ram_bytes", "flasher", "fqbn", "core",
                    "upload_protocol", "tflm"):
            assert data.get(key) or getattr(b, key, None), (name, key)
        assert b.reserved_flash_bytes > 0 and b.reserved_ram_bytes > 0, name
        assert b.tflm_ops and "CONV_2D" in b.tflm_ops, name


def test_gesture_templates_include_only_headers_their_board_file_names():
    for name in imu_boards():
        b = deploy.board(name)
        data = _toml(b)
        headers = {h for hs in data.get("library_headers", {}).values() for h in hs}
        text = b.template_text("gesture")
        angled = set(re.findall(r"#include <([^>]+)>", text))
        assert "${gesture_app}" not in text and "Chirale_TensorFlowLite.h" in angled, name
        assert angled <= headers, (name, angled - headers)


@pytest.fixture
def library_includes(monkeypatch, root):
    """Put an IMU library's folder on the include path (as -isystem, the way
    build_sketch gives the libraries' headers) and return its stand-in sources."""
    def use(library):
        folder, standins = IMU_LIBRARIES[library]
        if folder:
            monkeypatch.setenv("CPLUS_INCLUDE_PATH", str(shared_arduino(root) / folder))
        return [STUBS / s for s in standins]
    return use


def generate(model, name, out, labels=LABELS):
    """The gesture project, for a model trained at the board's own IMU rate."""
    rate = deploy.board(name).extra["imu_rate_hz"]
    return deploy.generate(model, name, "gesture", out=out, labels=labels,
                           features=features.ImuFeatures(sample_rate=rate))


def test_generate_warns_when_the_board_samples_at_another_rate(small_gesture_model, tmp_path):
    with pytest.warns(UserWarning, match=r"trained on 119 Hz recordings; the IMU of the Arduino "
                                         r"Nano 33 BLE Sense Rev2 samples at 100 Hz, so a "
                                         r"119-sample window lasts 1\.19 s instead of 1\.00 s"):
        deploy.generate(small_gesture_model, "nano33ble_rev2", "gesture", out=tmp_path,
                        labels=LABELS, features=features.ImuFeatures())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deploy.generate(small_gesture_model, "nano33ble", "gesture", out=tmp_path,
                        labels=LABELS, features=features.ImuFeatures())


@pytest.mark.parametrize("name", ["nano33ble_rev2", "xiao_nrf52840_sense", "nano_rp2040_connect"])
def test_gesture_sketch_compiles_against_the_real_imu_library(name, small_gesture_model,
                                                              library_includes, root, tmp_path):
    """The generated sketch and the IMU stand-in compile (-Wall -Werror) against the
    real library headers: a call the library does not have is an error here."""
    shared_arduino(root)
    b = deploy.board(name)
    extra = library_includes(imu_library(b))
    project = generate(small_gesture_model, name, tmp_path)
    objs = build_sketch(project.path, STUBS / "imu_main.cpp", tmp_path / "sketch", extra=extra,
                        link=False, root=root)
    assert any(o.endswith(".ino.o") for o in objs) and len(objs) == 3 + len(extra)


def test_boards_share_the_gesture_app_and_differ_in_the_sensor_part(small_gesture_model,
                                                                   tmp_path):
    sketches = {n: generate(small_gesture_model, n, tmp_path).main_file.read_text()
                for n in imu_boards()}
    app = {n: s[s.index("#include <Chirale_TensorFlowLite.h>"):] for n, s in sketches.items()}
    rev1 = app.pop("nano33ble")
    for name, text in app.items():
        assert text == rev1, name
    assert "#include <Arduino_LSM9DS1.h>" in sketches["nano33ble"]
    assert "#include <Arduino_BMI270_BMM150.h>" in sketches["nano33ble_rev2"]
    assert "#include <Arduino_LSM6DSOX.h>" in sketches["nano_rp2040_connect"]
    assert "accelSampleRate = 104" in sketches["xiao_nrf52840_sense"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The gesture recipe in fast mode (TFLM's answers are the reference, not the labels)."""
    from tinykit import recipes
    return recipes.gesture("magic_wand", seed=0, out=tmp_path_factory.mktemp("gesture"),
                           verbose=False)


@pytest.mark.slow     # links the real TFLM built for the host (minutes when its cache is cold)
@pytest.mark.timeout(3600)
@pytest.mark.filterwarnings("ignore:the model was trained on")   # magic_wand is 119 Hz
@pytest.mark.parametrize("name", ["nano33ble", "nano33ble_rev2", "xiao_nrf52840_sense",
                                  "nano_rp2040_connect"])
def test_gesture_sketch_prints_what_tflm_computes_on_recorded_gestures(
        name, trained, library_includes, root, tmp_path):
    """Each board's generated sketch, compiled for the host with the real TFLM and its
    real IMU library header, fed the recorded magic_wand test gestures through its IMU
    (each after a quiet row and a trigger row, as a wand gives them): for every gesture
    it prints the label and score TFLM's Python interpreter computes."""
    b = deploy.board(name)
    extra = library_includes(imu_library(b))
    settings = features.load_settings(trained.project.path / "model_features.json")
    project = deploy.generate(trained.tflite, name, "gesture", out=tmp_path,
                              labels=trained.dataset.labels, features=settings)
    exe = build_sketch(project.path, STUBS / "imu_main.cpp", tmp_path / "sketch", extra=extra,
                       tflm=True, root=root)
    raw = trained.dataset.x_test
    quiet = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]], np.float32)
    trigger = np.array([[2.0, 1.0, 0.5, 0.0, 0.0, 0.0]], np.float32)
    rows = np.vstack([np.vstack([quiet, trigger, g]) for g in raw]).astype(np.float32)
    rows.tofile(tmp_path / "imu.bin")
    out = subprocess.run([str(exe), str(tmp_path / "imu.bin"), str(len(raw))],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"Tensor arena: \d+ of \d+ bytes used\.", lines[0]), lines[:2]
    assert lines[1] == "Ready: make a gesture."
    tflm = trained.tflite.run(trained.x_test, on="tflm")
    best = np.argmax(tflm, axis=1)
    scores = trained.tflite.dequantize(tflm)[np.arange(len(best)), best]
    printed = [line.split() for line in lines[2:]]
    assert [p[0] for p in printed] == [trained.dataset.labels[k] for k in best]
    # Serial.println(score, 3): three decimals, rounded as Arduino's Print rounds.
    np.testing.assert_allclose([float(p[1]) for p in printed], scores, atol=0.0011)
