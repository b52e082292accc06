"""The device check over serial: a test set streamed through a board running the model.

The board runs the harness firmware (``boards/mps2-an386/harness`` on the emulated
board): the model as plain C (:mod:`tinykit.deploy.cmodel`) behind a small protocol in
tinykit's frames (``boards/common/tk_link.h``). The host sends each input tensor, the
board answers with the output tensor, and :func:`evaluate_on_device` compares what the
board computed with the TFLite Micro interpreter::

    with tinykit.deploy.emulated.boot_harness(tfl) as board:      # QEMU, UART0 on TCP
        check = evaluate_on_device(board.url, tfl, x_test, y_test)
    check.mismatches, check.accuracy                                # 0, and on the board

    check = evaluate_on_device("/dev/ttyACM0", tfl, x_test, y_test)  # a real board

The protocol keeps one request in flight, so no board needs a buffer larger than one
frame: HELLO (the board answers an info frame with its sizes and the CRC-32 of the
model it runs), then each input in chunks of at most the board's ``max_payload``
bytes, one answer per chunk, the last answer holding the outputs. Every answer has a
deadline: a request whose answer is lost or arrives corrupt is sent again, one the
board received corrupt (its CRC) is answered with that error and sent again, up to
``retries`` times; then :class:`~tinykit.errors.DeviceError`.
"""
from __future__ import annotations

import json
import math
import secrets
import struct
import time
import zlib
from dataclasses import dataclass

import numpy as np

from ..capture.frames import MAX_PAYLOAD, TYPE_INFO, FrameDecoder, encode_frame
from ..capture.ports import open_port
from ..errors import DeviceError, ParameterError
from . import codegen
from .cmodel import generate_c_model

TYPE_HELLO = 0x20
TYPE_INPUT = 0x21
TYPE_ANSWER = 0x22
PROTOCOL = 1
ANSWER = struct.Struct("<BBHIIQ")      # status, detail, stack, request seq, received, count
OFFSET = struct.Struct("<I")           # before the bytes of an INPUT chunk

# tk_link_status (boards/common/tk_link.h)
OK, OUT_OF_SEQUENCE, BAD_REQUEST, MODEL_ERROR = 0, 6, 7, 8
CORRUPT = {1: "not COBS", 2: "wrong length", 3: "wrong version", 4: "CRC mismatch",
           5: "longer than the board's buffer"}


@dataclass
class DeviceEvaluation:
    """What :func:`evaluate_on_device` measured.

    Attributes:
        outputs: the board's raw int8 outputs, one row per input (TFLM's shape).
        reference: TFLite Micro's outputs for the same inputs.
        accuracy: on-device accuracy (argmax against ``y``); None without ``y``.
        reference_accuracy: TFLM's accuracy on the same inputs; None without ``y``.
        label_agreement: fraction of inputs whose argmax equals TFLM's.
        byte_agreement: fraction of inputs whose output bytes all equal TFLM's.
        mismatches: inputs whose outputs differ from TFLM's in any byte.
        instructions: per inference, as the board's counter read them (None when
            the board does not count instructions: its info says another ``"counter"``).
        stack_bytes: the most stack one inference used, measured on the board (the
            harness paints the stack before each call); None when it does not say.
        seconds: per input, the host's time from the first chunk sent to the answer
            (transfer and inference).
        resends: requests sent again (any reason below).
        corrupt_requests: requests the board received corrupt and said so.
        corrupt_answers: answers that reached the host corrupt (CRC, COBS, length).
        lost_answers: answers that did not come before their deadline.
        resyncs: times the board had lost the sequence (a restart) and got a HELLO.
        board: the board's info frame (board, sizes, model CRC-32, counter).
    """
    outputs: np.ndarray
    reference: np.ndarray
    board: dict
    accuracy: float | None
    reference_accuracy: float | None
    label_agreement: float
    byte_agreement: float
    mismatches: int
    instructions: np.ndarray | None
    seconds: np.ndarray
    stack_bytes: int | None = None
    resends: int = 0
    corrupt_requests: int = 0
    corrupt_answers: int = 0
    lost_answers: int = 0
    resyncs: int = 0

    @property
    def instructions_per_inference(self) -> float | None:
        """Mean of :attr:`instructions`, or None without a counter."""
        return None if self.instructions is None else float(np.mean(self.instructions))

    @property
    def seconds_per_inference(self) -> float:
        """Median of :attr:`seconds` (host round trip per input)."""
        return float(np.median(self.seconds)) if len(self.seconds) else 0.0

    def summary(self) -> str:
        n = len(self.outputs)
        acc = "" if self.accuracy is None else (f", accuracy {self.accuracy:.3f} on the board "
                                                f"(TFLM {self.reference_accuracy:.3f})")
        cost = (f"{self.instructions_per_inference:,.0f} instructions"
                if self.instructions is not None else f"{self.seconds_per_inference * 1e3:.1f} ms")
        if self.stack_bytes:
            cost += f" and {self.stack_bytes:,} B of stack"
        return (f"{n} inputs on {self.board.get('board', 'the board')}: {n - self.mismatches}/{n} "
                f"outputs byte-equal to TFLM, labels agree {self.label_agreement:.3f}{acc}; "
                f"{cost} per inference; {self.resends} resends ({self.corrupt_requests} corrupt "
                f"requests, {self.corrupt_answers} corrupt answers, {self.lost_answers} lost).")


def harness_sources(tfl, *, source="", kernels="dsp") -> dict:
    """The generated sources of a harness firmware for ``tfl``: ``tk_model.h/.c`` (the
    model as plain C, with the ``kernels`` of
    :func:`tinykit.deploy.cmodel.generate_c_model`: ``"dsp"`` or ``"plain"``) and
    ``tk_harness_model.h`` (the model's CRC-32, which the board reports so the host
    knows it runs this model). Any board's harness compiles them with
    ``boards/common/tk_frame.c`` and ``tk_link.c``.

    Raises:
        DeployError: the model uses an op the plain-C kernels lack.
    """
    return _harness(tfl, source, kernels)[0]


def _harness(tfl, source, kernels):
    """(harness_sources, the model's info from generate_c_model)."""
    from ..convert import as_model
    model = as_model(tfl)
    source = source or model.source
    header, csrc, info = generate_c_model(model, source=source, kernels=kernels)
    crc = zlib.crc32(bytes(model))
    harness = codegen.header(
        "tk_harness_model.h",
        ["// CRC-32 (zlib) of the .tflite flatbuffer tk_model.c was generated from.",
         codegen.define("TK_HARNESS_MODEL_CRC32", f"{crc}u")],
        generator="tinykit.deploy.device.harness_sources", inputs=source, includes=())
    return {"tk_model.h": header, "tk_model.c": csrc, "tk_harness_model.h": harness}, info


class _Resync(Exception):
    """The board answered OUT_OF_SEQUENCE: it restarted, or lost the HELLO."""


class _Link:
    """One request in flight: send a frame, wait for its answer, resend on a deadline."""

    def __init__(self, port, timeout, retries, tamper):
        self.port, self.timeout, self.retries, self.tamper = port, timeout, retries, tamper
        self.decoder = FrameDecoder()
        self.seq = secrets.randbits(31)   # a stale answer of an earlier session never matches
        self.frames, self.pending = [], bytearray()
        self.resends = self.corrupt_requests = self.lost_answers = 0
        self.last_lines = []

    def _send(self, wire):
        if self.tamper:
            wire = self.tamper("to_device", wire)
        self.port.write(wire)
        self.port.flush()

    def _feed(self, data):
        if not self.tamper:
            self.frames += self.decoder.feed(data)
            return
        self.pending += data
        while (end := self.pending.find(b"\x00")) >= 0:
            wire = bytes(self.pending[:end + 1])
            del self.pending[:end + 1]
            self.frames += self.decoder.feed(self.tamper("from_device", wire))

    def _next(self, deadline, corrupt_before):
        """The next good frame; None at the deadline or when a corrupt one came in."""
        while not self.frames:
            if self.decoder.stats.corrupt > corrupt_before:
                return None
            if time.monotonic() >= deadline:
                return None
            data = self.port.read(max(1, self.port.in_waiting))
            if data:
                self._feed(data)
        return self.frames.pop(0)

    def request(self, type_, payload, what, *, timeout=None, attempts=None):
        """Send one request until it is answered; returns the answer."""
        seq = self.seq
        wire = encode_frame(type_, seq, payload)
        timeout = timeout or self.timeout
        attempts = attempts or self.retries + 1
        for attempt in range(attempts):
            if attempt:
                self.resends += 1
            self._send(wire)
            deadline = time.monotonic() + timeout
            corrupt = self.decoder.stats.corrupt
            while True:
                frame = self._next(deadline, corrupt)
                if frame is None:
                    if self.decoder.stats.corrupt == corrupt:
                        self.lost_answers += 1
                    break                           # resend
                answer = self._match(frame, type_, seq, what)
                if answer == "resend":
                    self.corrupt_requests += 1
                    break
                if answer is not None:
                    self.seq = (seq + 1) & 0xFFFFFFFF
                    return answer
        raise DeviceError(
            f"the board did not answer {what} after {attempts} attempts of {timeout:g} s "
            f"each ({self.lost_answers} answers lost, {self.decoder.stats.corrupt} corrupt, "
            f"{self.corrupt_requests} requests received corrupt): is it running the harness "
            f"firmware, on this port, at this baud rate? Raise timeout= if its inference "
            f"takes longer.", lines=self.last_lines)

    def _match(self, frame, type_, seq, what):
        """The answer to request ``seq``, "resend", or None (a stale frame: wait on)."""
        if type_ == TYPE_HELLO:
            if frame.type != TYPE_INFO:
                return None
            try:
                info = frame.info()
            except (ValueError, UnicodeDecodeError):
                return None
            self.last_lines = [json.dumps(info)]
            return info if info.get("hello_seq") == seq else None
        if frame.type != TYPE_ANSWER or len(frame.payload) < ANSWER.size:
            return None
        status, detail, stack, req, received, count = ANSWER.unpack_from(frame.payload)
        self.last_lines = [f"answer status={status} detail={detail} request={req} "
                           f"received={received}"]
        if req != seq:
            return None
        if status in CORRUPT:
            return "resend"
        if status == OUT_OF_SEQUENCE:
            raise _Resync()
        if status == BAD_REQUEST:
            raise DeviceError(f"the board rejected {what} as malformed (detail {detail}, it "
                              f"had {received} bytes of the input): does it run the harness "
                              f"for this model?", lines=self.last_lines)
        if status == MODEL_ERROR:
            raise DeviceError(f"the model on the board returned tk_status {detail} for "
                              f"{what}.", lines=self.last_lines)
        if status != OK:
            raise DeviceError(f"the board answered {what} with status {status}, which "
                              f"this tinykit does not know.", lines=self.last_lines)
        return received, count, stack, frame.payload[ANSWER.size:]


def _labels(values, n):
    v = np.asarray(values)
    return v.reshape(n, -1).argmax(axis=1) if v.ndim > 1 and v.shape[-1] > 1 else v.reshape(n)


def evaluate_on_device(url, model, x, y=None, *, timeout=5.0, retries=3, connect_timeout=10.0,
                       baudrate=115200, tamper=None) -> DeviceEvaluation:
    """Stream ``x`` through a board running the harness firmware for ``model``.

    Args:
        url: the board's port, anything :func:`tinykit.capture.open_port` opens:
            ``/dev/ttyACM0``, ``socket://127.0.0.1:PORT`` (the emulated board,
            :func:`tinykit.deploy.emulated.boot_harness`), ``rfc2217://...``.
        model: the int8 model (``tinykit.convert.to_int8``, or .tflite bytes) the
            board's harness was built for.
        x: float inputs, quantized with the model's input scale as on the device.
        y: labels (class indices or one-hot) for the on-device accuracy, or None.
        timeout: seconds to wait for each answer (the inference included) before
            sending the request again.
        retries: times one request is sent again before giving up.
        connect_timeout: seconds for the board's first answer (its info), asked for
            every second: a real board may reset when its port opens, QEMU may hold
            the first bytes back for a while.
        baudrate: of a real serial port (the emulated board ignores it).
        tamper: for tests, ``tamper(direction, wire) -> bytes`` sees every encoded
            frame (``"to_device"`` or ``"from_device"``, its 0x00 included) and
            returns what goes on (``b""`` loses it).

    Returns:
        A :class:`DeviceEvaluation`: the board's outputs, their agreement with TFLite
        Micro (bytes and labels), the accuracy with ``y``, instructions (or host
        seconds) per inference and the resends it took.

    Raises:
        ParameterError: a bad ``timeout``/``retries``, or ``y`` of another length.
        CaptureError: the port cannot be opened.
        DeviceError: the board does not answer within ``retries + 1`` deadlines, runs
            another model (its sizes or CRC-32 differ) or reports an error.

    Example:
        >>> with emulated.boot_harness(tfl) as board:  # doctest: +SKIP
        ...     check = evaluate_on_device(board.url, tfl, x_test, y_test)
        >>> check.mismatches, check.accuracy  # doctest: +SKIP
        (0, 0.92)
    """
    from ..convert import as_model
    model = as_model(model)
    if not (timeout > 0 and connect_timeout > 0) or int(retries) != retries or retries < 0:
        raise ParameterError(f"timeout={timeout!r}, connect_timeout={connect_timeout!r}, "
                             f"retries={retries!r}: expected seconds > 0 and a whole number "
                             f"of retries >= 0.")
    q = np.asarray(model.quantize(x))
    n = len(q)
    if model.input.dtype != "int8" or model.output.dtype != "int8":
        raise ParameterError(f"the harness runs int8 models; this one takes {model.input.dtype} "
                             f"and gives {model.output.dtype} (convert with to_int8).")
    if y is not None and len(y) != n:
        raise ParameterError(f"y has {len(y)} labels for {n} inputs; expected one per input.")
    rows = q.reshape(n, -1).view(np.uint8)
    out_shape = model.output.shape[1:]
    out_size = int(np.prod(out_shape))
    if out_size + ANSWER.size > MAX_PAYLOAD:
        raise ParameterError(f"the model has {out_size} output values; an answer frame holds "
                             f"at most {MAX_PAYLOAD - ANSWER.size}.")
    outputs = np.zeros((n, out_size), np.int8)
    counts = np.zeros(n, np.uint64)
    stacks = np.zeros(n, np.int64)
    seconds = np.zeros(n)
    resyncs = 0
    with open_port(url, baudrate=baudrate, timeout=min(0.05, timeout)) as port:
        link = _Link(port, float(timeout), int(retries), tamper)
        link._send(b"\x00")                     # ends whatever the board has half read

        def hello():
            every = min(float(timeout), 1.0)
            info = link.request(TYPE_HELLO, b"", "HELLO", timeout=every,
                                attempts=max(1, math.ceil(connect_timeout / every)))
            _check_board(info, rows.shape[1], out_size, model)
            return info

        info = hello()
        link.resends = link.lost_answers = 0    # count the test set's, not the wait for the board
        chunk = int(info["max_payload"]) - OFFSET.size
        i = 0
        while i < n:
            t0 = time.perf_counter()
            try:
                for start in range(0, rows.shape[1], chunk):
                    got = link.request(TYPE_INPUT, OFFSET.pack(start)
                                       + rows[i, start:start + chunk].tobytes(), f"input {i}")
            except _Resync:
                resyncs += 1
                if resyncs > retries:
                    raise DeviceError(f"the board lost the sequence {resyncs} times (it "
                                      f"restarts?) at input {i}.", lines=link.last_lines) from None
                info = hello()
                continue
            received, count, stacks[i], raw = got
            if received != rows.shape[1] or len(raw) != out_size:
                raise DeviceError(f"the board answered input {i} with {len(raw)} output "
                                  f"bytes after receiving {received}; expected {out_size} "
                                  f"after {rows.shape[1]}.", lines=link.last_lines)
            outputs[i] = np.frombuffer(raw, np.int8)
            counts[i], seconds[i] = count, time.perf_counter() - t0
            i += 1
    outputs = outputs.reshape((n,) + out_shape)
    reference = model.run(x, on="tflm").reshape((n,) + out_shape)
    same = (outputs.reshape(n, -1) == reference.reshape(n, -1)).all(axis=1)
    labels, ref_labels = _labels(outputs, n), _labels(reference, n)
    accuracy = ref_accuracy = None
    if y is not None:
        truth = _labels(y, n)
        accuracy = float(np.mean(labels == truth)) if n else 0.0
        ref_accuracy = float(np.mean(ref_labels == truth)) if n else 0.0
    counter = info.get("counter") == "instructions"
    return DeviceEvaluation(
        outputs=outputs, reference=reference, accuracy=accuracy,
        reference_accuracy=ref_accuracy,
        label_agreement=float(np.mean(labels == ref_labels)) if n else 1.0,
        byte_agreement=float(np.mean(same)) if n else 1.0, mismatches=int((~same).sum()),
        instructions=counts if counter else None, seconds=seconds,
        stack_bytes=int(stacks.max()) if n and stacks.max() > 0 else None, resends=link.resends,
        corrupt_requests=link.corrupt_requests, corrupt_answers=link.decoder.stats.corrupt,
        lost_answers=link.lost_answers, resyncs=resyncs, board=info)


def _check_board(info, input_size, output_size, model):
    crc = zlib.crc32(bytes(model))
    found = (info.get("input_size"), info.get("output_size"), info.get("model_crc32"))
    if info.get("protocol") != PROTOCOL or int(info.get("max_payload", 0)) <= OFFSET.size:
        raise DeviceError(f"the board speaks protocol {info.get('protocol')!r} with "
                          f"max_payload {info.get('max_payload')!r}; this tinykit speaks "
                          f"{PROTOCOL}: rebuild its harness firmware.", lines=[json.dumps(info)])
    if found != (input_size, output_size, crc):
        raise DeviceError(f"the board runs another model: input {found[0]}, output {found[1]} "
                          f"bytes, CRC-32 {found[2]}; this one has {input_size}, {output_size}, "
                          f"{crc}. Build and flash the harness for this model "
                          f"(tinykit.deploy.device.harness_sources).", lines=[json.dumps(info)])
