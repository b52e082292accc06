"""The capture firmware on the emulated board (QEMU mps2-an386): captured byte-exact."""
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from tinykit import capture
from tinykit.capture import emulator, frames, sim
from tinykit.capture.imu_lines import HEADER_LINE, gesture_text
from tinykit.datasets import read_imu_csv
from tinykit.errors import ToolNotFoundError

MISSING = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make") if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed; "
                                f"run `sh boards/install-tools.sh`")

REVELIO = Path(__file__).resolve().parents[1] / "datasets/magic_wand/train/Revelio.csv"


@pytest.fixture(scope="module")
def gestures():
    return read_imu_csv(REVELIO).gestures[:4]


@pytest.fixture(scope="module")
def pcm():
    return sim.synthetic_audio(0.5)


def read_all(port, n):
    got = bytearray()
    while len(got) < n:
        chunk = port.read(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


@pytest.mark.parametrize("serial", ["tcp", "pty"])
def test_imu_firmware_stream_is_byte_exact(gestures, serial):
    want = (HEADER_LINE + "\r\n" + "".join(gesture_text(g) for g in gestures)).encode()
    assert emulator.expected_stream("imu", gestures) == want
    with emulator.start("imu", gestures, serial=serial) as emu:
        with emu.open(timeout=0.5) as port:
            assert read_all(port, len(want) + 1) == want     # and nothing after it


@pytest.mark.parametrize("serial", ["tcp", "pty"])
def test_audio_firmware_stream_is_byte_exact(pcm, serial):
    want = emulator.expected_stream("audio", pcm)
    with emulator.start("audio", pcm, serial=serial) as emu:
        with emu.open(timeout=0.5) as port:
            got = read_all(port, len(want) + 1)
    assert got == want
    dec = frames.FrameDecoder()
    fr = dec.feed(got)
    assert fr[0].info()["board"] == "mps2-an386"
    assert np.array_equal(np.concatenate([f.samples() for f in fr[1:]]), pcm)
    assert (dec.stats.dropped, dec.stats.corrupt) == (0, 0)


def test_record_gestures_from_the_emulated_board(gestures, tmp_path):
    with emulator.start("imu", gestures) as emu:
        s = capture.record(emu.url, label="Revelio", out=tmp_path, gestures=4, board="mps2-an386")
    assert (s.saved, s.corrupt, s.discarded) == (4, 0, 0)
    want = HEADER_LINE + "\n" + "".join(gesture_text(g, newline="\n") for g in gestures)
    assert (tmp_path / "Revelio.csv").read_text() == want
    assert '"board": "mps2-an386"' in (tmp_path / "Revelio.capture.json").read_text()


def test_record_audio_from_the_emulated_board_over_pty(pcm, tmp_path):
    with emulator.start("audio", pcm, serial="pty", loops=2) as emu:
        with emu.open() as port:
            s = capture.record(port, label="yes", out=tmp_path, clips=2, clip_seconds=0.5)
    assert (s.saved, s.board, s.rate, s.dropped) == (2, "mps2-an386", 16000, 0)
    for f in sorted((tmp_path / "yes").glob("*.wav")):
        with wave.open(str(f)) as w:
            assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), pcm)


def test_flipped_bits_from_the_firmware_are_detected(pcm):
    every, loops = 5, 4
    with emulator.start("audio", pcm, loops=loops, corrupt_every=every) as emu:
        with emu.open(timeout=0.5) as port:
            got = read_all(port, len(emulator.expected_stream("audio", pcm, loops)) + 1)
    dec = frames.FrameDecoder()
    good = dec.feed(got)
    n_frames = 1 + loops * -(-len(pcm) // 256)
    flipped = [s for s in range(n_frames) if s % every == every - 1]
    assert [f.seq for f in good] == [s for s in range(n_frames) if s not in flipped]
    assert dec.stats.dropped == len(flipped)
    assert dec.stats.corrupt >= len(flipped)
    for f in good[1:]:               # every frame delivered is the one compiled in
        k = (f.seq - 1) % -(-len(pcm) // 256)
        assert f.payload == pcm[k * 256:(k + 1) * 256].tobytes()


def test_missing_qemu_names_the_tool(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolNotFoundError) as err:
        emulator.start("imu")
    assert "qemu-system-arm" in str(err.value) and "install-tools.sh" in str(err.value)


def test_paced_firmware_streams_at_the_audio_rate():
    """Paced, the firmware sends the same frames, spread over the clip's duration. Only a
    lower bound is checked, counted from before the connection that starts the board:
    a busy host can make the stream slower, never faster."""
    import time
    pcm = sim.synthetic_audio(0.5)
    want = emulator.expected_stream("audio", pcm)
    fw = emulator.build("audio", pcm, pace=True)
    with emulator.start("audio", pcm, firmware=fw) as emu:
        t0 = time.monotonic()
        with emu.open(timeout=0.5) as port:
            got = read_all(port, len(want))
        took = time.monotonic() - t0
    assert got == want
    assert took > 0.45, f"0.5 s of paced audio arrived in {took:.2f} s"


def test_generated_data_says_so(tmp_path):
    out = tmp_path / "imu_data.c"
    emulator.main(["data", "--kind", "imu", "--data", str(REVELIO), "--out", str(out)])
    text = out.read_text()
    first = text.splitlines()[0]
    assert first.startswith("// Generated by tinykit") and "tinykit.capture.emulator" in first
    assert "Do not edit" in text and str(REVELIO) in first
    assert f"imu_gesture_count = {len(read_imu_csv(REVELIO).gestures)};" in text
