"""The emulated board: QEMU's ``mps2-an386`` (a Cortex-M4F), driven from its description.

Every board whose board.toml has a ``[run]`` table is driven the same way: the other
MPS2 stand-ins, and real boards QEMU emulates as they are (``netduinoplus2``,
``microbit``), whose firmware is the stand-in's with their own port (``port`` in
board.toml: UART driver, clocks, pins).

``boards/mps2-an386/board.toml`` says how: the compiler flags of its CPU
(``cpu_flags``), its clock and UART0 (``clock_hz``, ``[uart0]``: written into every
build's generated ``firmware_config.h``), its firmware (``[firmware]``: ``capture``,
``harness``, ..., a folder with a Makefile each) and how QEMU boots an ELF (``[run]``).
This module is the one place that builds and boots them::

    elf = build("capture", sources)            # make in a build folder, cached by content
    with boot(elf) as board:                   # QEMU, UART0 on stdio ("tcp", "pty")
        lines = board.read_until("done", timeout=60)

and runs an int8 model on the board, to compare what the device computes with the
TFLite Micro interpreter: the harness firmware gets the inputs over its UART, as a real
board does (:func:`tinykit.deploy.evaluate_on_device`)::

    device = run(tfl, x_test)
    (device.outputs == tinykit.convert.run_tflm(tfl, x_test)).all()

or, in steps, ``board = tinykit.deploy.flash(generate_project(tfl))`` and
``evaluate_on_device(board.url, tfl, x_test)``.

Builds go to ``build_dir`` when one is given, else to a per-user cache
(``$TINYKIT_CACHE``, ``$XDG_CACHE_HOME/tinykit`` or ``~/.cache/tinykit``), never into the
board's folder. Reading the board never blocks past its timeout: a firmware that
faults prints a ``FAULT`` line (``capture/startup.c``) and :class:`DeviceError` says
where and why; one that hangs raises DeviceError at the timeout.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._resources import runtime_dir
from .._tools import require_tool, run_tool
from ..errors import DeployError, DeviceError, ParameterError
from . import codegen
from .boards import board as get_board
from .boards import boards
from .project import Project

BOARD = "mps2-an386"
CROSS = "arm-none-eabi-"
COMMON = "common"                # boards/common: C shared by every firmware
SERIALS = ("stdio", "tcp", "pty")

# What QEMU prints once the serial connection is there (tcp: on stderr; pty: on stdout).
_READY = {"tcp": re.compile(rb"waiting for connection"),
          "pty": re.compile(rb"char device redirected to (\S+)")}
# Lines after which the firmware prints nothing useful: a fault report (startup.c) or
# an error line.
_STOP = rb"(?:FAULT|error)\b[^\r\n]*"
_MAX_OUTPUT = 64 << 20          # bytes of UART output read_until keeps at most


@dataclass
class DeviceRun:
    """Outputs the emulated board computed, and what it took.

    ``instructions`` holds the instructions each inference took (one per input, QEMU
    ``-icount``: exact, and the same on every run), counted by the firmware's own timer
    (``boards/common/tk_cycles.h``) around the model's invoke call; ``stack_bytes`` the
    most stack one inference used (measured by the harness: it paints the stack);
    ``arena_used_bytes`` what the interpreter used of its tensor arena, for firmware
    that has one and says so (``tflm_infer``), else None.
    """
    outputs: np.ndarray
    elf: Path
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    build_seconds: float
    run_seconds: float
    instructions: np.ndarray = None
    stack_bytes: int = 0
    arena_used_bytes: int = None

    @property
    def ram_bytes(self) -> int:
        """RAM the firmware needs: .data + .bss (the model's arena among them) and the
        stack the inference used."""
        return self.data_bytes + self.bss_bytes + self.stack_bytes


def emulated_board(name=BOARD):
    """The :class:`~tinykit.deploy.boards.Board` ``name``, if QEMU emulates it (its
    board.toml has a ``[run]`` table): the stand-ins ``mps2-an386`` (Cortex-M4F),
    ``mps2-an385`` (M3), ``mps2-an500`` (M7), ``mps2-an505`` (M33), flashed by booting
    them (flasher ``"qemu"``), and real boards QEMU emulates as they are
    (``netduinoplus2``: STM32F405, M4F; ``microbit``: nRF51822, M0), whose flasher is
    their real tool."""
    b = get_board(name)
    if not b.run.get("emulator"):
        raise DeployError(f"board {b.name!r} is not emulated (its board.toml has no [run] "
                          f"table); emulated boards: {emulated_boards()}.")
    return b


def emulated_boards() -> list:
    """Names of the boards QEMU emulates (a ``[run]`` table in their board.toml)."""
    return [n for n in boards() if get_board(n).run.get("emulator")]


def require_emulator() -> str:
    """The path of the board's emulator (``qemu-system-arm``), or ToolNotFoundError
    saying how to install it."""
    return require_tool(get_board(BOARD).run["emulator"])


# -- build -------------------------------------------------------------------------
def _cache_root() -> Path:
    if os.environ.get("TINYKIT_CACHE"):
        return Path(os.environ["TINYKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinykit"


def _config_header(b, config) -> str:
    uart = dict(b.extra.get("uart0", {}))
    if not b.clock_hz or "base" not in uart:
        raise DeployError(f"{b.folder / 'board.toml'} needs clock_hz and a [uart0] table with "
                          f"base and the register offsets.")
    board_part = [codegen.define("BOARD_NAME", codegen.c_string(b.name)),
                  codegen.define("BOARD_CLOCK_HZ", f"{int(b.clock_hz)}u"),
                  codegen.define("UART0_BASE", f"0x{int(uart.pop('base')):08x}u")]
    board_part += [codegen.define(f"UART0_{k.upper()}", f"{int(v)}u") if k.endswith("_pin")
                   else codegen.define(f"UART0_{k.upper()}_OFFSET", f"0x{int(v):02x}u")
                   for k, v in uart.items()]     # register offsets, and pins (tx_pin)
    timer = b.extra.get("timer0", {})
    if "base" in timer:
        board_part.append(codegen.define("TK_TIMER0_BASE", f"0x{int(timer['base']):08x}u"))
    if "clock_hz" in timer:            # the rate the timer counts at, after its prescaler
        prescaler = int(timer.get("prescaler", 1))
        board_part += [codegen.define("TK_TIMER0_HZ", f"{int(timer['clock_hz']) // prescaler}u"),
                       codegen.define("TK_TIMER0_PRESCALER", f"{prescaler}u")]
    if "kind" in timer:
        board_part.append(codegen.define(f"TK_TIMER0_KIND_{timer['kind'].upper()}", 1))
    build_part = [codegen.define(k, v) for k, v in config.items()]
    parts = ["// The board (clock_hz, [uart0], [timer0]).\n" + "\n".join(board_part)]
    if build_part:
        parts.append("// This build's settings.\n" + "\n".join(build_part))
    return codegen.header("firmware_config.h", parts, generator="tinykit.deploy.emulated.build",
                          inputs=f"{b.name}/board.toml and the build's settings", includes=())


def _memory_map(b) -> str:
    """The linker script's MEMORY (included by the firmware's own script) from board.toml:
    code and constants at flash_origin, data and stack at ram_origin; the stack's size
    (TK_STACK_BYTES) when board.toml has stack_bytes (else the script's 16 KB)."""
    for key in ("flash_origin", "flash_bytes", "ram_origin", "ram_bytes"):
        if key not in b.extra and not getattr(b, key, 0):
            raise DeployError(f"{b.folder / 'board.toml'} needs {key} (the memory map).")
    flash = (int(b.extra["flash_origin"]), int(b.flash_bytes))
    ram = (int(b.extra["ram_origin"]), int(b.ram_bytes))
    text = codegen.banner("tinykit.deploy.emulated.build", f"{b.name}/board.toml")
    stack = (f"TK_STACK_BYTES = {int(b.extra['stack_bytes'])};\n"
             if "stack_bytes" in b.extra else "")
    return ("/*\n" + text.replace("// ", " * ") + " */\nMEMORY\n{\n"
            f"  FLASH (rx)  : ORIGIN = 0x{flash[0]:08x}, LENGTH = {flash[1]}\n"
            f"  RAM   (rwx) : ORIGIN = 0x{ram[0]:08x}, LENGTH = {ram[1]}\n}}\n" + stack)


def _make_vars(b) -> dict:
    """What make needs besides GEN, BUILD and RUNTIME: the CPU flags, and the board's
    port (its own UART driver, startup, linker script) when board.toml names one."""
    make_vars = {"CPU": " ".join(b.cpu_flags)}
    if "port" in b.extra:
        make_vars["PORT"] = str((b.folder / b.extra["port"]).resolve())
    return make_vars


def _project_makefile(b, firmware) -> str:
    """A Makefile for a generated project: ``make`` builds the board's ``firmware``
    with the project's sources, as :func:`build` does, into ``build/``."""
    makefile = os.path.normpath(b.firmware_dir(firmware) / "Makefile")
    args = [f"{k}={shlex.quote(v)}" for k, v in
            {"RUNTIME": str(runtime_dir()), **_make_vars(b)}.items()]
    text = codegen.banner("tinykit.deploy.emulated.generate_project", f"{b.name}/board.toml")
    return (text.replace("// ", "# ") +
            f"# make: the {firmware} firmware for the {b.title},\n"
            f"# built with arm-none-eabi-gcc (Debian's gcc-arm-none-eabi) from this folder's\n"
            f"# sources into build/: {firmware}.elf (QEMU, GDB), {firmware}.bin (dfu-util,\n"
            f"# OpenOCD), {firmware}.hex (a DAPLink drive).\n"
            f".PHONY: all clean\nall:\n\t$(MAKE) -f {shlex.quote(makefile)} "
            f"GEN=\"$(CURDIR)\" BUILD=\"$(CURDIR)/build\" {' '.join(args)}\n"
            f"clean:\n\trm -rf build\n")


def _digest(files, make_vars, folders) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\0{files[name]}\0".encode())
    for key in sorted(make_vars):
        h.update(f"{key}={make_vars[key]}\0".encode())
    for folder in folders:
        for f in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            h.update(f"{f.relative_to(folder)}\0".encode() + f.read_bytes())
    return h.hexdigest()[:16]


def build(firmware, sources, *, config=None, build_dir=None, board=BOARD) -> Path:
    """Build the board's ``firmware`` with ``sources`` compiled in; returns the ELF.

    The build runs ``make -f boards/mps2-an386/<firmware>/Makefile`` in a folder of its
    own named by a hash of everything that goes in (sources, settings, the board's
    files, tinykit's C kernels): the same inputs give the same folder, built once.

    Args:
        firmware: a firmware of the board (board.toml ``[firmware]``): ``"capture"`` or
            ``"harness"``.
        sources: generated files, ``{filename: text}``; the Makefile compiles every
            ``.c`` among them.
        config: ``#define`` s of the firmware (``{"LOOPS": 1}``), written with the
            board's clock and UART0 into the generated ``firmware_config.h``.
        build_dir: parent folder of the build (default: the per-user cache).
        board: the emulated board to build for (its ``cpu_flags`` and firmware).

    Returns:
        The ELF, ``<build_dir>/<firmware>-<hash>/<firmware>.elf``.

    Raises:
        ToolNotFoundError: ``arm-none-eabi-gcc`` or ``make`` is missing.
        DeployError: an unknown firmware, or the build failed (with the compiler's
            last lines; the sources are kept in the ``.failed`` folder it names).

    Example:
        >>> elf = build("capture", {"capture_data.c": data_c("imu")},
        ...             config={"CAPTURE_MODE_imu": 1})  # doctest: +SKIP
    """
    b = emulated_board(board)
    makefile = b.firmware_dir(firmware) / "Makefile"
    if not makefile.is_file():
        raise DeployError(f"{makefile} not found: the {firmware} firmware of {b.name} is "
                          f"missing from this tinykit installation.")
    files = dict(sources)
    files["firmware_config.h"] = _config_header(b, dict(config or {}))
    files["memory.ld"] = _memory_map(b)
    make_vars = _make_vars(b)
    folders = dict.fromkeys([b.folder, makefile.parent.parent, b.folder.parent / COMMON,
                             runtime_dir()])      # the board's, its firmware's, shared C
    key = f"{firmware}-{_digest(files, make_vars, folders)}"
    root = (Path(build_dir) if build_dir else _cache_root() / "build" / b.name).resolve()
    out = root / key
    elf = out / f"{firmware}.elf"
    if elf.is_file():
        return elf
    require_tool(CROSS + "gcc")
    make = require_tool("make")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        codegen.write(tmp / "gen", files)
        cmd = [make, "-f", str(makefile), f"GEN={tmp / 'gen'}", f"BUILD={tmp}",
               f"RUNTIME={runtime_dir()}", *(f"{k}={v}" for k, v in make_vars.items())]
        result = run_tool(cmd, what=f"building the {firmware} firmware", timeout=600, cwd=tmp,
                     check=False)
        if result.returncode != 0 or not (tmp / elf.name).is_file():
            failed = root / f"{key}.failed"
            shutil.rmtree(failed, ignore_errors=True)
            tmp.rename(failed)
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise DeployError(f"building the {firmware} firmware for {b.name} failed "
                              f"(sources in {failed}):\n{tail}")
        try:
            tmp.rename(out)
        except OSError:
            if not elf.is_file():           # not another process's build of the same
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return elf


# -- boot --------------------------------------------------------------------------
class Machine:
    """QEMU running one firmware image, from :func:`boot`; a context manager.

    Attributes:
        url: where UART0 is: ``socket://127.0.0.1:PORT`` (tcp), ``/dev/pts/N`` (pty);
            None for stdio, read with :meth:`read_until`.
        serial: ``"stdio"``, ``"tcp"`` or ``"pty"``.
        elf: the firmware image.
        process: the QEMU process.
    """

    def __init__(self, cmd, serial, elf, board=BOARD):
        self.serial, self.elf, self.url, self.board = serial, Path(elf), None, board
        self._paused = False
        self._cond = threading.Condition()
        self._out, self._err, self._open = bytearray(), bytearray(), 2
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self._pumps = [threading.Thread(target=self._pump, args=(pipe, buf), daemon=True)
                       for pipe, buf in ((self.process.stdout, self._out),
                                         (self.process.stderr, self._err))]
        for t in self._pumps:
            t.start()
        _running.add(self)

    def _pump(self, pipe, buf):
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    buf += chunk
                else:
                    self._open -= 1
                self._cond.notify_all()
            if not chunk:
                return

    def _wait(self, found, deadline):
        """``found()`` (called with the lock held) once it is true; None when QEMU has
        exited or the deadline has passed."""
        with self._cond:
            while True:
                result = found()
                if result or self._open == 0:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    @property
    def log(self) -> str:
        """What QEMU itself printed (its stderr, and its stdout unless UART0 is there)."""
        with self._cond:
            text = bytes(self._err) if self.serial == "stdio" else bytes(self._out + self._err)
        return text.decode("utf-8", "replace")

    def resume(self):
        """Let a board booted with ``serial="pty"`` run (it waits for the pty to be open)."""
        if self._paused:
            self.process.stdin.write(b"cont\n")
            self.process.stdin.flush()
            self._paused = False

    def read_until(self, pattern, timeout) -> list:
        """UART0's lines (``serial="stdio"``) up to the first one matching ``pattern``.

        Args:
            pattern: a regular expression a whole line must match (``"done"``).
            timeout: seconds to wait at most, from now.

        Returns:
            Every line the firmware printed, the matching one last.

        Raises:
            DeviceError: the firmware printed a ``FAULT`` (said where and why) or an
                ``error`` line, QEMU exited (with its stderr), or no line matched
                within ``timeout`` seconds. ``.lines`` holds the last lines printed.
        """
        if self.serial != "stdio":
            raise DeployError(f"read_until reads UART0 on stdio; this board's UART0 is at "
                              f"{self.url}: open it with tinykit.capture.open_port.")
        line = re.compile(rb"^(?:(?P<stop>" + _STOP + rb")|(?P<want>" + pattern.encode()
                          + rb"))\r?\n", re.M)
        deadline = time.monotonic() + timeout
        pos = [0]

        def found():
            match = line.search(self._out, pos[0])
            pos[0] = self._out.rfind(b"\n") + 1
            return match or len(self._out) > _MAX_OUTPUT

        match = self._wait(found, deadline)
        with self._cond:
            text = bytes(self._out[:match.end()] if isinstance(match, re.Match) else self._out)
        lines = [s.rstrip("\r") for s in text.decode("ascii", "replace").split("\n")]
        lines = lines[:-1] if lines and not lines[-1] else lines
        if isinstance(match, re.Match) and match.group("want") is not None:
            return lines
        if isinstance(match, re.Match):
            stop = match.group("stop").decode("ascii", "replace").strip()
            what = (f"faulted: {stop}{_explain_fault(stop, self.elf)}"
                    if stop.startswith("FAULT") else f"reported an error: {stop}")
        elif match:
            what = f"printed more than {_MAX_OUTPUT >> 20} MiB without a line matching {pattern!r}"
        elif self.process.poll() is not None or self._open == 0:
            try:
                code = self.process.wait(5)
            except subprocess.TimeoutExpired:       # its pipes closed, the process not yet
                code = "unknown"
            err = "\n".join(self.log.strip().splitlines()[:12])[:1500] or "(empty)"
            what = (f"stopped: QEMU exited (status {code}) before a line matching {pattern!r}"
                    f"; its stderr:\n{err}")
        else:
            what = (f"printed no line matching {pattern!r} within {timeout:g} s: it hangs, or "
                    f"needs a longer timeout")
        lines = [s for s in lines if s.strip()][-20:]
        shown = "\n".join(f"  | {s}" for s in lines[-8:]) or "  (nothing)"
        raise DeviceError(f"the emulated board ({self.elf.name}) {what}\nlast lines on "
                          f"UART0:\n{shown}", lines=lines)

    def close(self):
        """Stop QEMU (also done at interpreter exit for machines left running)."""
        _running.discard(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for t in self._pumps:
            t.join(2)               # they end at EOF, once QEMU has gone
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "running" if self.process.poll() is None else "stopped"
        return f"Machine({self.elf.name} on {self.board}, serial={self.serial}, {state})"


_running = set()


@atexit.register
def _close_all():
    for machine in list(_running):
        machine.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def icount_shift(board=BOARD) -> int:
    """The ``-icount shift=N`` of board.toml's ``[run] icount``: each instruction takes
    2^N ns of the emulated board's time (firmware gets it as ``TK_ICOUNT_SHIFT``)."""
    b = emulated_board(board)
    found = re.search(r"shift=(\d+)", " ".join(b.run.get("icount", [])))
    if not found:
        raise DeployError(f"{b.folder / 'board.toml'}: [run] icount needs a "
                          f"'-icount shift=N' to count instructions.")
    return int(found.group(1))


LOADERS = ("kernel", "gdb")


def boot(elf, *, serial="stdio", timeout=20.0, icount=False, board=BOARD,
         loader="kernel") -> Machine:
    """Boot ``elf`` on the emulated board, with UART0 on ``serial``.

    The command line is board.toml's ``[run]``: ``emulator``, ``args``, then the
    ``[run.serial]`` arguments of ``serial``. With ``loader="gdb"`` QEMU does not load
    the ELF (``args`` without ``-kernel {elf}``): it starts with empty memory, halted,
    its GDB stub on a free port (``[run] gdb``), and ``gdb-multiarch`` loads the ELF,
    resets the core and lets it run, as a debug probe would
    (:func:`tinykit.deploy.flash.gdb_load`).

    Args:
        elf: a firmware image (from :func:`build`).
        serial: ``"stdio"`` (read it with :meth:`Machine.read_until`), ``"tcp"`` (QEMU
            holds the board until a client connects to ``url``) or ``"pty"`` (the board
            is paused until :meth:`Machine.resume`, once the pty is open).
        timeout: seconds to wait for QEMU's tcp or pty connection to be there.
        icount: add board.toml's ``[run] icount`` arguments: the board's timers then
            count executed instructions (see :func:`icount_shift`).
        board: the emulated board (``elf`` must be built for it).
        loader: ``"kernel"`` (QEMU's ``-kernel``) or ``"gdb"`` (over QEMU's GDB stub;
            ``serial="stdio"`` or ``"tcp"``).

    Returns:
        A running :class:`Machine` (``close()`` stops it).

    Raises:
        ToolNotFoundError: ``qemu-system-arm`` (or, for ``loader="gdb"``,
            ``gdb-multiarch``) is not installed.
        DeployError: QEMU did not start (with what it printed), or the GDB load failed.

    Example:
        >>> with boot(elf) as board:  # doctest: +SKIP
        ...     lines = board.read_until("done", timeout=30)
    """
    if serial not in SERIALS:
        raise ParameterError(f"serial={serial!r}; expected one of {', '.join(SERIALS)}.")
    if loader not in LOADERS:
        raise ParameterError(f"loader={loader!r}; expected one of {', '.join(LOADERS)}.")
    if loader == "gdb" and serial == "pty":
        raise ParameterError(f"loader='gdb' boots with serial='stdio' or 'tcp' (a pty board "
                             f"waits for a monitor command); got {serial!r}.")
    if not Path(elf).is_file():
        raise DeployError(f"no firmware image at {elf}: build it first (build()).")
    b = emulated_board(board)
    qemu = require_tool(b.run["emulator"])
    if loader == "gdb":
        return _boot_over_gdb(b, qemu, elf, icount, serial)
    for _ in range(3):                          # a free port can be taken meanwhile
        values = {"elf": str(elf), "port": _free_port() if serial == "tcp" else ""}
        extra = list(b.run.get("icount", [])) if icount else []
        cmd = [qemu] + [a.format(**values)
                        for a in [*b.run["args"], *extra, *b.run["serial"][serial]]]
        machine = Machine(cmd, serial, elf, b.name)
        if serial == "stdio":
            return machine

        def found():
            return (_READY[serial].search(machine._out)
                    or _READY[serial].search(machine._err))
        ready = machine._wait(found, time.monotonic() + timeout)
        if ready:
            machine.url = (f"socket://127.0.0.1:{values['port']}" if serial == "tcp"
                           else ready.group(1).decode())
            machine._paused = serial == "pty"
            return machine
        log = machine.log
        machine.close()
        if "Address already in use" not in log:
            break
    raise DeployError(f"QEMU did not start ({' '.join(cmd)}):\n{log.strip()[-2000:]}")


def _boot_over_gdb(b, qemu, elf, icount, serial) -> Machine:
    """QEMU with empty memory, halted, its GDB stub on a free port; gdb-multiarch loads
    ``elf``, resets the core and detaches, and the board runs (UART0 on ``serial``:
    stdio, or a TCP server QEMU does not wait on, since it must reach its GDB stub)."""
    from .flash import gdb_load
    if "gdb" not in b.run:
        raise DeployError(f"{b.folder / 'board.toml'}: [run] needs gdb = [\"-S\", \"-gdb\", "
                          f"\"tcp:127.0.0.1:{{gdb_port}}\"] to boot over QEMU's GDB stub.")
    require_tool("gdb-multiarch")               # before QEMU starts, not after
    args = list(b.run["args"])
    if "{elf}" in args:                         # no -kernel: the memory starts empty
        at = args.index("{elf}")
        del args[at - 1 if at and args[at - 1] == "-kernel" else at:at + 1]
    extra = list(b.run.get("icount", [])) if icount else []
    for _ in range(3):                          # a free port can be taken meanwhile
        port, uart = _free_port(), _free_port() if serial == "tcp" else ""
        uart_args = [a.replace("wait=on", "wait=off") for a in b.run["serial"][serial]]
        cmd = [qemu] + [a.format(gdb_port=port, port=uart) for a in
                        [*args, *b.run["gdb"], *extra, *uart_args]]
        machine = Machine(cmd, serial, elf, b.name)
        machine.url = f"socket://127.0.0.1:{uart}" if serial == "tcp" else None
        try:
            gdb_load(elf, f"127.0.0.1:{port}", reset=b.run.get("gdb_reset",
                                                                "monitor system_reset"))
        except DeployError as e:
            log = machine.log
            machine.close()
            if "Address already in use" in log:
                continue
            raise DeployError(f"{e}\nQEMU ({' '.join(cmd)}) printed:\n"
                              f"{log.strip()[-2000:] or '(nothing)'}") from None
        return machine       # one that stops after the load: read_until says so
    raise DeployError(f"QEMU did not start ({' '.join(cmd)}):\n{log.strip()[-2000:]}")


# -- what a fault report says ------------------------------------------------------
_CFSR_BITS = {0: "instruction fetch from a protected address", 1: "data access violation",
              3: "fault unstacking from an exception", 4: "fault stacking for an exception",
              8: "instruction bus error", 9: "bus error on a data access",
              10: "imprecise bus error", 11: "bus error unstacking from an exception",
              12: "bus error stacking for an exception (stack overflow?)",
              16: "undefined instruction", 17: "invalid state (a jump to an even address?)",
              18: "invalid exception return", 19: "FPU instruction with the FPU disabled",
              24: "unaligned access", 25: "division by zero"}


def _explain_fault(line, elf) -> str:
    """`` (bus error on a data access at 0xdead0000, in main at main.c:56)``, or ""."""
    values = dict(re.findall(r"(\w+)=0x([0-9a-fA-F]+)", line))
    values = {k: int(v, 16) for k, v in values.items()}
    cfsr = values.get("cfsr", 0)
    why = [text for bit, text in _CFSR_BITS.items() if cfsr >> bit & 1]
    if cfsr >> 15 & 1 and "bfar" in values:
        why = [w + f" at 0x{values['bfar']:08x}" if "bus error" in w else w for w in why]
    if cfsr >> 7 & 1 and "mmfar" in values:
        why = [w + f" at 0x{values['mmfar']:08x}" if "violation" in w else w for w in why]
    if values.get("hfsr", 0) >> 1 & 1:
        why.append("bad vector table entry")
    where = ""
    addr2line = shutil.which(CROSS + "addr2line")
    if "pc" in values and addr2line:
        out = run_tool([addr2line, "-f", "-e", elf, hex(values["pc"])], what="addr2line",
                  timeout=30, check=False).stdout.split("\n")
        if out and out[0] and out[0] != "??":
            place = Path(out[1].split(" ")[0]).name if len(out) > 1 else ""
            where = f"in {out[0]}" + (f" at {place}" if place and not place.startswith("?")
                                      else "")
    text = ", ".join(why + ([where] if where else []))
    return f" ({text})" if text else ""


def symbol_bytes(elf, names=(), *, prefix=None, ram=False) -> int:
    """Bytes the ELF's symbols take (``arm-none-eabi-nm -S``): those in ``names``, or
    starting with ``prefix``; with ``ram`` only those in RAM (.data, .bss).

    Example:
        >>> symbol_bytes(elf, prefix="tk_audio_frontend_", ram=True)  # doctest: +SKIP
        6204
    """
    names = set(names)
    return sum(size for name, kind, size in _symbols(elf)
               if (name in names or (prefix is not None and name.startswith(prefix)))
               and (not ram or kind in "bBdD"))


def _symbols(elf):
    """``[(name, nm type letter, bytes)]`` of the ELF's symbols that have a size."""
    nm = require_tool(CROSS + "nm")
    out = run_tool([nm, "-S", str(elf)], what="arm-none-eabi-nm", timeout=30).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            rows.append((parts[3], parts[2], int(parts[1], 16)))
    return rows


# -- the device-check harness: the model answers inputs sent over UART0 ------------
def _sizes(elf):
    size = require_tool(CROSS + "size")
    out = run_tool([size, elf], what="arm-none-eabi-size", timeout=30).stdout.strip()
    nums = out.splitlines()[-1].split()[:3] if out else ["0", "0", "0"]
    return tuple(int(n) for n in nums)


def generate_project(tfl, *, out="build", name=None, source="", kernels="dsp",
                     board=BOARD) -> Project:
    """Write the sources of the harness firmware for ``tfl`` as a project folder.

    The folder ``out/<name>/`` holds ``tk_model.h/.c`` (the model as plain C,
    :mod:`tinykit.deploy.cmodel`), ``tk_harness_model.h`` (its CRC-32),
    ``firmware_config.h`` and ``memory.ld`` (the board's clock, UART, timer and memory
    map), a ``Makefile`` and ``tinykit.json``. ``make`` in the folder builds the
    board's ``harness`` firmware into ``build/`` (ELF, .bin, .hex);
    ``tinykit.deploy.flash(project)`` builds the same image and writes it with the
    board's flasher (or, for a stand-in board, boots it under QEMU). The board then
    answers :func:`tinykit.deploy.evaluate_on_device` on its serial port.

    Args:
        tfl: the int8 model (``tinykit.convert.to_int8``; .tflite bytes work too).
        out: parent folder of the project.
        name: project name; default ``"harness_<board>"``.
        source: a few words on where the model came from, for the generated headers
            (default: the model's own ``source``).
        kernels: ``"dsp"`` (Cortex-M4 DSP kernels, the default) or ``"plain"`` (the
            reference loops); see :func:`tinykit.deploy.cmodel.generate_c_model`.
        board: the emulated board (see :func:`run`).

    Returns:
        A :class:`~tinykit.deploy.project.Project` (of ``board``, app ``"harness"``).

    Raises:
        DeployError: the model uses an op the plain-C kernels lack, or does not fit.

    Example:
        >>> project = generate_project(tfl, out="build", board="netduinoplus2")  # doctest: +SKIP
        >>> tinykit.deploy.flash(project)  # doctest: +SKIP
        >>> tinykit.deploy.evaluate_on_device("/dev/ttyUSB0", tfl, x_test, y_test)  # doctest: +SKIP
    """
    from .. import __version__
    from ..convert import as_model
    from .device import _harness
    b = emulated_board(board)
    model = as_model(tfl)
    source = source or model.source
    files, info = _harness(model, source, kernels)
    b.check_fit(model.flash_bytes, info["buffer_bytes"])
    gen = "tinykit.deploy.emulated.generate_project"
    # What build_project builds with, so that `make` in the folder builds the same.
    files.update({"firmware_config.h": _config_header(b, _harness_config(b.name)),
                  "memory.ld": _memory_map(b), "Makefile": _project_makefile(b, "harness")})
    folder = Path(out) / (name or f"harness_{b.name}")
    paths = codegen.write(folder, files)
    meta = {"generator": f"tinykit {__version__} ({gen})", "board": b.name, "app": "harness",
            "source": source, "input_size": info["input_size"],
            "output_size": info["output_size"], "ops": info["ops"],
            "flash_bytes": model.flash_bytes, "buffer_bytes": info["buffer_bytes"],
            "kernels": kernels, "macs": info["macs"]}
    (folder / "tinykit.json").write_text(json.dumps(meta, indent=2) + "\n")
    return Project(path=folder, board=b.name, app="harness",
                   files=paths + [folder / "tinykit.json"],
                   arena_bytes=info["buffer_bytes"], flash_bytes=model.flash_bytes)


def _harness_config(board, config=None) -> dict:
    return {"TK_ICOUNT_SHIFT": icount_shift(board), **(config or {})}


def build_project(project, *, build_dir=None, config=None) -> Path:
    """Build the harness firmware of ``project`` (:func:`generate_project`); returns
    the ELF (its .bin and .hex beside it). ``config``: extra ``#define`` s, e.g.
    ``{"TK_FAULT_TEST": 1}``."""
    if project.app != "harness":
        raise DeployError(f"{project!r} is not a harness project for an emulated board: "
                          f"make one with tinykit.deploy.emulated.generate_project.")
    emulated_board(project.board)
    files = {p.name: p.read_text() for p in map(Path, project.files) if p.suffix in (".c", ".h")}
    if "tk_model.h" not in files or "tk_harness_model.h" not in files:
        raise DeployError(f"{project.path} has no tk_model.h or tk_harness_model.h: "
                          f"generate the project again.")
    return build("harness", files, config=_harness_config(project.board, config),
                 build_dir=build_dir, board=project.board)


def boot_project(project, *, build_dir=None, config=None, loader="kernel") -> Machine:
    """Build ``project`` (:func:`generate_project`) and boot it under QEMU, counting
    instructions, with UART0 on a TCP port: the board answers
    :func:`tinykit.deploy.evaluate_on_device` on ``machine.url``. ``loader``: see
    :func:`boot`."""
    elf = build_project(project, build_dir=build_dir, config=config)
    return boot(elf, serial="tcp", icount=True, board=project.board, loader=loader)


def boot_harness(tfl, *, build_dir=None, config=None, source="", kernels="dsp",
                 board=BOARD) -> Machine:
    """Build the ``harness`` firmware for ``tfl`` and boot it with UART0 on a TCP port.

    The board waits for requests on ``machine.url`` (``socket://127.0.0.1:PORT``);
    :func:`tinykit.deploy.evaluate_on_device` streams a test set through it. ``config``:
    ``#define`` s of the harness (``{"TK_HARNESS_MAX_PAYLOAD": 512}``); ``kernels``:
    ``"dsp"`` or ``"plain"`` (see :func:`generate_project`).

    Example:
        >>> with boot_harness(tfl) as board:  # doctest: +SKIP
        ...     check = tinykit.deploy.evaluate_on_device(board.url, tfl, x_test, y_test)
    """
    from .device import harness_sources
    elf = build("harness", harness_sources(tfl, source=source, kernels=kernels),
                config=_harness_config(board, config), build_dir=build_dir, board=board)
    return boot(elf, serial="tcp", icount=True, board=board)


# -- firmware that prints its outputs (tflm_infer, trees): inputs compiled in ------
def inputs_sources(q, *, generator, source="") -> dict:
    """``tk_inputs.c/.h``: the int8 inputs ``q`` (one row each) one after the other,
    ``tk_inputs``, and their number, ``tk_input_count``; ``{filename: text}``."""
    q = np.asarray(q, dtype=np.int8).reshape(len(q), -1)
    what = f"{len(q)} inputs for {source or 'an int8 model'}"
    return {
        "tk_inputs.c": codegen.source(
            [codegen.constant("uint32_t", "tk_input_count", len(q)),
             codegen.array("int8_t", "tk_inputs", q.reshape(-1), size=max(1, q.size))],
            generator=generator, inputs=what, includes=("stdint.h", '"tk_inputs.h"')),
        "tk_inputs.h": codegen.header(
            "tk_inputs.h", ["// tk_input_count inputs of TK_MODEL_INPUT_SIZE int8 values, "
                            "one after the other.",
                            codegen.extern("uint32_t", "tk_input_count", dims=0),
                            codegen.extern("int8_t", "tk_inputs")],
            generator=generator, inputs=what),
    }


def run_elf(elf, width=None, *, timeout=300, board=BOARD, loader="kernel") -> DeviceRun:
    """Boot a firmware that prints its outputs (``tflm_infer``, ``trees``) with -icount and read what
    it prints (:func:`read_outputs`).

    Args:
        elf: the firmware image.
        width: values per output row (default: as many as the first row has).
        timeout: seconds from boot to ``done``.
        board: the emulated board ``elf`` is built for.
        loader: ``"kernel"`` or ``"gdb"`` (see :func:`boot`).

    Returns:
        A :class:`DeviceRun` (``build_seconds`` 0: the caller's to fill in).

    Raises:
        DeviceError: the firmware faulted, hung or did not print every row.
    """
    t1 = time.perf_counter()
    with boot(elf, icount=True, board=board, loader=loader) as machine:
        lines = machine.read_until("done", timeout)
    t2 = time.perf_counter()
    outputs, instructions, arena_used = read_outputs(lines, width)
    text, data, bss = _sizes(elf)
    return DeviceRun(outputs=outputs, elf=elf, text_bytes=text, data_bytes=data, bss_bytes=bss,
                     build_seconds=0.0, run_seconds=t2 - t1, instructions=instructions,
                     arena_used_bytes=arena_used)


def read_outputs(lines, width=None):
    """What an inference firmware printed: ``tinykit <name>: <count> inputs`` (the
    ``tflm_infer`` firmware adds ``, arena <used> of <size> bytes``), then for every input
    ``out <i>: <values>`` and ``instructions <i>: <n>``; returns ``(outputs,
    instructions, arena_used_bytes or None)``. DeviceError when a row is missing or not
    ``width`` values wide."""
    head = next((m for m in map(re.compile(r"tinykit \w+: (\d+) inputs(?:, arena (\d+) of \d+ "
                                           r"bytes)?").fullmatch, lines) if m), None)
    count = int(head.group(1)) if head else None
    outputs, counts = {}, {}
    for line in lines:
        found = re.fullmatch(r"out (\d+):((?: -?\d+)*)", line)
        if found:
            outputs[int(found.group(1))] = [int(v) for v in found.group(2).split()]
        found = re.fullmatch(r"instructions (\d+): (\d+)", line)
        if found:
            counts[int(found.group(1))] = int(found.group(2))
    width = width or len(next(iter(outputs.values()), []))
    if count is None or sorted(outputs) != list(range(count)) or sorted(counts) != sorted(
            outputs) or any(
            len(v) != width for v in outputs.values()):
        raise DeviceError(f"the board printed {len(outputs)} output lines for "
                          f"{count if count is not None else 'an unknown number of'} inputs, "
                          f"expected one of {width} values and an instruction count per "
                          f"input; last lines: "
                          f"{lines[-3:]}", lines=lines[-20:])
    rows = np.array([outputs[i] for i in range(count)], dtype=np.int8).reshape(count, width)
    return (rows, np.array([counts[i] for i in range(count)], np.int64),
            int(head.group(2)) if head.group(2) else None)


def run(tfl, x, *, build_dir=None, timeout=120, source="", kernels="dsp",
        board=BOARD) -> DeviceRun:
    """Run the int8 model on the emulated board for every input in ``x``.

    The board runs the harness firmware (:func:`boot_harness`) and the inputs go to it
    over its UART, as to a real board (:func:`tinykit.deploy.evaluate_on_device`);
    the instruction counts are the board's own timer readings.

    Args:
        tfl: int8 .tflite bytes.
        x: float inputs, quantized with the model's input scale as on the device.
        build_dir: where to build (default: the per-user cache).
        timeout: seconds one inference (and its answer) may take.
        source: a few words on where the model came from, for the generated headers.
        kernels: ``"dsp"`` or ``"plain"`` (see :func:`generate_project`).
        board: the emulated board: ``"mps2-an386"`` (Cortex-M4F), ``"mps2-an385"`` (M3,
            no DSP extension: the fast kernels' portable C), ``"mps2-an500"`` (M7),
            ``"mps2-an505"`` (M33), or a real board QEMU emulates as it is:
            ``"netduinoplus2"`` (STM32F405, M4F), ``"microbit"`` (nRF51822, M0, 16 KB
            RAM: use ``kernels="plain"``).

    Returns:
        A :class:`DeviceRun`; ``outputs`` are the raw int8 outputs, one row per input,
        comparable with ``tinykit.convert.run_tflm(tfl, x)``.

    Raises:
        ToolNotFoundError: ``arm-none-eabi-gcc`` or ``qemu-system-arm`` is missing.
        DeployError: the build failed.
        DeviceError: the board did not answer within ``timeout`` (it faulted or hangs)
            or answered with an error.

    Example:
        >>> device = run(tfl, x_test)  # doctest: +SKIP
        >>> (device.outputs == tinykit.convert.run_tflm(tfl, x_test)).all()  # doctest: +SKIP
        True
    """
    from ..convert import as_model
    from .device import evaluate_on_device
    model = as_model(tfl)
    t0 = time.perf_counter()
    with boot_harness(model, build_dir=build_dir, source=source, kernels=kernels,
                      board=board) as machine:
        t1 = time.perf_counter()
        check = evaluate_on_device(machine.url, model, x, timeout=timeout, connect_timeout=60)
    t2 = time.perf_counter()
    text, data, bss = _sizes(machine.elf)
    return DeviceRun(outputs=check.outputs, elf=machine.elf, text_bytes=text, data_bytes=data,
                     bss_bytes=bss, build_seconds=t1 - t0, run_seconds=t2 - t1,
                     instructions=check.instructions, stack_bytes=check.stack_bytes or 0)
