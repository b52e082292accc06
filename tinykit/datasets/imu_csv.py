"""Read the CSV that Arduino's IMU_Capture sketch prints.

The sketch prints a header ``aX,aY,aZ,gX,gY,gZ`` and then, for each gesture, a fixed
number of rows (119 by default), either back to back or separated by blank lines.
A capture session pasted twice may repeat the header; that is accepted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DatasetError

IMU_COLUMNS = ("aX", "aY", "aZ", "gX", "gY", "gZ")


@dataclass
class ImuFile:
    """The gestures read from one CSV file.

    Attributes:
        path: the file read.
        gestures: float32 array (n_gestures, samples_per_gesture, n_columns).
        first_lines: 1-based line number where each gesture starts.
        skipped: human-readable notes on what was dropped (e.g. a partial last gesture).
    """
    path: Path
    columns: tuple
    gestures: np.ndarray
    first_lines: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def read_imu_csv(path, samples_per_gesture=119, columns=IMU_COLUMNS) -> ImuFile:
    """Read one IMU_Capture CSV file into gestures.

    Args:
        path: a ``.csv`` file with a header row naming ``columns``.
        samples_per_gesture: rows per gesture (IMU_Capture's ``numSamples``).
        columns: the expected header.

    Returns:
        An :class:`ImuFile`. A partial last gesture (fewer rows than
        ``samples_per_gesture``) is not padded: it is dropped and reported in
        ``ImuFile.skipped``.

    Raises:
        DatasetError: empty file, missing or wrong header, a row with the wrong number
            of columns, text where a number belongs, or a gesture split by a blank line
            before it is complete. The message names the file and the line.

    Example:
        >>> f = read_imu_csv("datasets/magic_wand/train/Revelio.csv")  # doctest: +SKIP
        >>> f.gestures.shape  # doctest: +SKIP
        (21, 119, 6)
    """
    path = Path(path)
    columns = tuple(columns)
    ncol = len(columns)
    header_text = ",".join(columns)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file.") from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not a text CSV file ({e.reason} at byte {e.start}); "
                           f"expected IMU_Capture output with header {header_text}.") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not any(line.strip() for line in lines):
        raise DatasetError(f"{path}: the file is empty; expected a header {header_text} "
                           f"followed by {samples_per_gesture} rows per gesture.")

    rows, row_lines, starts, skipped = [], [], [], []
    gestures = []
    seen_header = False

    def close_gesture(at_line, blank):
        # Called at a blank line or end of file with the rows gathered so far.
        if not rows:
            return
        where = f"{path}, lines {row_lines[0]}-{row_lines[-1]}"
        if blank:
            raise DatasetError(
                f"{where}: a gesture has {len(rows)} rows before the blank line at line "
                f"{at_line}; expected {samples_per_gesture} rows per gesture. "
                f"Check samples_per_gesture (IMU_Capture's numSamples) or remove the "
                f"incomplete gesture.")
        skipped.append(f"{where}: partial last gesture with {len(rows)} of "
                       f"{samples_per_gesture} rows, skipped")
        rows.clear()
        row_lines.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            close_gesture(number, blank=True)
            continue
        fields = [f.strip() for f in line.split(",")]
        if tuple(fields) == columns:
            if rows:
                raise DatasetError(
                    f"{path}, line {number}: a header appears in the middle of a gesture "
                    f"({len(rows)} of {samples_per_gesture} rows read).")
            seen_header = True
            continue
        if not seen_header:
            raise DatasetError(
                f"{path}, line {number}: expected the header {header_text}, found "
                f"{line[:60]!r}. Is this IMU_Capture output? If the columns differ, "
                f"pass columns=...")
        if len(fields) != ncol:
            raise DatasetError(
                f"{path}, line {number}: expected {ncol} columns ({header_text}), "
                f"found {len(fields)}.")
        values = []
        for name, f in zip(columns, fields):
            try:
                v = float(f)
            except ValueError:
                raise DatasetError(
                    f"{path}, line {number}: column {name} is {f!r}, expected a number.") from None
            if not math.isfinite(v):
                raise DatasetError(
                    f"{path}, line {number}: column {name} is {f!r}, expected a finite number.")
            values.append(v)
        if not rows:
            starts.append(number)
        rows.append(values)
        row_lines.append(number)
        if len(rows) == samples_per_gesture:
            gestures.append(np.asarray(rows, dtype=np.float32))
            rows.clear()
            row_lines.clear()
    if rows:
        starts.pop()
    close_gesture(len(lines), blank=False)
    if not seen_header:
        raise DatasetError(f"{path}: no header {header_text} found.")
    array = (np.stack(gestures) if gestures
             else np.zeros((0, samples_per_gesture, ncol), np.float32))
    return ImuFile(path=path, columns=columns, gestures=array, first_lines=starts,
                   skipped=skipped)
