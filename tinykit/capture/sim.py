"""A simulated board: the bytes a real board would send, with their timing.

``sim://`` ports (see :mod:`tinykit.capture.protocol_sim`) play these streams:

- IMU gestures from IMU_Capture CSV files, printed exactly as the IMU_Capture sketch
  prints them (header once, 119 rows per gesture, an empty line after each), or, with
  ``mode="stream"``, as one continuous stream of rows with the board at rest between
  gestures (for motion triggering on the host);
- audio from a 16-bit mono WAV file (or a generated test signal) in the binary
  framed protocol of :mod:`tinykit.capture.frames`.

Each generator yields ``(t, bytes)``: the bytes and the time in seconds (from the
start of the stream) at which a real board would have finished sending them.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..datasets import data_root, read_imu_csv
from ..errors import CaptureError
from . import frames
from .imu_lines import HEADER_LINE, format_row

IMU_RATE = 119.0
AUDIO_RATE = 16000
FRAME_SAMPLES = 256


def load_gestures(data=None, label=None) -> np.ndarray:
    """Gestures (n, 119, 6) from an IMU_Capture CSV file or a folder of them.

    Without ``data``: the bundled magic_wand training set. With a folder, ``label``
    picks ``<folder>/<label>.csv``; otherwise every CSV file is played in name order.
    """
    path = Path(data) if data else data_root() / "magic_wand" / "train"
    if path.is_dir():
        files = [path / f"{label}.csv"] if label else sorted(path.rglob("*.csv"))
    else:
        files = [path]
    missing = [f for f in files if not f.is_file()]
    if not files or missing:
        raise CaptureError(f"sim://imu: no IMU_Capture CSV file at {missing[0] if missing else path}; "
                           f"pass data=<file.csv or folder> (and label=<Label> for a folder).")
    arrays = [read_imu_csv(f).gestures for f in files]
    return np.concatenate(arrays)


def rest_rows(n, seed=0) -> np.ndarray:
    """``n`` rows of a board lying still: about 1 g on Z, small gyro noise."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((n, 6))
    rows[:, 2] = 1.0
    rows[:, :3] += rng.normal(0, 0.01, (n, 3))
    rows[:, 3:] += rng.normal(0, 0.5, (n, 3))
    return rows


def imu_stream(gestures, rate=IMU_RATE, gap=1.0, loops=1, mode="capture", seed=0):
    """Yield ``(t, bytes)`` of an IMU board playing ``gestures``.

    ``mode="capture"`` prints like the IMU_Capture sketch (the board triggers, the host
    sees only gestures, ``gap`` seconds apart). ``mode="stream"`` sends rows all the
    time, the board at rest for ``gap`` seconds between gestures, no empty lines.
    ``loops=0`` repeats forever.
    """
    if mode not in ("capture", "stream"):
        raise CaptureError(f"sim://imu: mode={mode!r}; expected capture or stream.")
    t = 0.0
    yield t, (HEADER_LINE + "\r\n").encode()
    rest = [format_row(r) + "\r\n" for r in rest_rows(max(1, int(gap * rate)), seed)]
    n = 0
    while loops == 0 or n < loops:
        n += 1
        for g in gestures:
            if mode == "stream":
                for line in rest:
                    t += 1.0 / rate
                    yield t, line.encode()
            else:
                t += gap
            for row in g:
                t += 1.0 / rate
                yield t, (format_row(row) + "\r\n").encode()
            if mode == "capture":
                yield t, b"\r\n"


def synthetic_audio(seconds=1.0, rate=AUDIO_RATE, seed=0) -> np.ndarray:
    """A deterministic int16 test signal: a rising tone with a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    freq = 200 + 1800 * t / max(seconds, 1e-9)
    rng = np.random.default_rng(seed)
    x = 0.5 * np.sin(2 * np.pi * np.cumsum(freq) / rate) + rng.normal(0, 0.02, len(t))
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def load_wav(path) -> tuple:
    """``(int16 samples, rate)`` of a 16-bit mono WAV file."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise CaptureError(f"{path}: {w.getnchannels()} channel(s) of {8 * w.getsampwidth()} bits; "
                                   f"expected 16-bit mono PCM. Convert it, e.g. "
                                   f"`sox in.wav -r 16000 -c 1 -b 16 out.wav`.")
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
            return pcm, w.getframerate()
    except (FileNotFoundError, wave.Error, EOFError) as e:
        raise CaptureError(f"{path}: cannot read as a WAV file ({e}); expected 16-bit mono PCM.") from None


def audio_stream(pcm, rate=AUDIO_RATE, frame_samples=FRAME_SAMPLES, loops=1, board="sim"):
    """Yield ``(t, bytes)`` of a board streaming ``pcm`` in audio frames.

    The stream starts with a delimiter and an info frame (board, rate, format), then
    one frame per ``frame_samples``; ``loops=0`` repeats forever.
    """
    seq = 0
    yield 0.0, b"\x00" + frames.info_frame(seq, board=board, rate=int(rate), format="s16le",
                                           channels=1, frame_samples=int(frame_samples))
    pcm = np.asarray(pcm, dtype="<i2")
    t = 0.0
    n = 0
    while loops == 0 or n < loops:
        n += 1
        for start in range(0, len(pcm), frame_samples):
            chunk = pcm[start:start + frame_samples]
            seq += 1
            t += len(chunk) / rate
            yield t, frames.encode_frame(frames.TYPE_AUDIO, seq, chunk.tobytes())
