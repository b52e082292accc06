"""Keyword spotting on a board: a recording streamed to the listen firmware, its detections back.

    with tinykit.deploy.listen.boot_listen(tfl, settings) as board:      # QEMU, UART0 on TCP
        heard = listen(board.url, tfl, settings, ds.labels, audio)
    heard.detections            # [Detection(label='yes', time=3.02, score=0.81), ...]
    heard.corrupt, heard.missing, heard.realtime_fraction(64e6)

    heard = listen("/dev/ttyACM0", tfl, settings, ds.labels, audio)    # a real board

The board (``boards/mps2-an386/listen``) computes the features as the audio arrives
(the C front end, one push per hop), runs the int8 model every ``every`` hops on the
last second, smooths the posteriors over ``window`` seconds and picks keywords as
:func:`tinykit.streaming.detect` does with ``stride = every * hop``; its detections
equal the host's on the same int8 model (same keywords, times within one hop: the
device quantizes its own features, which match Python's on >= 99.5% of values).

The protocol, in tinykit's frames (:mod:`tinykit.capture.frames`): HELLO (0x20) with
the detector's settings, answered by an INFO frame; then AUDIO frames (0x01) of one hop
each, every one answered by an ACK (0x30) with the board's counters, after any
DETECTION (0x31) it caused; END (0x32), answered by DONE (0x33). The host keeps at most
``in_flight`` audio frames unanswered: the board paces the stream, not a clock.

HELLO is :data:`HELLO` (32 bytes: every, smooth, ignore mask, min_runs, threshold,
suppress; a min_runs of 0, as hosts before it sent, counts as 1), followed, when
``min_runs``, ``margin`` or a per-keyword threshold differs from the defaults, by the
margin and one threshold per class (float64 each: 40 + 8 * classes bytes in all). The
defaults send the short HELLO, so a firmware built before these settings still listens
with them; a firmware that predates them refuses the long HELLO (rather than ignore
the settings), and :func:`listen` says to rebuild it.
"""
from __future__ import annotations

import json
import struct
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..capture.frames import TYPE_AUDIO, TYPE_INFO, FrameDecoder, encode_frame
from ..capture.ports import open_port
from ..errors import DeviceError, ParameterError
from ..streaming import IGNORED, Detection
from . import codegen

TYPE_HELLO = 0x20
TYPE_ACK = 0x30
TYPE_DETECTION = 0x31
TYPE_END = 0x32
TYPE_DONE = 0x33
PROTOCOL = 1
HELLO = struct.Struct("<IIIIdd")   # every, smooth, ignore mask, min_runs, threshold, suppress
HELLO_MORE = "<{}d"                # a long HELLO's margin and class thresholds (classes + 1)
COUNTERS = struct.Struct("<IIIIIIIIIIQQ")   # see Listening
DETECTION = struct.Struct("<HHId")         # class, 0, hops, score
FIRMWARE = "listen"
MAX_SMOOTH = 64                            # the firmware's TK_LISTEN_MAX_SMOOTH
# The detector's defaults, of the listen firmware and of the generated keyword sketches
# (detector_values): model runs every 5 hops, posteriors averaged over 0.5 s, a keyword
# from a smoothed 0.6, not again within 1 s, a run of any length, no margin over the
# runner-up class, no per-keyword thresholds; as tinykit.streaming.detect's defaults.
EVERY, THRESHOLD, WINDOW, SUPPRESS = 5, 0.6, 0.5, 1.0
MIN_RUNS, MARGIN = 1, 0.0


@dataclass
class Listening:
    """What :func:`listen` heard from the board.

    Attributes:
        detections: the board's keywords, as :class:`tinykit.streaming.Detection` (time:
            the end of the window, seconds from the start of the stream).
        hops: hops of audio sent; ``seconds``: their length.
        frames: audio frames the board received intact.
        corrupt: frames it received corrupt (COBS, length, CRC, too long).
        missing: sequence numbers it never received intact (lost or corrupt): each such
            hop was replaced by silence.
        malformed: audio frames of the wrong size; ``unknown``: frames it ignored.
        overruns: times its UART lost a byte (RX overrun: it read too late).
        runs: model runs; ``board_hops``: hops the board processed (its clock).
        frontend_count, model_count: the board's counter over the whole stream (front
            end pushes; model runs with input copy and smoothing), in ``counter`` units
            (``"instructions"`` under QEMU -icount, else timer ``"ticks"``).
        every: hops between model runs; ``board``: the board's info frame.
        lost_acks: answers that did not come before their deadline (the host sent on).
    """
    detections: list
    hops: int
    seconds: float
    frames: int
    corrupt: int
    missing: int
    malformed: int
    unknown: int
    overruns: int
    runs: int
    board_hops: int
    frontend_count: int
    model_count: int
    counter: str
    every: int
    board: dict = field(default_factory=dict)
    lost_acks: int = 0

    def per_second(self) -> dict:
        """Counts per second of audio: ``{"frontend": ..., "model": ..., "total": ...}``."""
        s = self.seconds or 1.0
        f, m = self.frontend_count / s, self.model_count / s
        return {"frontend": f, "model": m, "total": f + m}

    def realtime_fraction(self, clock_hz=64e6) -> float | None:
        """Instructions per second of audio / ``clock_hz``: the share of a core at that
        clock (one instruction per cycle) the app needs; None without an instruction
        count."""
        if self.counter != "instructions":
            return None
        return self.per_second()["total"] / float(clock_hz)

    def summary(self) -> str:
        words = ", ".join(f"{d.label}@{d.time:.2f}" for d in self.detections) or "none"
        cost = ""
        if self.counter == "instructions":
            rate = self.per_second()
            cost = (f"; {rate['frontend'] / 1e6:.2f} M (front end) + {rate['model'] / 1e6:.2f} M "
                    f"(model) instructions per second of audio, "
                    f"{self.realtime_fraction():.1%} of 64 MHz")
        return (f"{self.seconds:.1f} s of audio, {self.runs} model runs: {len(self.detections)} "
                f"detections ({words}); {self.corrupt} corrupt, {self.missing} missing, "
                f"{self.malformed} malformed frames, {self.overruns} UART overruns{cost}.")


def _check_settings(settings, labels, every, threshold, window, suppress, ignore,
                    min_runs=MIN_RUNS, margin=MARGIN, thresholds=None):
    """The checked feature settings, labels, stride (s), smoothing (model runs), ignore
    mask and each class's threshold."""
    from ..features import AudioFeatures, _record
    from ..streaming import check_detector, class_thresholds
    s = _record.checked(settings, AudioFeatures)
    hop = s.stride_samples
    if s.clip_samples % hop or s.clip_samples != s.window_samples + (s.num_frames - 1) * hop:
        raise ParameterError(f"the listen firmware needs a clip of whole hops with no samples "
                             f"left over: {s.clip_samples} samples, hop {hop}, window "
                             f"{s.window_samples}, {s.num_frames} frames do not fit.")
    if int(every) != every or every < 1:
        raise ParameterError(f"every={every!r}: expected a whole number of hops >= 1 between "
                             f"model runs (every=5 with 20 ms hops runs the model 10 times a "
                             f"second).")
    if not (0.0 <= float(threshold) <= 1.0) or window < 0 or suppress < 0:
        raise ParameterError(f"threshold={threshold!r}, window={window!r}, suppress="
                             f"{suppress!r}: expected a threshold in [0, 1] and seconds >= 0.")
    check_detector(threshold, min_runs, margin, thresholds)
    stride = int(every) * hop / s.sample_rate
    times = (np.arange(2) * int(every) * hop + s.clip_samples) / s.sample_rate
    smooth = max(1, int(round(window / (times[1] - times[0]))))   # as streaming.smooth
    if smooth > MAX_SMOOTH:
        raise ParameterError(f"window={window} s averages {smooth} model runs of every "
                             f"{stride:g} s; the firmware keeps at most {MAX_SMOOTH}: use a "
                             f"shorter window or a larger every.")
    labels = list(labels)
    mask = sum(1 << k for k, name in enumerate(labels) if name in tuple(ignore))
    limits = class_thresholds(labels, threshold, thresholds)
    return s, labels, stride, smooth, mask, limits


def _hello(every, smooth, mask, threshold, suppress, min_runs, margin, limits):
    """The HELLO payload: short for the defaults, else with the margin and thresholds."""
    head = HELLO.pack(int(every), smooth, mask, int(min_runs), float(threshold),
                      float(suppress))
    if int(min_runs) == 1 and float(margin) == 0.0 and all(t == float(threshold)
                                                            for t in limits):
        return head
    return head + struct.pack(HELLO_MORE.format(len(limits) + 1), float(margin), *limits)


def _int16(audio):
    a = np.asarray(audio)
    if a.ndim != 1:
        raise ParameterError(f"expected mono audio as a 1-D array, got shape {a.shape}.")
    if a.dtype == np.int16:
        return a
    if not np.issubdtype(a.dtype, np.floating):
        raise ParameterError(f"expected float samples in [-1, 1] or int16, got {a.dtype}.")
    return np.clip(np.round(a * 32768.0), -32768, 32767).astype(np.int16)


def as_int16(audio) -> np.ndarray:
    """``audio`` as the int16 samples the board hears (float in [-1, 1] times 32768,
    rounded, clipped). Run :func:`tinykit.streaming.detect` on ``as_int16(a) / 32768``
    to hear exactly what the board hears."""
    return _int16(audio)


class _Port:
    """Frames in and out of one port, each read with a deadline."""

    def __init__(self, port, tamper):
        self.port, self.tamper = port, tamper
        self.decoder = FrameDecoder()
        self.frames = []

    def send(self, wire):
        if self.tamper:
            wire = self.tamper("to_device", wire)
        if wire:
            self.port.write(wire)

    def next(self, deadline):
        """The next good frame from the board, or None at the deadline."""
        while not self.frames:
            if time.monotonic() >= deadline:
                return None
            data = self.port.read(max(1, self.port.in_waiting))
            if data:
                self.frames += self.decoder.feed(data)
        return self.frames.pop(0)


def listen(url, model, settings, labels, audio, *, every=EVERY, threshold=THRESHOLD,
           window=WINDOW, suppress=SUPPRESS, ignore=IGNORED, min_runs=MIN_RUNS, margin=MARGIN,
           thresholds=None, in_flight=1, timeout=10.0, connect_timeout=10.0, baudrate=115200,
           tamper=None, progress=False) -> Listening:
    """Stream ``audio`` to a board running the listen firmware; return what it heard.

    Args:
        url: the board's port, anything :func:`tinykit.capture.open_port` opens:
            ``/dev/ttyACM0``, ``socket://127.0.0.1:PORT`` (:func:`boot_listen`).
        model: the int8 model the board's firmware was built with (its CRC-32 is checked).
        settings: the :class:`~tinykit.features.AudioFeatures` of the model.
        labels: class names, one per model output.
        audio: mono samples at ``settings.sample_rate``: int16, or floats in [-1, 1]
            (sent as :func:`as_int16`); a last partial hop is not sent.
        every: hops between model runs (``stride = every * hop`` in
            :func:`tinykit.streaming.detect`).
        threshold, window, suppress, ignore: as in :func:`tinykit.streaming.detect`.
        min_runs, margin, thresholds: as in :func:`tinykit.streaming.detect`: model runs
            a keyword must last, its margin over the runner-up class, per-keyword
            thresholds ``{label: threshold}``.
        in_flight: audio frames sent ahead of the board's answers. 1 (the default) sends
            each hop only once the board has answered the last, so nothing arrives
            while it computes: a real UART without a FIFO loses no byte (the emulated
            board is no faster with more).
        timeout: seconds to wait for an answer (a model run included) before the host
            sends on; the board silent for three deadlines in a row is an error.
        connect_timeout: seconds for the board's first answer, asked for every second.
        baudrate: of a real serial port (the emulated board ignores it).
        tamper: for tests, ``tamper(direction, wire) -> bytes`` sees every encoded frame
            the host sends (``"to_device"``) and returns what goes on (``b""`` loses it).
        progress: show a tqdm bar over the seconds of audio sent.

    Returns:
        A :class:`Listening`: detections, the board's counters and instruction counts.

    Raises:
        ParameterError: bad settings, labels not one per output, audio not mono.
        CaptureError: the port cannot be opened.
        DeviceError: the board does not answer, runs another model or firmware, or
            rejects the settings.

    Example:
        >>> with boot_listen(tfl, settings) as board:  # doctest: +SKIP
        ...     heard = listen(board.url, tfl, settings, ds.labels, audio)
        ...     strict = listen(board.url, tfl, settings, ds.labels, audio, min_runs=2,
        ...                     margin=0.2, thresholds={"no": 0.8})
        >>> heard.detections[:1]  # doctest: +SKIP
        [Detection(label='yes', time=3.02, score=0.81)]
    """
    from ..convert import as_model
    model = as_model(model)
    s, labels, _, smooth, mask, limits = _check_settings(
        settings, labels, every, threshold, window, suppress, ignore, min_runs, margin,
        thresholds)
    classes = int(np.prod(model.output.shape[1:]))
    if len(labels) != classes:
        raise ParameterError(f"{len(labels)} labels for a model with {classes} outputs; "
                             f"expected one label per output.")
    if int(in_flight) != in_flight or in_flight < 1 or not (timeout > 0 and connect_timeout > 0):
        raise ParameterError(f"in_flight={in_flight!r}, timeout={timeout!r}, connect_timeout="
                             f"{connect_timeout!r}: expected a whole number >= 1 and seconds > 0.")
    pcm = _int16(audio)
    hop = s.stride_samples
    hops = len(pcm) // hop
    rows = pcm[:hops * hop].astype("<i2").reshape(hops, hop)
    hello = _hello(every, smooth, mask, threshold, suppress, min_runs, margin, limits)
    with open_port(url, baudrate=baudrate, timeout=0.05) as port:
        link = _Port(port, tamper)
        link.send(b"\x00")                      # ends whatever the board has half read
        seq, info = _greet(link, hello, model, s, classes, connect_timeout)
        found, last, lost, silent = [], None, 0, 0
        sent = 0
        acked = 0                               # answers to audio frames (ACKs)

        def on(frame):
            nonlocal last, acked
            if frame.type == TYPE_DETECTION and len(frame.payload) >= DETECTION.size:
                k, _, at, score = DETECTION.unpack_from(frame.payload)
                name = labels[k] if k < len(labels) else str(k)
                found.append(Detection(name, round(at * hop / s.sample_rate, 3), float(score)))
            elif frame.type in (TYPE_ACK, TYPE_DONE) and len(frame.payload) >= COUNTERS.size:
                last = COUNTERS.unpack_from(frame.payload)
                acked += frame.type == TYPE_ACK
                return frame.type
            return None

        from tqdm.auto import tqdm
        bar = tqdm(total=hops, unit="s", unit_scale=hop / s.sample_rate, desc="listening",
                   disable=not progress, leave=False)
        for i in range(hops):
            bar.update()
            while sent - acked >= in_flight:
                frame = link.next(time.monotonic() + timeout)
                if frame is None:
                    lost += 1
                    silent += 1
                    if silent >= 3:
                        raise DeviceError(f"the board stopped answering after {acked} of "
                                          f"{hops} audio frames ({silent} deadlines of "
                                          f"{timeout:g} s): did it reset or fault?",
                                          lines=[json.dumps(info)])
                    acked += 1                  # assume that answer lost and send on
                    continue
                silent = 0
                on(frame)
            link.send(encode_frame(TYPE_AUDIO, seq, rows[i].tobytes()))
            seq = (seq + 1) & 0xFFFFFFFF
            sent += 1
        bar.close()
        link.send(encode_frame(TYPE_END, seq, b""))
        deadline = time.monotonic() + timeout * (1 + in_flight)
        while True:
            frame = link.next(deadline)
            if frame is None:
                raise DeviceError(f"the board did not answer the end of the stream within "
                                  f"{timeout * (1 + in_flight):g} s ({acked} of {hops} audio "
                                  f"frames answered).", lines=[json.dumps(info)])
            if on(frame) == TYPE_DONE:
                break
    (_, frames, corrupt, missing, malformed, board_hops, runs, _, unknown, overruns,
     fe_count, model_count) = last
    return Listening(detections=found, hops=hops, seconds=hops * hop / s.sample_rate,
                     frames=frames, corrupt=corrupt, missing=missing, malformed=malformed,
                     unknown=unknown, overruns=overruns, runs=runs, board_hops=board_hops,
                     frontend_count=fe_count, model_count=model_count,
                     counter=info.get("counter", "ticks"), every=int(every), board=info,
                     lost_acks=lost)


def _greet(link, payload, model, s, classes, connect_timeout):
    """Send HELLO every second until the board's info comes; returns (next seq, info)."""
    seq = int.from_bytes(np.random.default_rng().bytes(4), "little") >> 1
    end = time.monotonic() + connect_timeout
    while time.monotonic() < end:
        link.send(encode_frame(TYPE_HELLO, seq, payload))
        deadline = min(end, time.monotonic() + 1.0)
        while (frame := link.next(deadline)) is not None:
            if frame.type != TYPE_INFO:
                continue
            try:
                info = frame.info()
            except (ValueError, UnicodeDecodeError):
                continue
            if info.get("hello_seq") != seq:
                continue
            _check_board(info, model, s, classes, hello_size=len(payload))
            return (seq + 1) & 0xFFFFFFFF, info
        seq = (seq + 1) & 0xFFFFFFFF
    raise DeviceError(f"no answer to HELLO within {connect_timeout:g} s: is the board running "
                      f"the listen firmware (tinykit.deploy.listen.boot_listen), on this port, "
                      f"at this baud rate?")


def _check_board(info, model, s, classes, hello_size=HELLO.size):
    lines = [json.dumps(info)]
    if info.get("app") != FIRMWARE or info.get("protocol") != PROTOCOL:
        raise DeviceError(f"the board runs {info.get('app')!r} (protocol "
                          f"{info.get('protocol')!r}), not the listen firmware protocol "
                          f"{PROTOCOL}: build and flash it (boot_listen).", lines=lines)
    if "error" in info and hello_size > HELLO.size and "wrong size" in info["error"]:
        raise DeviceError(f"the board's listen firmware predates min_runs, margin and "
                          f"per-keyword thresholds (it refused the {hello_size}-byte HELLO "
                          f"that carries them): rebuild and boot it (boot_listen), or "
                          f"listen with their defaults.", lines=lines)
    if "error" in info:
        raise DeviceError(f"the board rejected the settings: {info['error']}.", lines=lines)
    want = (s.sample_rate, s.stride_samples, s.clip_samples, classes, zlib.crc32(bytes(model)))
    got = tuple(info.get(k) for k in ("sample_rate", "hop", "clip_samples", "classes",
                                      "model_crc32"))
    if got != want:
        raise DeviceError(f"the board listens with another model or settings: rate, hop, "
                          f"clip, classes, CRC-32 = {got}; this model and these settings have "
                          f"{want}. Build the firmware for them (listen_sources).", lines=lines)


def detector_values(settings, labels, *, every=EVERY, threshold=THRESHOLD, window=WINDOW,
                    suppress=SUPPRESS, ignore=IGNORED, min_runs=MIN_RUNS, margin=MARGIN,
                    thresholds=None) -> dict:
    """The keyword detector's settings as C text, the values a keyword sketch's template
    (``boards/<board>/keyword.ino.tmpl``) fills its ``tk_detect_settings`` with; the same
    arguments and defaults as :func:`listen`, so a sketch and the emulated board detect
    alike. ``tinykit.deploy.generate(..., app="keyword", settings={"threshold": 0.5})``
    passes its ``every``, ``threshold``, ``window``, ``suppress``, ``ignore``,
    ``min_runs``, ``margin`` and ``thresholds`` here.

    Returns:
        ``{"every", "smooth", "ignore_mask", "threshold", "suppress", "window",
        "min_runs", "margin", "class_thresholds", "ignored_comment",
        "thresholds_comment"}``: C literals (the thresholds, suppress and margin as
        doubles, exactly the float64 Python compares with; ``class_thresholds`` each
        class's threshold, comma-separated, for an initialiser), the last two plain text.

    Raises:
        ParameterError: settings the detector cannot stream (see :func:`listen`).

    Example:
        >>> detector_values(settings, ds.labels)["smooth"]  # doctest: +SKIP
        '5'
        >>> detector_values(settings, ["_silence_", "yes", "no"],  # doctest: +SKIP
        ...                 thresholds={"no": 0.8})["class_thresholds"]
        '0.6, 0.6, 0.8'
    """
    s, labels, _, smooth, mask, limits = _check_settings(
        settings, labels, every, threshold, window, suppress, ignore, min_runs, margin,
        thresholds)
    own = [f"{n} {codegen.c_double(t)}" for n, t in zip(labels, limits)
           if t != float(threshold) and n not in tuple(ignore)]
    return {"every": codegen.c_int(every), "smooth": codegen.c_int(smooth),
            "ignore_mask": f"0x{mask:08x}u", "threshold": codegen.c_double(threshold),
            "suppress": codegen.c_double(suppress), "window": codegen.c_double(window),
            "min_runs": codegen.c_int(min_runs), "margin": codegen.c_double(margin),
            "class_thresholds": ", ".join(codegen.c_double(t) for t in limits),
            "ignored_comment": ", ".join(n for n in labels if n in tuple(ignore)) or "none",
            "thresholds_comment": ", ".join(own) or "none"}


# -- the firmware ---------------------------------------------------------------------
def listen_sources(model, settings, *, source="", kernels="dsp") -> dict:
    """The generated sources of the listen firmware for ``model`` and ``settings``:
    the model as C (``tk_model.h/.c``, :mod:`tinykit.deploy.cmodel`), the front end's
    tables (:func:`tinykit.deploy.audio_frontend.frontend_sources`) and
    ``tk_listen_model.h`` (the model's CRC-32, which the board reports). The detector's
    settings travel in the HELLO frame, so one firmware serves any of them.

    Raises:
        ParameterError: settings the firmware cannot stream, a model whose input is not
            the settings' int8 features.
        DeployError: the model uses an op the C kernels lack.
    """
    from ..convert import as_model
    from .audio_frontend import frontend_sources
    from .cmodel import generate_c_model
    model = as_model(model)
    s, *_ = _check_settings(settings, [], 1, 0.5, 0.0, 0.0, ())
    files = frontend_sources(s, model)
    source = source or model.source
    header, csrc, _ = generate_c_model(model, source=source, kernels=kernels)
    files["tk_model.h"], files["tk_model.c"] = header, csrc
    files["tk_listen_model.h"] = codegen.header(
        "tk_listen_model.h",
        ["// CRC-32 (zlib) of the .tflite flatbuffer tk_model.c was generated from.",
         codegen.define("TK_LISTEN_MODEL_CRC32", f"{zlib.crc32(bytes(model))}u")],
        generator="tinykit.deploy.listen.listen_sources", inputs=source or "an int8 model",
        includes=())
    return files


def build_listen(model, settings, *, build_dir=None, source="", kernels="dsp",
                 icount=True):
    """Build the emulated board's listen firmware for ``model``; returns the ELF.
    With ``icount`` it counts instructions (QEMU -icount, ``boot(..., icount=True)``)."""
    from . import emulated
    config = {"TK_LISTEN_MAX_SMOOTH": MAX_SMOOTH}
    if icount:
        config["TK_ICOUNT_SHIFT"] = emulated.icount_shift()
    return emulated.build(FIRMWARE, listen_sources(model, settings, source=source,
                                                   kernels=kernels),
                          config=config, build_dir=build_dir)


def boot_listen(model, settings, *, build_dir=None, source="", kernels="dsp", icount=True):
    """Build the listen firmware for ``model`` and boot it on the emulated board with
    UART0 on a TCP port (``machine.url``); a context manager.

    Example:
        >>> with boot_listen(tfl, settings) as board:  # doctest: +SKIP
        ...     heard = listen(board.url, tfl, settings, ds.labels, audio)
    """
    from . import emulated
    elf = build_listen(model, settings, build_dir=build_dir, source=source, kernels=kernels,
                       icount=icount)
    return emulated.boot(elf, serial="tcp", icount=icount)
