"""The Nano 33 BLE Sense capture sketches, compiled with the host C++ compiler against
the real Arduino libraries (ArduinoCore-API, Arduino_LSM9DS1, the mbed PDM library, from
``../shared/arduino``; see test_arduino_real.py) with host stand-ins only for the
sensors' hardware, fed with known sensor data; what they write on the serial port is
read back with tinykit's own decoders."""
import subprocess

import numpy as np

from test_arduino_real import STUBS, build_sketch
from tinykit.capture.frames import TYPE_AUDIO, TYPE_INFO, FrameDecoder
from tinykit.datasets import read_imu_csv

HARNESS = {"capture_imu": "imu_main.cpp", "capture_audio": "pdm_main.cpp"}


def build(name, root, tmp_path):
    return build_sketch(root / "boards" / "nano33ble" / name, STUBS / HARNESS[name],
                        tmp_path / name, root=root)


def test_imu_sketch_prints_what_the_imu_capture_loader_reads(root, tmp_path):
    exe = build("capture_imu", root, tmp_path)
    rng = np.random.default_rng(0)
    quiet = np.tile([0.0, 0.0, 1.0, 0.0, 0.0, 0.0], (5, 1))
    trigger = np.array([[2.0, 1.0, 0.5, 10.0, 0.0, 0.0]])
    g1 = np.round(rng.uniform(-3.9, 3.9, (119, 6)), 3)
    g2 = np.round(rng.uniform(-3.9, 3.9, (119, 6)), 3)
    rows = np.vstack([quiet, trigger, g1, quiet, trigger, g2]).astype(np.float32)
    rows.tofile(tmp_path / "imu.bin")
    out = subprocess.run([str(exe), str(tmp_path / "imu.bin"), "2"], capture_output=True,
                         check=True).stdout
    (tmp_path / "punch.csv").write_bytes(out)
    got = read_imu_csv(tmp_path / "punch.csv")
    # Two gestures of 119 rows each, the trigger row not included (as IMU_Capture does).
    assert got.gestures.shape == (2, 119, 6) and not got.skipped
    np.testing.assert_allclose(got.gestures[0], g1.astype(np.float32), atol=1e-3)
    np.testing.assert_allclose(got.gestures[1], g2.astype(np.float32), atol=1e-3)


def test_audio_sketch_frames_decode_sample_exact(root, tmp_path):
    exe = build("capture_audio", root, tmp_path)
    t = np.arange(16000 * 2) / 16000
    pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    pcm[::97] = 0  # zero bytes inside payloads exercise COBS
    pcm.tofile(tmp_path / "pcm.bin")
    wire = subprocess.run([str(exe), str(tmp_path / "pcm.bin")], capture_output=True,
                          check=True).stdout
    decoder = FrameDecoder()
    frames = decoder.feed(wire)
    assert frames[0].type == TYPE_INFO and frames[0].info()["rate"] == 16000
    audio = [f for f in frames if f.type == TYPE_AUDIO]
    assert [f.seq for f in frames] == list(range(len(frames)))
    got = np.concatenate([f.samples() for f in audio])
    assert len(got) == len(pcm) // 256 * 256
    np.testing.assert_array_equal(got, pcm[:len(got)])
    assert decoder.stats.corrupt == 0 and decoder.stats.dropped == 0
