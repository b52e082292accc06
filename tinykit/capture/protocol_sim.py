"""pyserial URL handler for ``sim://``: a simulated board behind a serial port.

``import tinykit.capture`` registers it, then pyserial opens it like any port::

    serial.serial_for_url("sim://imu?data=datasets/magic_wand/train/Revelio.csv")
    serial.serial_for_url("sim://audio?data=yes.wav&speed=max")

``sim://imu`` prints IMU_Capture CSV (see :func:`tinykit.capture.sim.imu_stream`);
``sim://audio`` sends the binary framed protocol. Options (query string):

==========  ===================================================================
data        CSV file or folder (imu), 16-bit mono WAV (audio); default: bundled
            magic_wand gestures, or a generated 1 s test tone
label       with a folder: play only ``<folder>/<label>.csv``
rate        samples per second (default 119 imu, 16000 audio)
speed       pace multiplier: 1 is real time (default), 10 ten times faster,
            ``max`` as fast as the reader reads
loops       passes over the data, 0 = forever (default)
gap         imu: seconds between gestures (default 1.0)
mode        imu: ``capture`` (IMU_Capture, default) or ``stream`` (continuous rows)
frame       audio: samples per frame (default 256)
seconds     audio: length of the generated test tone (default 1.0)
corrupt     probability per line/frame of a damaged byte (flipped bit for frames)
garbage     probability per line/frame of a burst of random bytes before it
seed        seed of the corruption (default 0)
unplug      raise SerialException (as an unplugged board does) after this many bytes
==========  ===================================================================
"""
from __future__ import annotations

import random
import time
import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from . import sim

_OPTIONS = {"data", "label", "rate", "speed", "loops", "gap", "mode", "frame", "seconds",
            "corrupt", "garbage", "seed", "unplug", "board"}


class Serial(SerialBase):
    """A serial port whose far end is a simulated board (see module docstring)."""

    BAUDRATES = SerialBase.BAUDRATES + (230400, 460800, 921600, 1000000, 2000000)

    def __init__(self, *args, **kwargs):
        self._stream = None
        self._pending = b""
        self._pending_due = 0.0
        self._t0 = 0.0
        self._speed = 1.0
        self._rng = random.Random(0)
        self._corrupt = 0.0
        self._garbage = 0.0
        self._unplug = None
        self.kind = None
        self.options = {}
        self.bytes_sent = 0
        self.injected = 0
        self.ended = False
        super().__init__(*args, **kwargs)

    # -- pyserial plumbing -------------------------------------------------------
    def open(self):
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self._configure(self._port)
        self._t0 = time.monotonic()
        self.is_open = True

    def close(self):
        self.is_open = False
        self._stream = None
        super().close()

    def _reconfigure_port(self, *args, **kwargs):
        pass

    def _update_rts_state(self):
        pass

    def _update_dtr_state(self):
        pass

    def _update_break_state(self):
        pass

    @property
    def cts(self):
        return True

    @property
    def dsr(self):
        return True

    @property
    def ri(self):
        return False

    @property
    def cd(self):
        return True

    # -- the simulated board -----------------------------------------------------
    def _configure(self, url):
        parts = urllib.parse.urlsplit(url)
        usage = ("expected sim://imu?data=<file.csv|folder>&rate=119&speed=1 or "
                 "sim://audio?data=<file.wav>&rate=16000&speed=1")
        if parts.scheme != "sim" or parts.netloc not in ("imu", "audio"):
            raise SerialException(f"{url!r}: {usage}")
        opts = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = sorted(set(opts) - _OPTIONS)
        if unknown:
            raise SerialException(f"{url!r}: unknown option(s) {unknown}; known: {sorted(_OPTIONS)}")
        self.kind, self.options = parts.netloc, opts
        try:
            speed = opts.get("speed", "1")
            self._speed = 0.0 if speed in ("max", "0", "inf") else float(speed)
            loops = int(opts.get("loops", 0))
            self._corrupt = float(opts.get("corrupt", 0))
            self._garbage = float(opts.get("garbage", 0))
            self._rng = random.Random(int(opts.get("seed", 0)))
            self._unplug = int(opts["unplug"]) if "unplug" in opts else None
            if self.kind == "imu":
                gestures = sim.load_gestures(opts.get("data") or None, opts.get("label") or None)
                self._stream = sim.imu_stream(gestures, rate=float(opts.get("rate", sim.IMU_RATE)),
                                              gap=float(opts.get("gap", 1.0)), loops=loops,
                                              mode=opts.get("mode", "capture"))
            else:
                if opts.get("data"):
                    pcm, rate = sim.load_wav(opts["data"])
                else:
                    rate = sim.AUDIO_RATE
                    pcm = sim.synthetic_audio(float(opts.get("seconds", 1.0)), rate)
                rate = int(opts.get("rate", rate))
                self._stream = sim.audio_stream(pcm, rate=rate, loops=loops,
                                                frame_samples=int(opts.get("frame", sim.FRAME_SAMPLES)),
                                                board=opts.get("board", "sim"))
        except ValueError as e:
            raise SerialException(f"{url!r}: bad option value ({e}); {usage}") from None

    def _next_chunk(self):
        """Pull the next chunk from the stream, damaged as the options ask."""
        try:
            t, data = next(self._stream)
        except StopIteration:
            self.ended = True
            return False
        rng = self._rng
        if self._corrupt and rng.random() < self._corrupt and len(data) > 2:
            data = bytearray(data)
            i = rng.randrange(len(data) - 2)          # leave the line ending / delimiter
            if self.kind == "audio":
                data[i] ^= 1 << rng.randrange(8)
            else:
                data[i] = rng.randrange(0x80, 0x100)  # a byte no CSV line may contain
            data = bytes(data)
            self.injected += 1
        if self._garbage and rng.random() < self._garbage:
            junk = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
            data = junk + (b"\x00" if self.kind == "audio" else b"\r\n") + data
            self.injected += 1
        self._pending, self._pending_due = data, t
        return True

    def _due(self, t):
        return self._t0 + t / self._speed if self._speed else 0.0

    @property
    def in_waiting(self):
        if not self.is_open:
            raise PortNotOpenError()
        if not self._pending and not self.ended:
            self._next_chunk()
        return len(self._pending) if self._due(self._pending_due) <= time.monotonic() else 0

    def read(self, size=1):
        if not self.is_open:
            raise PortNotOpenError()
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        out = bytearray()
        while len(out) < size:
            if self._unplug is not None and self.bytes_sent >= self._unplug:
                if out:
                    break
                raise SerialException("device reports readiness to read but returned no data "
                                      "(device disconnected or multiple access on port?)")
            if not self._pending and (self.ended or not self._next_chunk()):
                # The board has nothing more to say: wait out the timeout.
                if deadline is not None:
                    time.sleep(max(0.0, deadline - time.monotonic()))
                break
            due = self._due(self._pending_due)
            now = time.monotonic()
            if due > now:
                if out and timeout == 0:
                    break
                if deadline is not None and due > deadline:
                    time.sleep(max(0.0, deadline - now))
                    break
                time.sleep(due - now)
            n = size - len(out)
            if self._unplug is not None:
                n = min(n, self._unplug - self.bytes_sent)
            take = self._pending[:n]
            out += take
            self._pending = self._pending[len(take):]
            self.bytes_sent += len(take)
        return bytes(out)

    def write(self, data):
        if not self.is_open:
            raise PortNotOpenError()
        return len(data)             # the simulated board ignores what it is sent

    def reset_input_buffer(self):
        if not self.is_open:
            raise PortNotOpenError()

    def reset_output_buffer(self):
        if not self.is_open:
            raise PortNotOpenError()

    @property
    def out_waiting(self):
        return 0
