"""Where recorded samples go: the folder layouts the data set loaders read.

- IMU gestures: ``<out>/<Label>.csv``, IMU_Capture CSV, header once, each gesture
  followed by an empty line, appended gesture by gesture;
- audio clips: ``<out>/<label>/<label>_<n>.wav``, 16-bit mono WAV;
- one sidecar per label, ``<out>/<label>.capture.json``, listing the sessions
  (board, port URL, rate, start and end time, counters).

Every gesture or clip is on disk (flushed and fsynced) before the next is received,
and a new session continues after what is there instead of overwriting it.
"""
from __future__ import annotations

import json
import os
import re
import wave
from pathlib import Path

import numpy as np

from ..datasets.imu_csv import read_imu_csv
from ..errors import CaptureError, DatasetError
from .imu_lines import HEADER_LINE

_LABEL_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$")


def check_label(label) -> str:
    if not isinstance(label, str) or not _LABEL_OK.match(label) or label.endswith((".", " ")):
        raise CaptureError(f"label {label!r} cannot be used as a file name; use letters, digits, "
                           f"'_', '-' (e.g. 'Revelio' or 'yes').")
    return label


def _fsync_dir(path: Path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj):
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ImuCsvSink:
    """Appends gestures to ``<out>/<label>.csv``; ``existing`` gestures were already there."""

    def __init__(self, out, label, samples_per_gesture=119):
        self.path = Path(out) / f"{check_label(label)}.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.existing = self._prepare(samples_per_gesture)
        self.written = 0

    def _prepare(self, spg):
        """Check an existing file and cut a torn last gesture; return its gesture count."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append((HEADER_LINE + "\n").encode())
            return 0
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):          # a line torn by a crash mid-write
            self._truncate(data.rfind(b"\n") + 1)
        try:
            imu = read_imu_csv(self.path, spg)
        except DatasetError as e:
            raise CaptureError(f"cannot append to {self.path}: {e} Fix or move the file, or "
                               f"record into another folder.") from None
        data = self.path.read_bytes()
        lines = data.splitlines(keepends=True)
        if imu.skipped:
            # A torn last gesture (the previous session stopped mid-write): keep only
            # what ends with the last complete gesture.
            keep = imu.first_lines[-1] + spg - 1 if imu.first_lines else self._header_line(lines)
            cut = sum(len(line) for line in lines[:keep])
            self._truncate(cut)
            data = data[:cut]
        if not data.endswith(b"\n"):
            self._append(b"\n")
        return len(imu.gestures)

    def _truncate(self, size):
        with open(self.path, "r+b") as f:
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())

    @staticmethod
    def _header_line(lines):
        for i, line in enumerate(lines, start=1):
            if line.strip() == HEADER_LINE.encode():
                return i
        return 0

    def _append(self, data: bytes):
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def write(self, rows) -> int:
        """Append one gesture (row texts as received) and an empty line; returns its index."""
        self._append(("".join(r + "\n" for r in rows) + "\n").encode("ascii"))
        self.written += 1
        return self.existing + self.written - 1


class WavSink:
    """Writes clips as ``<out>/<label>/<label>_<n>.wav``, ``n`` continuing past existing files."""

    def __init__(self, out, label, rate=16000):
        self.label = check_label(label)
        self.folder = Path(out) / label
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rate = int(rate)
        pattern = re.compile(rf"^{re.escape(label)}_(\d+)\.wav$")
        numbers = [int(m.group(1)) for p in self.folder.iterdir() if (m := pattern.match(p.name))]
        self.existing = len(numbers)
        self.next = max(numbers) + 1 if numbers else 0
        self.first = self.next
        self.written = 0
        self.paths = []

    def write(self, pcm) -> Path:
        """Write one clip (int16 samples); it appears under its final name only when complete."""
        path = self.folder / f"{self.label}_{self.next}.wav"
        tmp = self.folder / f".{path.name}.tmp"
        with open(tmp, "wb") as f:
            with wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(self.rate)
                w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.folder)
        self.next += 1
        self.written += 1
        self.paths.append(path)
        return path


class Sidecar:
    """``<out>/<label>.capture.json``: one entry per recording session."""

    def __init__(self, out, label, kind):
        self.path = Path(out) / f"{label}.capture.json"
        doc = {"label": label, "kind": kind, "sessions": []}
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                doc.setdefault("sessions", [])
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.path.rename(self.path.with_suffix(".json.bad"))
        self.doc = doc
        self.session = None

    def start(self, **fields):
        self.session = dict(fields)
        self.doc["sessions"].append(self.session)
        write_json_atomic(self.path, self.doc)

    def update(self, **fields):
        self.session.update(fields)
        write_json_atomic(self.path, self.doc)
