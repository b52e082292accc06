"""The text protocol of Arduino's IMU_Capture sketch, line by line.

The sketch prints a header ``aX,aY,aZ,gX,gY,gZ`` once, then for each gesture 119
rows of six numbers with three decimals, then an empty line, each line ending in
``\\r\\n``. :class:`ImuLineParser` turns received bytes into events and counts
lines it cannot read; :func:`format_row` and :func:`gesture_text` print rows the
way the sketch does (also used by ``sim://`` and the emulated-board firmware).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..datasets.imu_csv import IMU_COLUMNS
from .split import Splitter

HEADER_LINE = ",".join(IMU_COLUMNS)
MAX_LINE = 200


@dataclass
class Line:
    """One received line: ``kind`` is "header", "blank", "row" or "bad"."""
    kind: str
    text: str = ""
    values: tuple = ()
    reason: str = ""


@dataclass
class LineStats:
    lines: int = 0
    rows: int = 0
    corrupt: int = 0
    skipped_bytes: int = 0
    bytes: int = 0


def milli(value: float) -> int:
    """``value`` in thousandths, rounded as ``'%.3f'`` rounds it."""
    return int(round(float(f"{value:.3f}") * 1000))


def format_milli(m: int) -> str:
    """Thousandths as IMU_Capture prints ``Serial.print(x, 3)``: ``-1234 -> '-1.234'``."""
    sign = "-" if m < 0 else ""
    m = abs(int(m))
    return f"{sign}{m // 1000}.{m % 1000:03d}"


def format_row(values) -> str:
    """One row as IMU_Capture prints it, without the line ending.

    Example:
        >>> format_row([1.0750000000000002, 0.33, -0.0004, 8.789, -25.269, 5.8])
        '1.075,0.330,0.000,8.789,-25.269,5.800'
    """
    return ",".join(format_milli(milli(v)) for v in values)


def gesture_text(gesture, newline="\r\n") -> str:
    """All rows of one gesture followed by the empty line IMU_Capture prints."""
    return "".join(format_row(r) + newline for r in gesture) + newline


class ImuLineParser:
    """Incremental parser: ``feed(bytes)`` returns a list of :class:`Line`.

    A line that is not the header, empty, or six numbers is returned as "bad" and
    counted in ``stats.corrupt``. The first line is trusted only if it is the header
    or empty: a port opened mid-stream starts inside a line, so any other first line
    is returned as "bad" and counted in ``stats.skipped_bytes``.

    Example:
        >>> p = ImuLineParser()
        >>> [l.kind for l in p.feed(b"aX,aY,aZ,gX,gY,gZ\\r\\n1,2,3,4,5,6\\r\\n1,2,x\\r\\n\\r\\n")]
        ['header', 'row', 'bad', 'blank']
        >>> p.stats.rows, p.stats.corrupt
        (1, 1)
    """

    def __init__(self, columns=IMU_COLUMNS):
        self.columns = tuple(columns)
        self.stats = LineStats()
        self._splitter = Splitter(b"\n", MAX_LINE)
        self._first = True

    def feed(self, data: bytes) -> list:
        self.stats.bytes += len(data)
        return [self._line(None if isinstance(raw, int) else raw)
                for raw in self._splitter.split(data)]

    def _line(self, raw):
        st = self.stats
        st.lines += 1
        first, self._first = self._first, False
        if raw is None:
            line = Line("bad", reason=f"line longer than {MAX_LINE} characters")
        else:
            line = self._parse(raw)
        if first and line.kind in ("bad", "row"):
            # The port may have been opened in the middle of a line: a first line that
            # is not the header could be the tail of a row, so it is never trusted.
            st.skipped_bytes += len(raw or b"")
            return Line("bad", line.text, reason="first line (may be partial)")
        if line.kind == "bad":
            st.corrupt += 1
        elif line.kind == "row":
            st.rows += 1
        return line

    def _parse(self, raw):
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return Line("bad", repr(raw[:60]), reason="not ASCII text")
        if not text:
            return Line("blank")
        fields = text.split(",")
        if tuple(f.strip() for f in fields) == self.columns:
            return Line("header", text)
        if len(fields) != len(self.columns):
            return Line("bad", text, reason=f"{len(fields)} columns, expected {len(self.columns)}")
        try:
            values = tuple(float(f) for f in fields)
        except ValueError:
            return Line("bad", text, reason="a column is not a number")
        if not all(math.isfinite(v) for v in values):
            return Line("bad", text, reason="a column is not a finite number")
        return Line("row", text, values)
