"""The emulated board: capture firmware for QEMU's mps2-an386, built and booted.

The firmware (``boards/mps2-an386/capture/``, C, bare metal) streams recorded sensor
data compiled into it over UART0, with the same protocols as a real board: IMU
gestures as IMU_Capture CSV, audio as COBS/CRC-32 frames. :func:`start` builds it
and boots it in QEMU through :mod:`tinykit.deploy.emulated` (which drives the board
from its ``board.toml``); capture from the URL it returns like from any port::

    with tinykit.capture.start_emulator("imu") as emu:
        tinykit.capture.record(emu.url, label="Revelio", out="data", gestures=5)

Generate the compiled-in data by hand with
``python -m tinykit.capture.emulator data --kind imu --out imu_data.c``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..deploy import codegen, emulated
from ..errors import CaptureError
from . import frames, sim
from .imu_lines import HEADER_LINE, gesture_text, milli

BOARD = emulated.BOARD


# -- the data compiled in ----------------------------------------------------------
def _gestures(data):
    if data is None or isinstance(data, (str, Path)):
        return sim.load_gestures(data)
    g = np.asarray(data, dtype=np.float64)
    if g.ndim != 3 or g.shape[1:] != (119, 6):
        raise CaptureError(f"IMU data for the firmware has shape {g.shape}; expected "
                           f"(gestures, 119, 6) or an IMU_Capture CSV file/folder.")
    return g


def _pcm(data):
    if data is None:
        return sim.synthetic_audio(1.0), sim.AUDIO_RATE
    if isinstance(data, (str, Path)):
        return sim.load_wav(data)
    return np.asarray(data, dtype=np.int16), sim.AUDIO_RATE


def data_c(kind="imu", data=None, source="") -> str:
    """C source defining the data compiled into the firmware (see ``capture_data.h``).

    ``kind="imu"``: gestures from an IMU_Capture CSV file or folder (default: bundled
    magic_wand training set) or an array (n, 119, 6). ``kind="audio"``: int16 samples
    from a 16-bit mono WAV file or an array (default: a generated 1 s test tone).
    """
    if source or isinstance(data, (str, Path)):
        origin = str(source or data)
    elif data is not None:
        origin = f"an array of shape {np.shape(data)}"
    else:
        origin = ("the bundled magic_wand training gestures" if kind == "imu"
                  else "a generated 1 s test tone")
    if kind == "imu":
        g = _gestures(data)
        values = [milli(v) for v in g.reshape(-1)]
        parts = [codegen.constant("uint32_t", "imu_gesture_count", len(g)),
                 codegen.array("int32_t", "imu_milli", values, size=max(1, len(values))),
                 codegen.constant("uint32_t", "audio_rate", 0),
                 codegen.constant("uint32_t", "audio_sample_count", 0),
                 codegen.array("int16_t", "audio_pcm", [0])]
    elif kind == "audio":
        pcm, rate = _pcm(data)
        parts = [codegen.constant("uint32_t", "imu_gesture_count", 0),
                 codegen.array("int32_t", "imu_milli", [0]),
                 codegen.constant("uint32_t", "audio_rate", int(rate)),
                 codegen.constant("uint32_t", "audio_sample_count", len(pcm)),
                 codegen.array("int16_t", "audio_pcm", pcm, size=max(1, len(pcm)), per_line=16)]
    else:
        raise CaptureError(f"kind={kind!r}; expected 'imu' or 'audio'.")
    return codegen.source(parts, generator="tinykit.capture.emulator.data_c",
                          inputs=f"{origin} (kind={kind})", includes=('"capture_data.h"',),
                          regenerate="regenerate it with python -m tinykit.capture.emulator data")


def expected_stream(kind="imu", data=None, loops=1, frame_samples=256) -> bytes:
    """The exact bytes the firmware sends (``loops`` passes, no corruption)."""
    if kind == "imu":
        g = _gestures(data)
        one = "".join(gesture_text(x) for x in g)
        return (HEADER_LINE + "\r\n" + one * loops).encode()
    pcm, rate = _pcm(data)
    out = b"\x00" + frames.info_frame(0, board=BOARD, rate=int(rate), format="s16le", channels=1,
                                      frame_samples=int(frame_samples))
    seq = 1
    for _ in range(loops):
        wire = frames.audio_frames(pcm, frame_samples, first_seq=seq)
        out += wire
        seq += -(-len(pcm) // frame_samples)
    return out


# -- build -------------------------------------------------------------------------
@dataclass
class Firmware:
    """A built capture firmware image."""
    elf: Path
    kind: str
    loops: int
    corrupt_every: int
    frame_samples: int
    rate: int = 16000
    pace: bool = False


def build(kind="imu", data=None, loops=1, corrupt_every=0, frame_samples=256, pace=False,
          build_dir=None, baud=115200) -> Firmware:
    """Build the capture firmware with ``data`` compiled in; cached by content.

    Args:
        kind: "imu" (IMU_Capture CSV) or "audio" (binary frames).
        data: see :func:`data_c`.
        loops: passes over the data, 0 = forever.
        corrupt_every: audio: flip one bit in every n-th frame (0: never).
        pace: send at the sensor rate (119 rows/s with 1 s between gestures; audio at
            its sample rate), timed by SysTick; otherwise as fast as the UART goes.
        build_dir: where to build (default: the per-user cache, see
            :func:`tinykit.deploy.emulated.build`).

    Raises:
        ToolNotFoundError: ``arm-none-eabi-gcc`` or ``make`` is missing.
        DeployError: the firmware sources are missing or do not compile.

    Example:
        >>> fw = build("imu")  # doctest: +SKIP
        >>> fw.elf.name  # doctest: +SKIP
        'capture.elf'
    """
    if kind not in ("imu", "audio"):
        raise CaptureError(f"kind={kind!r}; expected 'imu' or 'audio'.")
    if not 1 <= int(frame_samples) <= 512:
        raise CaptureError(f"frame_samples={frame_samples}; the firmware sends 1 to 512 "
                           f"samples per frame.")
    source = data_c(kind, data)
    rate = int(_pcm(data)[1]) if kind == "audio" else 119
    config = {f"CAPTURE_MODE_{kind}": 1, "LOOPS": int(loops),
              "CORRUPT_EVERY": int(corrupt_every), "PACE": int(bool(pace)),
              "FRAME_SAMPLES": int(frame_samples),
              "FRAME_SAMPLES_TEXT": codegen.c_string(str(int(frame_samples))),
              "AUDIO_RATE_TEXT": codegen.c_string(str(rate)), "BAUD": int(baud)}
    elf = emulated.build("capture", {"capture_data.c": source}, config=config,
                         build_dir=build_dir)
    return Firmware(elf, kind, loops, corrupt_every, frame_samples, rate, bool(pace))


# -- run ---------------------------------------------------------------------------
@dataclass
class Emulator:
    """A running QEMU with the capture firmware; ``url`` is where to capture from.

    With ``serial="tcp"`` QEMU holds the board in reset until the first connection,
    so nothing is lost; with ``serial="pty"`` the board is paused until
    :meth:`open` has opened the pty (QEMU drops pty output nobody reads).
    """
    url: str
    firmware: Firmware
    machine: emulated.Machine

    @property
    def process(self):
        """The QEMU process."""
        return self.machine.process

    @property
    def serial(self) -> str:
        return self.machine.serial

    @property
    def log(self) -> str:
        """What QEMU itself printed."""
        return self.machine.log

    def open(self, baudrate=115200, timeout=0.2):
        """Open the port and let the board run; returns the pyserial port."""
        from .ports import open_port
        port = open_port(self.url, baudrate=baudrate, timeout=timeout)
        self.resume()
        return port

    def resume(self):
        self.machine.resume()

    def close(self):
        """Stop QEMU (also done at interpreter exit for emulators left running)."""
        self.machine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start(kind="imu", data=None, serial="tcp", loops=1, corrupt_every=0, frame_samples=256,
          pace=False, timeout=20.0, firmware=None) -> Emulator:
    """Build the capture firmware (if needed) and boot it on the emulated board.

    Args:
        kind, data, loops, corrupt_every, frame_samples, pace: see :func:`build`.
        serial: "tcp" (URL ``socket://127.0.0.1:PORT``) or "pty" (URL ``/dev/pts/N``;
            call :meth:`Emulator.open`).
        timeout: seconds to wait for QEMU's serial connection to be there.
        firmware: an already built :class:`Firmware` (skips the build).

    Returns:
        An :class:`Emulator` (a context manager; ``close()`` stops QEMU).

    Raises:
        ToolNotFoundError: ``qemu-system-arm`` (or the compiler) is not installed.
        DeployError: QEMU did not start.

    Example:
        >>> with start("imu", loops=1) as emu:  # doctest: +SKIP
        ...     s = record(emu.url, label="Revelio", out="data", gestures=3)
    """
    if serial not in ("tcp", "pty"):
        raise CaptureError(f"serial={serial!r}; expected 'tcp' or 'pty'.")
    emulated.require_emulator()
    fw = firmware or build(kind, data, loops=loops, corrupt_every=corrupt_every,
                           frame_samples=frame_samples, pace=pace)
    machine = emulated.boot(fw.elf, serial=serial, timeout=timeout)
    return Emulator(machine.url, fw, machine)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tinykit.capture.emulator",
                                 description="Generate the capture firmware's data, or build and boot it.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="write the C file of compiled-in data")
    d.add_argument("--kind", choices=["imu", "audio"], default="imu")
    d.add_argument("--data", help="IMU_Capture CSV file/folder, or 16-bit mono WAV")
    d.add_argument("--out", required=True)
    r = sub.add_parser("run", help="build, boot, print the URL, wait for Ctrl-C")
    r.add_argument("--kind", choices=["imu", "audio"], default="imu")
    r.add_argument("--data")
    r.add_argument("--serial", choices=["tcp", "pty"], default="tcp")
    r.add_argument("--loops", type=int, default=0)
    r.add_argument("--pace", action="store_true", help="send at the sensor rate")
    args = ap.parse_args(argv)
    if args.cmd == "data":
        Path(args.out).write_text(data_c(args.kind, args.data, source=args.data or ""))
        print(f"wrote {args.out}")
        return
    with start(args.kind, args.data, serial=args.serial, loops=args.loops, pace=args.pace) as emu:
        print(f"capture from {emu.url}  (Ctrl-C stops QEMU)")
        emu.resume()
        try:
            emu.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
