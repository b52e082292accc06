"""``record``: read a port, cut the stream into labelled samples, save each at once."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import serial

from ..datasets.imu import STILL_SKIP, still_gestures
from ..errors import CaptureError
from . import frames as fr
from .imu_lines import ImuLineParser
from .ports import open_port
from .sinks import ImuCsvSink, Sidecar, WavSink, check_label

IMU_RATE = 119.0
AUDIO_RATE = 16000


@dataclass
class CaptureSummary:
    """What one :func:`record` session did.

    ``saved`` gestures or clips were written this session, numbered from
    ``first_index`` (earlier sessions' samples are kept: ``total`` counts all of them).
    ``dropped`` / ``corrupt`` / ``out_of_order`` come from the protocol (for IMU CSV,
    ``corrupt`` counts unreadable lines); ``discarded`` counts incomplete gestures or
    clips that were not written. ``still`` counts gestures refused for showing no
    movement after the trigger (``record(..., refuse_still=True)``), written aside to
    ``still_file``. ``stopped`` says why the session ended: "done", "idle", "stopped",
    "interrupted" or "unplugged".
    """
    label: str
    kind: str
    url: str
    out: Path
    saved: int = 0
    first_index: int = 0
    total: int = 0
    samples: int = 0
    files: list = field(default_factory=list)
    dropped: int = 0
    corrupt: int = 0
    out_of_order: int = 0
    discarded: int = 0
    still: int = 0
    still_file: Path | None = None
    bytes: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    board: str = ""
    stopped: str = ""
    metadata: Path | None = None

    def __str__(self):
        what = "gestures" if self.kind == "imu" else "clips"
        numbers = (f"#{self.first_index}..{self.first_index + self.saved - 1}, "
                   if self.saved else "")
        return (f"{self.label}: saved {self.saved} {what} ({numbers}{self.total} in total) "
                f"from {self.url} "
                f"in {self.seconds:.1f} s; dropped {self.dropped}, corrupt {self.corrupt}, "
                f"out of order {self.out_of_order}, discarded {self.discarded}"
                + (f", refused {self.still} still (in {self.still_file})" if self.still else "")
                + f"; stopped: {self.stopped}")


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Gestures:
    """Cuts IMU rows into gestures of ``spg`` rows.

    trigger "board": the board marks gestures (IMU_Capture prints an empty line after
    each); "motion": a gesture starts at the first row whose |aX|+|aY|+|aZ| reaches
    ``threshold`` (in g, as IMU_Capture does) and takes ``spg`` rows; "auto": "board"
    as soon as an empty line ends a gesture, "motion" if more than ``spg`` rows come
    without one; "window": consecutive windows of ``spg`` rows.
    """

    def __init__(self, spg, trigger, threshold):
        self.spg, self.threshold = spg, threshold
        self.mode = None if trigger == "auto" else trigger
        self.rows = []
        self.collecting = False
        self.discarded = 0

    def feed(self, line) -> list:
        done = []
        kind = line.kind
        if kind == "row":
            if self.mode is None:
                self.rows.append(line)
                if len(self.rows) > self.spg:
                    self.mode = "motion"
                    buffered, self.rows = self.rows, []
                    for row in buffered:
                        self._motion(row, done)
            elif self.mode == "motion":
                self._motion(line, done)
            else:
                self.rows.append(line)
                if len(self.rows) == self.spg:
                    done.append(self.rows)
                    self.rows = []
        elif kind == "blank":
            if self.mode is None:
                self.mode = "board"
            if self.mode == "board":
                if len(self.rows) == self.spg:
                    done.append(self.rows)
                elif self.rows:
                    self.discarded += 1
                self.rows = []
        elif kind == "header":
            if self.mode in (None, "board") and self.rows:
                self.discarded += self.mode == "board"
                self.rows = []
        elif kind == "bad" and self.rows and (self.mode != "motion" or self.collecting):
            # A lost row: the gesture being gathered has a hole, never write it.
            self.discarded += 1
            self.rows = []
            self.collecting = False
        return done

    def _motion(self, line, done):
        if not self.collecting:
            ax, ay, az = line.values[:3]
            if abs(ax) + abs(ay) + abs(az) < self.threshold:
                return
            self.collecting = True
            self.rows = []
        self.rows.append(line)
        if len(self.rows) == self.spg:
            done.append(self.rows)
            self.rows = []
            self.collecting = False


def _sniff(buf: bytes):
    if b"\x00" in buf:
        return "frames"
    if buf.count(b"\n") >= 2:
        return "imu_csv"
    if len(buf) > 4096:
        raise CaptureError(f"cannot tell the protocol: {len(buf)} bytes with neither a 0x00 frame "
                           f"delimiter nor text lines; check the baud rate, or pass protocol=.")
    return None


def record(url, label, out, *, gestures=None, clips=None, count=None, samples=None, seconds=None,
           protocol="auto", trigger="auto", threshold=2.5, samples_per_gesture=119,
           clip_seconds=1.0, rate=None, board=None, baudrate=115200, idle_timeout=10.0,
           on_data=None, stop=None, refuse_still=False) -> CaptureSummary:
    """Record labelled samples from a port into the layout the data set loaders read.

    IMU_Capture CSV streams become gestures appended to ``<out>/<label>.csv``; audio
    frames become clips ``<out>/<label>/<label>_<n>.wav``. Each gesture or clip is
    written and fsynced as soon as it is complete; a session on an existing label
    continues after what is there. A sidecar ``<out>/<label>.capture.json`` records
    each session (board, port URL, rate, times, counters).

    Args:
        url: a port URL or device (``/dev/ttyACM0``, ``socket://...``, ``sim://imu``),
            or a port already opened with :func:`open_port`.
        label: the class name; becomes the file or folder name.
        out: the data set folder.
        gestures: IMU: stop after this many gestures (cut as ``trigger`` says).
        clips: audio: stop after this many clips of ``clip_seconds``.
        count: gestures or clips, whichever the stream turns out to carry.
        samples: stop after this many sensor samples (IMU rows, cut into windows of
            ``samples_per_gesture``; audio samples, cut into clips).
        seconds: with ``gestures``/``clips``, a wall-clock limit; alone, the length of
            data to record (``seconds * rate`` samples).
        protocol: "auto" (a 0x00 byte means frames, text lines mean CSV), "imu_csv"
            or "frames".
        trigger: IMU gestures: "auto", "board" (empty line after each, as
            IMU_Capture prints), "motion" (|aX|+|aY|+|aZ| >= ``threshold`` g starts a
            gesture of ``samples_per_gesture`` rows) or "window".
        rate: samples per second if the stream does not say (119 IMU, 16000 audio).
        board: board name for the metadata (audio frames announce theirs).
        idle_timeout: stop when nothing arrives for this many seconds.
        on_data: called as ``on_data(new_samples, summary)`` after each read, with
            the new IMU rows (n, 6) or audio samples (n,) as numpy arrays.
        stop: a ``threading.Event``; setting it ends the session (for widgets).
        refuse_still: IMU gestures cut by a trigger: do not add a gesture in which the
            device barely moved after the trigger (a knock started it; see
            :func:`tinykit.datasets.still_gestures`). It is written instead to
            ``<out>/.still/<label>.csv`` (kept, never loaded as a label), counted in
            ``summary.still``, and the session goes on until ``gestures`` moving ones
            are saved.

    Returns:
        A :class:`CaptureSummary`. Ctrl-C (KeyboardInterrupt) ends the session and
        returns it with ``stopped="interrupted"``; everything complete is kept.

    Raises:
        CaptureError: bad arguments, a port that cannot be opened, no data at all, or
            the port going away mid-session (unplugged): what was complete is kept and
            the error's ``summary`` attribute tells what.

    Example:
        >>> s = record("sim://imu?speed=max&loops=1", label="Revelio", out="/tmp/wand",
        ...            gestures=3)  # doctest: +SKIP
        >>> s.saved, s.files  # doctest: +SKIP
        (3, [PosixPath('/tmp/wand/Revelio.csv')])
    """
    check_label(label)
    counts = {"gestures": gestures, "clips": clips, "count": count, "samples": samples,
              "seconds": seconds}
    for name, v in counts.items():
        if v is not None and (not isinstance(v, (int, float)) or v <= 0):
            raise CaptureError(f"{name}={v!r}: expected a positive number.")
    if all(v is None for v in counts.values()) and stop is None:
        raise CaptureError("say how much to record: gestures=N (IMU), clips=N (audio), "
                           "count=N (either), samples=N or seconds=T.")
    if protocol not in ("auto", "imu_csv", "frames"):
        raise CaptureError(f"protocol={protocol!r}; expected 'auto', 'imu_csv' or 'frames'.")
    if trigger not in ("auto", "board", "motion", "window"):
        raise CaptureError(f"trigger={trigger!r}; expected 'auto', 'board', 'motion' or 'window'.")
    if samples_per_gesture < 1 or clip_seconds <= 0:
        raise CaptureError("samples_per_gesture and clip_seconds must be positive.")
    if refuse_still and (trigger == "window" or samples_per_gesture <= STILL_SKIP):
        raise CaptureError(f"refuse_still=True judges gestures cut by a trigger over the "
                           f"samples after their first {STILL_SKIP}: use gestures=N with "
                           f"trigger 'auto', 'board' or 'motion' and samples_per_gesture > "
                           f"{STILL_SKIP}, or refuse_still=False.")
    out = Path(out)
    own_port = isinstance(url, str)
    port = open_port(url, baudrate=baudrate, timeout=0.05) if own_port else url
    url_text = url if own_port else str(getattr(port, "port", port))
    rec = _Recorder(port, url_text, label, out, counts, protocol, trigger, threshold,
                    samples_per_gesture, clip_seconds, rate, board, idle_timeout, on_data, stop,
                    refuse_still=bool(refuse_still))
    try:
        return rec.run()
    finally:
        if own_port:
            port.close()


class _Recorder:
    def __init__(self, port, url, label, out, counts, protocol, trigger, threshold, spg,
                 clip_seconds, rate, board, idle_timeout, on_data, stop, refuse_still=False):
        self.port, self.url, self.label, self.out = port, url, label, out
        self.counts, self.protocol, self.trigger, self.threshold = counts, protocol, trigger, threshold
        self.spg, self.clip_seconds, self.rate, self.board = spg, clip_seconds, rate, board
        self.idle_timeout, self.on_data, self.stop = idle_timeout, on_data, stop
        self.summary = CaptureSummary(label=label, kind="", url=url, out=out)
        self.parser = self.sink = self.sidecar = self.cutter = None
        self.pending = bytearray()
        self.clip, self.clip_n, self.audio_saved = [], 0, 0
        self.last_seq = None
        self.clip_discarded = 0
        self.refuse_still, self.still_sink = refuse_still, None

    # -- main loop ---------------------------------------------------------------
    def run(self):
        s = self.summary
        t0 = time.monotonic()
        last_data = t0
        try:
            while not self._done(time.monotonic() - t0):
                n = self.port.in_waiting if hasattr(self.port, "in_waiting") else 0
                data = self.port.read(min(max(n, 4096), 1 << 20))
                now = time.monotonic()
                if data:
                    last_data = now
                    self._feed(data)
                elif now - last_data > self.idle_timeout:
                    if not s.bytes:
                        raise CaptureError(
                            f"no data from {self.url} in {self.idle_timeout:g} s. Is the board "
                            f"running the capture sketch, on this port, at this baud rate?")
                    s.stopped = "idle"
                    break
                s.seconds = now - t0
            else:
                s.stopped = s.stopped or ("stopped" if self.stop is not None and self.stop.is_set()
                                          else "done")
        except KeyboardInterrupt:
            s.stopped = "interrupted"
        except (serial.SerialException, ConnectionError) as e:
            s.stopped = "unplugged"
            self._finish(t0)
            err = CaptureError(f"{self.url} stopped sending ({e}) after {s.saved} complete "
                               f"{'gestures' if s.kind != 'audio' else 'clips'}, which are saved in "
                               f"{s.out}. Reconnect the board and call record() again: numbering "
                               f"continues.")
            err.summary = s
            raise err from None
        self._finish(t0)
        return s

    def _done(self, elapsed):
        s, c = self.summary, self.counts
        if self.stop is not None and self.stop.is_set():
            return True
        if c["gestures"] and s.kind == "imu" and s.saved >= c["gestures"]:
            return True
        if c["clips"] and s.kind == "audio" and s.saved >= c["clips"]:
            return True
        if c["samples"] is not None or (c["seconds"] and not (c["gestures"] or c["clips"])):
            target = self._sample_target()
            if target is not None and self._saved_samples() >= target:
                return True
        if c["seconds"] and (c["gestures"] or c["clips"]) and elapsed >= c["seconds"]:
            return True
        return False

    def _sample_target(self):
        c = self.counts
        if not self.summary.kind:
            return None
        if c["samples"] is not None:
            target = int(c["samples"])
        else:
            target = int(round(c["seconds"] * self._rate()))
        if self.summary.kind == "imu":      # whole windows
            target = -(-target // self.spg) * self.spg
        return target

    def _saved_samples(self):
        s = self.summary
        return s.saved * self.spg if s.kind == "imu" else self.audio_saved

    def _rate(self):
        return self.rate or (IMU_RATE if self.summary.kind == "imu" else AUDIO_RATE)

    def _finish(self, t0):
        s = self.summary
        s.seconds = time.monotonic() - t0
        if self.sidecar is not None:
            self._sync_stats()
            self.sidecar.update(ended=_now(), stopped=s.stopped, saved=s.saved,
                                samples=s.samples, dropped=s.dropped, corrupt=s.corrupt,
                                out_of_order=s.out_of_order, discarded=s.discarded,
                                still=s.still,
                                bytes=s.bytes, seconds=round(s.seconds, 3), rate=s.rate,
                                board=s.board)

    # -- bytes in ----------------------------------------------------------------
    def _feed(self, data):
        s = self.summary
        if self.parser is None:
            self.pending += data
            proto = self.protocol if self.protocol != "auto" else _sniff(bytes(self.pending))
            if proto is None:
                return
            self._begin(proto)
            data, self.pending = bytes(self.pending), bytearray()
        if s.kind == "imu":
            self._feed_imu(data)
        else:
            self._feed_frames(data)
        self._sync_stats()

    def _begin(self, proto):
        s, c = self.summary, self.counts
        s.kind = "imu" if proto == "imu_csv" else "audio"
        if c["count"]:
            c["gestures" if s.kind == "imu" else "clips"] = c["count"]
        if s.kind == "imu" and self.refuse_still and not c["gestures"]:
            raise CaptureError("refuse_still=True needs gestures=N (or count=N): samples= and "
                               "seconds= record continuous windows, not triggered gestures.")
        if s.kind == "imu" and c["clips"]:
            raise CaptureError(f"{self.url} sends IMU_Capture CSV; clips= is for audio. "
                               f"Use gestures=N, samples=N or seconds=T.")
        if s.kind == "audio" and c["gestures"]:
            raise CaptureError(f"{self.url} sends audio frames; gestures= is for IMU data. "
                               f"Use clips=N, samples=N or seconds=T.")
        if s.kind == "imu":
            self.parser = ImuLineParser()
            trigger = self.trigger if c["gestures"] else "window"
            self.cutter = _Gestures(self.spg, trigger, self.threshold)
            self.sink = ImuCsvSink(self.out, self.label, self.spg)
            s.first_index = self.sink.existing
            s.files = [self.sink.path]
            s.board = self.board or self._board_from_url()
            s.rate = self._rate()
        else:
            self.parser = fr.FrameDecoder()
            s.board = self.board or self._board_from_url()
            s.rate = self._rate()
        s.total = s.first_index
        self.sidecar = Sidecar(self.out, self.label, s.kind)
        s.metadata = self.sidecar.path
        self.sidecar.start(board=s.board, url=self.url, rate=s.rate, protocol=proto,
                           started=_now(), ended=None, stopped="recording",
                           first_index=s.first_index,
                           baudrate=getattr(self.port, "baudrate", None))

    def _board_from_url(self):
        if self.url.startswith("sim://"):
            return "sim"
        return "unknown"

    def _sync_stats(self):
        s, st = self.summary, self.parser.stats
        s.bytes = st.bytes
        s.corrupt = st.corrupt
        if isinstance(st, fr.FrameStats):
            s.dropped, s.out_of_order = st.dropped, st.out_of_order
            s.discarded = self.clip_discarded
        else:
            s.discarded = self.cutter.discarded

    def _feed_imu(self, data):
        s = self.summary
        rows = []
        for line in self.parser.feed(data):
            if line.kind == "row":
                rows.append(line.values)
            for g in self.cutter.feed(line):
                if self._done(0):
                    break
                if self.refuse_still and self._still(g):
                    continue
                self.sink.write([r.text for r in g])
                s.saved += 1
                s.total += 1
        s.samples = self.parser.stats.rows
        if rows and self.on_data is not None:
            self.on_data(np.asarray(rows, dtype=np.float32), s)

    def _still(self, rows) -> bool:
        """True (and the gesture written aside) when ``rows`` show no movement."""
        if not len(still_gestures(np.asarray([[r.values for r in rows]], np.float32))):
            return False
        s = self.summary
        if self.still_sink is None:
            self.still_sink = ImuCsvSink(self.out / ".still", self.label, self.spg)
            s.still_file = self.still_sink.path
        self.still_sink.write([r.text for r in rows])
        s.still += 1
        return True

    def _feed_frames(self, data):
        s = self.summary
        new = []
        for frame in self.parser.feed(data):
            # Frames come out in order with their sequence numbers; a jump means frames
            # were lost in between, so the clip being gathered has a hole: drop it.
            if self.last_seq is not None and frame.seq != (self.last_seq + 1) & 0xFFFFFFFF:
                if self.clip_n:
                    self.clip_discarded += 1
                    self.clip, self.clip_n = [], 0
            self.last_seq = frame.seq
            if frame.type == fr.TYPE_INFO:
                self._info(frame)
                continue
            if frame.type != fr.TYPE_AUDIO:
                continue
            pcm = frame.samples()
            s.samples += len(pcm)
            new.append(pcm)
            if self._done(0):
                continue
            self.clip.append(pcm)
            self.clip_n += len(pcm)
            self._cut_clips()
        if new and self.on_data is not None:
            self.on_data(np.concatenate(new), s)

    def _cut_clips(self):
        clip_len = max(1, int(round(self.clip_seconds * self._rate())))
        target = self._sample_target() if (self.counts["samples"] is not None or (
            self.counts["seconds"] and not self.counts["clips"])) else None
        while True:
            want = clip_len
            if target is not None:
                want = min(want, target - self.audio_saved)
            if want <= 0 or self.clip_n < want:
                return
            pcm = np.concatenate(self.clip)
            self._write_clip(pcm[:want])
            rest = pcm[want:]
            self.clip, self.clip_n = ([rest] if len(rest) else []), len(rest)
            if self._done(0):
                self.clip, self.clip_n = [], 0
                return

    def _write_clip(self, pcm):
        s = self.summary
        if self.sink is None:
            self.sink = WavSink(self.out, self.label, rate=int(self._rate()))
            s.first_index = self.sink.first
            s.total = self.sink.existing
            self.sidecar.update(first_index=s.first_index, rate=self._rate())
        path = self.sink.write(pcm)
        s.files.append(path)
        s.saved += 1
        s.total += 1
        self.audio_saved += len(pcm)

    def _info(self, frame):
        try:
            info = frame.info()
        except (ValueError, UnicodeDecodeError):
            return
        s = self.summary
        if not self.rate and info.get("rate") and self.sink is None:
            self.rate = float(info["rate"])
            s.rate = self.rate
        if not self.board and info.get("board"):
            s.board = str(info["board"])
        self.sidecar.update(board=s.board, rate=s.rate, info=info)
