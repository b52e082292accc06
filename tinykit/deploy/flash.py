"""Flash a generated project, or a built image, with the real tool its board uses.

Flashers (the board description's ``flasher``, settings in its ``[flash]`` table):

==============  ==============================================================  ==========
flasher         tool                                                            image
==============  ==============================================================  ==========
arduino-cli     ``arduino-cli compile`` + ``upload`` (the board's ``fqbn``)      sketch
bossac          BOSSA (SAM-BA bootloaders: Nano 33 BLE, MKR, Due); ``offset``    .bin
esptool         esptool's Python API (ESP32 family); ``chip``, ``address``        .bin
openocd         OpenOCD ``program``; ``interface``, ``target`` (.cfg), ``address``  .elf/.hex/.bin
pyocd           ``pyocd flash``; ``target``, ``address``                        .elf/.hex/.bin
dfu-util        USB DFU; ``device`` (vid:pid), ``alt``, ``address`` (DfuSe)      .bin
uf2             copy to the drive with INFO_UF2.TXT; ``board_id`` picks it       .uf2
daplink         copy to the drive with DETAILS.TXT (micro:bit); ``drive_label``  .hex/.bin
qemu            the emulated board: build and boot under QEMU                   project
qemu-gdb        the emulated board, started empty and halted; ``gdb-multiarch``   project
                loads the ELF over QEMU's GDB stub as a probe would (gdb_load)
==============  ==============================================================  ==========

A board QEMU emulates as it is (``netduinoplus2``) has its real flasher (dfu-util)
and is also flashed under QEMU with ``flash(project, tool="qemu")`` or
``tool="qemu-gdb"``: the very image the real tool writes.

With no board attached each tool still runs; its "no device" answer becomes a
:class:`~tinykit.errors.DeployError` naming the port or probe and listing what is
attached. A tool that exits 0 without reporting success is caught the same way.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import struct
import sys
from pathlib import Path

from .._tools import TOOL_HINTS, require_tool, run_tool
from ..errors import DeployError, SetupNeededError, ToolNotFoundError
from .boards import board as get_board

FLASHERS = ("arduino-cli", "bossac", "esptool", "openocd", "pyocd", "dfu-util", "uf2",
            "daplink", "qemu", "qemu-gdb")
EMULATED = ("qemu", "qemu-gdb")          # flashers that run the project under QEMU

# Which built image each flasher takes, in order of preference.
_IMAGE_SUFFIXES = {"bossac": (".bin",), "esptool": (".merged.bin", ".bin"),
                   "dfu-util": (".dfu", ".bin"), "uf2": (".uf2",), "daplink": (".hex", ".bin"),
                   "openocd": (".elf", ".hex", ".bin"), "pyocd": (".elf", ".hex", ".bin")}


# -- what is attached -------------------------------------------------------------------
def serial_ports() -> list:
    """Device paths of the serial ports attached to this machine (no simulated ones)."""
    import serial.tools.list_ports
    return sorted(p.device for p in serial.tools.list_ports.comports())


def usb_devices() -> list:
    """USB devices seen on this machine as ``"vid:pid product"`` (Linux sysfs; [] elsewhere)."""
    found = []
    for dev in sorted(Path("/sys/bus/usb/devices").glob("*")):
        try:
            vid = (dev / "idVendor").read_text().strip()
            pid = (dev / "idProduct").read_text().strip()
        except OSError:
            continue
        product = (dev / "product").read_text().strip() if (dev / "product").is_file() else ""
        if not dev.name.startswith("usb"):          # skip the host controllers' root hubs
            found.append(f"{vid}:{pid} {product}".strip())
    return found


def _seen(items) -> str:
    return ", ".join(str(i) for i in items) if items else "none"


def _attached() -> str:
    return (f"Serial ports seen: {_seen(serial_ports())}. "
            f"USB devices seen: {_seen(usb_devices())}.")


# -- arduino-cli: the core and libraries a board file names ------------------------------
def _arduino_json(exe, args, timeout):
    """What ``arduino-cli <args> --format json`` prints, parsed. ``--format json`` is read
    by 0.x and, hidden, by 1.x (which added ``--json`` as its new spelling)."""
    result = run_tool([exe, *args, "--format", "json"], what=f"arduino-cli {' '.join(args)}",
                      timeout=timeout)
    try:
        return json.loads(result.stdout or "null")
    except ValueError:
        first = (result.stdout or "").strip().splitlines()[:1]
        raise DeployError(f"arduino-cli {' '.join(args)} --format json did not print JSON "
                          f"({first[0] if first else 'nothing'!r}); tinykit reads arduino-cli "
                          f"0.18 or later: update it (arduino-cli version).") from None


def _listed(data, key):
    """The list in arduino-cli's answer: bare before 1.0, under ``key`` since (where
    ``null`` or a missing key means none)."""
    if isinstance(data, dict):
        data = data.get(key)
    return [item for item in data or [] if isinstance(item, dict)]


def arduino_installed(exe=None, *, timeout=120) -> tuple:
    """What arduino-cli has: ``({core_id: version}, {library_name: {versions}})``.

    Reads ``arduino-cli core list`` and ``lib list`` as JSON in both shapes: 1.x
    ``{"platforms": [{"id", "installed_version"}]}`` and ``{"installed_libraries":
    [{"library": {"name", "version"}}]}``; before 1.0 bare lists, with ``installed``
    (0.18-0.35) or ``ID``/``Installed`` (0.17 and older) for the cores.
    """
    exe = exe or require_tool("arduino-cli")
    cores = {}
    for p in _listed(_arduino_json(exe, ["core", "list"], timeout), "platforms"):
        pid = p.get("id") or p.get("ID")
        version = p.get("installed_version") or p.get("installed") or p.get("Installed")
        if pid and version:
            cores[pid] = version
    libraries = {}
    for item in _listed(_arduino_json(exe, ["lib", "list"], timeout), "installed_libraries"):
        lib = item.get("library") or {}
        if lib.get("name"):
            libraries.setdefault(lib["name"], set()).add(lib.get("version", ""))
    return cores, libraries


def _arduino_needs(b, cores, libraries) -> tuple:
    """(what is missing, the arduino-cli arguments that install it) for board ``b``."""
    core = b.extra.get("core") or ":".join(b.extra["fqbn"].split(":")[:2])
    want = b.extra.get("core_version")
    url = b.extra.get("core_url")
    urls = ["--additional-urls", url] if url else []
    missing, commands = [], []
    have = cores.get(core)
    if have is None or (want and have != want):
        spec = f"{core}@{want}" if want else core
        missing.append(f"core {spec} ({f'{have} installed' if have else 'not installed'})")
        commands += [["core", "update-index", *urls], ["core", "install", spec, *urls]]
    libs = []
    for spec in b.extra.get("libraries", []):
        name, _, version = str(spec).partition("@")
        found = libraries.get(name, set())
        if not found or (version and version not in found):
            missing.append(f"library {spec} "
                           f"({', '.join(sorted(found)) + ' installed' if found else 'not installed'})")
            libs.append(["lib", "install", spec])
    if libs:
        commands += [["lib", "update-index"], *libs]
    return missing, commands


def arduino_setup(board, *, install=False, timeout=1800) -> list:
    """Check that arduino-cli has the core and libraries ``board`` names, and with
    ``install=True`` install what it lacks.

    The board file says what: ``core`` (e.g. ``"arduino:mbed_nano"``), ``core_version``
    (any installed version will do without it), ``core_url`` (the board manager URL of a
    third-party core, passed as ``--additional-urls``) and ``libraries`` (``"Name@version"``,
    the name as in library.properties); a library installed at another version counts as
    missing. ``core_libraries`` come with the core and are not installed on their own.

    Returns the arduino-cli commands that were run (each a list of arguments; ``[]`` when
    nothing was missing). Every command has ``timeout`` seconds.

    Raises:
        ToolNotFoundError: arduino-cli is not installed.
        SetupNeededError: something is missing and ``install`` is False; the message lists
            the exact commands and how to consent (``flash(..., install=True)``,
            ``tinykit flash PROJECT --install``); ``commands`` holds them.
        DeployError: an install failed (its output in the message), ran past ``timeout``,
            or reported success and left the core or library still missing.

    Example:
        >>> arduino_setup("xiao_nrf52840_sense", install=True)  # doctest: +SKIP
        [['core', 'update-index', '--additional-urls', 'https://files.seeedstudio.com/...'], ...]
    """
    b = get_board(board)
    if "fqbn" not in b.extra:
        raise DeployError(f"board {b.name!r} has no fqbn: arduino-cli does not build for it.")
    exe = require_tool("arduino-cli")
    list_timeout = min(timeout, 120)
    missing, commands = _arduino_needs(b, *arduino_installed(exe, timeout=list_timeout))
    if not commands:
        return []
    shown = "\n".join("  " + shlex.join(["arduino-cli", *c]) for c in commands)
    if not install:
        raise SetupNeededError(
            f"arduino-cli lacks what the {b.title} needs: {'; '.join(missing)}. To install "
            f"them, consent with flash(project, install=True) (or tinykit.deploy.arduino_setup("
            f"{b.name!r}, install=True)), `tinykit flash PROJECT --install`, or run:\n{shown}",
            commands)
    for args in commands:
        run_tool([exe, *args], what=f"arduino-cli {' '.join(args[:2])} for the {b.title}",
                 timeout=timeout)
    still, _ = _arduino_needs(b, *arduino_installed(exe, timeout=list_timeout))
    if still:
        raise DeployError(f"arduino-cli reported success but still lacks {'; '.join(still)} "
                          f"after:\n{shown}\nCheck `arduino-cli core list` and `arduino-cli "
                          f"lib list`.")
    return commands


# -- running a flasher --------------------------------------------------------------------
def _flash_with(cmd, *, tool, where, no_device, success, hint, timeout=300, extra=""):
    """Run a flasher; its "no device" answer, a failure, or an exit 0 without ``success``
    in its output become DeployError naming ``where`` and what is attached."""
    result = run_tool(cmd, what=tool, timeout=timeout, check=False)
    text = (result.stdout or "") + (result.stderr or "")
    tail = "\n".join(text.strip().splitlines()[-8:])
    m = re.search(no_device, text, re.MULTILINE | re.IGNORECASE)
    if m:
        raise DeployError(f"{tool}: no board answered on {where}: {m.group(0).strip()}. "
                          f"{extra or _attached()} {hint}")
    if result.returncode != 0:
        raise DeployError(f"{tool} failed on {where} (exit {result.returncode}): "
                          f"{' '.join(map(str, cmd))}\n{tail}\n{_attached()}")
    if not re.search(success, text, re.MULTILINE):
        raise DeployError(f"{tool} exited 0 but did not report a successful flash on {where} "
                          f"(expected {success!r} in its output); treat the board as not "
                          f"flashed.\n{tail}")
    return text


def _image(path, suffixes=None) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"no image at {path}: build the project first "
                          f"(flash(project, compile_only=True)).")
    if suffixes and not any(path.name.endswith(s) for s in suffixes):
        raise DeployError(f"{path.name}: expected a {' or '.join(suffixes)} image.")
    return path


def _int(value, name) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 0)
    except ValueError:
        raise DeployError(f"{name}={value!r}: expected an address like 0x08000000.") from None


def bossac(image, port=None, *, offset=None, timeout=300) -> str:
    """Write a .bin with BOSSA's ``bossac`` (erase, write, verify, reset); returns its output.

    ``port`` is the board's serial port in bootloader mode (double-tap reset); without
    it bossac tries its default. ``offset`` is where the application starts (e.g.
    0x10000 behind a bootloader).

    Raises:
        ToolNotFoundError: bossac is not installed.
        DeployError: no SAM-BA bootloader answers on the port (the message names it and
            lists the serial ports seen), or the write or verify failed.

    Example:
        >>> bossac("build/sketch.ino.bin", "/dev/ttyACM0", offset=0x10000)  # doctest: +SKIP
    """
    exe = require_tool("bossac")
    image = _image(image, (".bin",))
    cmd = [exe]
    if port:
        cmd += ["-p", port]
    if offset is not None:
        cmd += [f"--offset={_int(offset, 'offset'):#x}"]
    cmd += ["-U", "-i", "-e", "-w", "-v", "-R", image]
    where = port or "bossac's default port"
    return _flash_with(cmd, tool="bossac", where=where, timeout=timeout,
                       no_device=r"No device found on \S+|No serial ports available",
                       success=r"Verify successful",
                       hint="Double-tap the board's reset button to start its bootloader "
                            "(the LED pulses) and pass that port.")


def esptool(image, port=None, *, chip="auto", address=0x0, baud=460800, connect_attempts=3):
    """Write an image to an ESP32-family board with esptool's Python API, then reset it.

    Raises:
        ToolNotFoundError: esptool is not installed (``pip install esptool``).
        DeployError: the port cannot be opened or no Espressif chip answers on it (the
            message names the port and lists the serial ports seen), or the write failed.

    Example:
        >>> esptool("build/app.merged.bin", "/dev/ttyACM0", chip="esp32s3")  # doctest: +SKIP
    """
    if importlib.util.find_spec("esptool") is None:
        raise ToolNotFoundError("esptool", TOOL_HINTS["esptool"])
    from esptool import cmds
    from esptool.util import FatalError
    image = _image(image, _IMAGE_SUFFIXES["esptool"])
    ports = serial_ports()
    if not port:
        if len(ports) != 1:
            raise DeployError(f"esptool: pass port= (the ESP32's serial port). Serial ports "
                              f"seen: {_seen(ports)}.")
        port = ports[0]
    try:
        esp = cmds.detect_chip(port=port, baud=115200, connect_attempts=connect_attempts)
    except FatalError as e:
        first = str(e).strip().splitlines()[0]
        raise DeployError(f"esptool: no board answered on {port}: {first} Serial ports seen: "
                          f"{_seen(ports)}. Hold BOOT while pressing RESET to start the "
                          f"ROM bootloader, and check the port.") from None
    try:
        name = esp.CHIP_NAME.lower().replace("-", "")
        if chip != "auto" and name != chip.lower().replace("-", ""):
            raise DeployError(f"esptool: {port} has an {esp.CHIP_NAME}, the image is for "
                              f"{chip}.")
        esp = esp.run_stub()
        if baud and baud != 115200:
            esp.change_baud(baud)
        cmds.attach_flash(esp)
        cmds.write_flash(esp, [(_int(address, "address"), str(image))])
        cmds.reset_chip(esp, "hard-reset")
    except FatalError as e:
        raise DeployError(f"esptool failed writing {image.name} to {port}: {e}") from None
    finally:
        esp._port.close()
    return f"wrote {image.name} to the {esp.CHIP_NAME} on {port}"


def openocd(image, *, interface, target, address=None, probe=None, timeout=300) -> str:
    """Program, verify and reset with OpenOCD through a debug probe.

    ``interface``/``target`` are OpenOCD scripts (``interface/cmsis-dap.cfg``,
    ``target/stm32l4x.cfg``); ``address`` is needed for a .bin; ``probe`` a probe's
    serial number (``adapter serial``) when several are attached.

    Raises:
        ToolNotFoundError: openocd is not installed.
        DeployError: no probe found (named, with the USB devices seen), the target does
            not answer, or programming failed.
    """
    exe = require_tool("openocd")
    image = _image(image, _IMAGE_SUFFIXES["openocd"])
    if image.suffix == ".bin" and address is None:
        raise DeployError("openocd: a .bin image needs address= (where flash starts).")
    at = f" {_int(address, 'address'):#x}" if image.suffix == ".bin" else ""
    cmd = [exe, "-f", interface]
    if probe:
        cmd += ["-c", f"adapter serial {probe}"]
    cmd += ["-f", target, "-c", f"program {{{image}}}{at} verify reset exit"]
    where = f"probe {probe} ({interface})" if probe else f"the debug probe ({interface})"
    return _flash_with(cmd, tool="openocd", where=where, timeout=timeout,
                       no_device=r"^Error: (open failed|unable to find a matching [^\n]*"
                                 r"|No J-Link device found|no device found"
                                 r"|unable to open ftdi device[^\n]*)",
                       success=r"\*\* Verified OK \*\*",
                       hint="Connect the debug probe (ST-LINK, CMSIS-DAP, J-Link) with USB "
                            "and the board's SWD lines, and power the board.")


def _pyocd_cmd():
    exe = shutil.which("pyocd")
    if exe:
        return [exe]
    if importlib.util.find_spec("pyocd") is not None:
        return [sys.executable, "-m", "pyocd"]
    raise ToolNotFoundError("pyocd", TOOL_HINTS["pyocd"])


def pyocd(image, *, target, address=None, probe=None, timeout=300) -> str:
    """Program an image with ``pyocd flash`` (never waiting for a probe to appear).

    Raises:
        ToolNotFoundError: pyocd is not installed (``pip install pyocd``).
        DeployError: no probe (named, with the USB devices seen), or programming failed.
    """
    image = _image(image, _IMAGE_SUFFIXES["pyocd"])
    cmd = _pyocd_cmd() + ["flash", "--no-wait", "-t", target]
    if probe:
        cmd += ["-u", probe]
    if image.suffix == ".bin":
        if address is None:
            raise DeployError("pyocd: a .bin image needs address= (where flash starts).")
        cmd += ["-a", f"{_int(address, 'address'):#x}"]
    cmd += [image]
    where = f"probe {probe}" if probe else "any debug probe"
    return _flash_with(cmd, tool="pyocd", where=where, timeout=timeout,
                       no_device=r"No connected debug probe[^\n]*|No available debug probes[^\n]*",
                       success=r"(Erased|programmed|Programmed) ",
                       hint="Connect the debug probe with USB (`pyocd list` shows probes).")


def dfu_util(image, *, device=None, alt=0, address=None, timeout=300) -> str:
    """Download an image with ``dfu-util`` to a board in USB DFU mode, then leave DFU.

    ``device`` is ``vid:pid`` (e.g. ``0483:df11`` for STM32's ROM bootloader);
    ``address`` selects DfuSe (STM32) and where to write.

    Raises:
        ToolNotFoundError: dfu-util is not installed.
        DeployError: no DFU device (named, with the DFU and USB devices seen), or the
            download failed.
    """
    exe = require_tool("dfu-util")
    image = _image(image, _IMAGE_SUFFIXES["dfu-util"])
    cmd = [exe, "-a", str(alt)]
    if device:
        cmd += ["-d", device]
    if address is not None:
        cmd += ["-s", f"{_int(address, 'address'):#x}:leave"]
    else:
        cmd += ["-R"]
    cmd += ["-D", image]
    listing = run_tool([exe, "-l"], what="dfu-util -l", timeout=60, check=False)
    found = re.findall(r"^Found (?:DFU|Runtime): (.*)$", listing.stdout or "", re.MULTILINE)
    extra = f"DFU devices seen: {_seen(found)}. {_attached()}"
    where = f"USB device {device}" if device else "any USB DFU device"
    return _flash_with(cmd, tool="dfu-util", where=where, timeout=timeout, extra=extra,
                       no_device=r"No DFU capable USB device available",
                       success=r"Download done|File downloaded successfully",
                       hint="Put the board in DFU mode (BOOT0 high, or double-tap reset) "
                            "and check the USB cable.")


def gdb_load(elf, target, *, reset="monitor system_reset", timeout=60) -> str:
    """Load an ELF into a halted target over a GDB remote stub, reset it and let it run.

    What a debug probe does, with ``gdb-multiarch -batch``: ``target remote <target>``
    (retrying a refused connection for up to ``timeout`` seconds, while the stub
    starts), ``load`` (every loadable section to its address, flash included), then
    ``reset`` (``monitor system_reset``: QEMU resets the core, which takes its stack
    pointer and reset vector from the image just loaded) and ``detach``, which lets
    the target run. Works with QEMU's ``-gdb`` stub (:func:`tinykit.deploy.emulated.boot`
    with ``loader="gdb"``) and with a probe's GDB server (OpenOCD's port 3333, pyOCD's
    gdbserver; ``reset="monitor reset run"``).

    Args:
        elf: the firmware image (an ELF: GDB loads it section by section).
        target: the stub's ``host:port``.
        reset: the GDB command that resets the target after loading ("" for none).
        timeout: seconds for the whole load.

    Returns:
        gdb's output.

    Raises:
        ToolNotFoundError: gdb-multiarch is not installed (the message says how).
        DeployError: no stub answered at ``target``, or the load or reset failed.

    Example:
        >>> gdb_load("build/harness.elf", "127.0.0.1:3333")  # doctest: +SKIP
    """
    exe = require_tool("gdb-multiarch")
    elf = _image(elf, (".elf",))
    wait = max(1, int(timeout) - 5)
    cmd = [exe, "-nx", "-batch", "-ex", "set confirm off", "-ex", "set pagination off",
           "-ex", f"set tcp connect-timeout {wait}", "-ex", f"target remote {target}",
           "-ex", "load", *(["-ex", reset] if reset else []), "-ex", "detach", elf]
    return _flash_with(cmd, tool="gdb-multiarch", where=f"the GDB stub at {target}",
                       timeout=timeout, extra=f"(gdb waited {wait} s for it.)",
                       no_device=r"^[^\n]*(Connection refused|Connection timed out"
                                 r"|Remote connection closed|Remote communication error"
                                 r"|Remote replied unexpectedly)[^\n]*",
                       success=r"^Transfer rate: .*\n(?:.*\n)*\[Inferior 1 \(.*\) detached\]",
                       hint="Start the GDB server first (QEMU -S -gdb tcp::PORT, "
                            "`openocd -f <interface> -f <target>`, `pyocd gdbserver`) and "
                            "pass its host:port.")


# -- UF2 --------------------------------------------------------------------------------
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)


def check_uf2(image) -> int:
    """The number of 512-byte blocks of a valid UF2 file, or DeployError saying what is wrong."""
    data = Path(image).read_bytes()
    if not data or len(data) % 512:
        raise DeployError(f"{image}: {len(data)} bytes is not a UF2 file (512-byte blocks).")
    n = len(data) // 512
    for i in range(n):
        m0, m1 = struct.unpack_from("<II", data, i * 512)
        (end,) = struct.unpack_from("<I", data, i * 512 + 508)
        if (m0, m1, end) != UF2_MAGIC:
            raise DeployError(f"{image}: block {i} is not a UF2 block (bad magic numbers).")
    return n


def uf2_info(drive) -> dict:
    """The fields of a UF2 drive's INFO_UF2.TXT (``Model``, ``Board-ID``, ...)."""
    info = {}
    for line in (Path(drive) / "INFO_UF2.TXT").read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _mount_points() -> list:
    points = []
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 1:
                points.append(parts[1].replace("\\040", " "))
    except OSError:
        pass
    for pattern in ("media/*/*", "media/*", "run/media/*/*", "Volumes/*"):
        points += [str(p) for p in Path("/").glob(pattern)]
    if os.name == "nt":
        points += [f"{c}:\\" for c in "DEFGHIJKLMNOPQRSTUVWXYZ"]
    return list(dict.fromkeys(points))


def _drives_with(marker, roots=None) -> list:
    found = []
    for root in (roots if roots is not None else _mount_points()):
        try:
            if (Path(root) / marker).is_file():
                found.append(Path(root))
        except OSError:
            continue
    return found


def uf2_drives(roots=None) -> list:
    """Mounted drives holding INFO_UF2.TXT (a board's UF2 bootloader), among ``roots``
    (default: every mount point, /media, /run/media, /Volumes, drive letters)."""
    return _drives_with("INFO_UF2.TXT", roots)


def _one_drive(drives, kind, missing) -> Path:
    """The one drive of ``drives``: DeployError ``missing`` when none, or asking to
    choose when several."""
    if not drives:
        raise DeployError(missing)
    if len(drives) > 1:
        raise DeployError(f"several {kind} drives: {_seen(drives)}; pass drive= (or port=) "
                          f"to choose.")
    return drives[0]


def _copy_to_drive(image, drive) -> Path:
    target = Path(drive) / Path(image).name
    with open(image, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    return target


def uf2(image, *, drive=None, board_id=None, roots=None) -> Path:
    """Copy a .uf2 image to the board's UF2 drive (found by its INFO_UF2.TXT).

    ``drive`` names the drive; otherwise the one mounted drive with INFO_UF2.TXT
    (whose ``Board-ID`` starts with ``board_id``, when given) is used. ``roots``
    replaces the places searched. Returns the path written.

    Raises:
        DeployError: not a UF2 file; no UF2 drive (the message lists the drives
            seen); several; or only drives of other boards.

    Example:
        >>> uf2("build/app.uf2", board_id="RPI-RP2")  # doctest: +SKIP
    """
    image = _image(image, (".uf2",))
    check_uf2(image)
    if drive is not None:
        if not (Path(drive) / "INFO_UF2.TXT").is_file():
            raise DeployError(f"{drive} is not a UF2 drive (no INFO_UF2.TXT). UF2 drives "
                              f"seen: {_seen(uf2_drives(roots))}.")
        drives = [Path(drive)]
    else:
        searched = roots if roots is not None else _mount_points()
        drives = uf2_drives(searched)
        if board_id:
            others = drives
            drives = [d for d in drives if uf2_info(d).get("Board-ID", "").startswith(board_id)]
            if not drives and others:
                ids = ", ".join(f"{d} ({uf2_info(d).get('Board-ID', '?')})" for d in others)
                raise DeployError(f"no UF2 drive of a {board_id} board; UF2 drives seen: {ids}.")
        drives = [_one_drive(drives, "UF2", f"found no UF2 drive (a mounted drive with "
                             f"INFO_UF2.TXT) for {board_id or 'the board'}; drives seen: "
                             f"{_seen(searched)}. Double-tap reset (or hold BOOTSEL while "
                             f"plugging in) so the board mounts as a drive.")]
    return _copy_to_drive(image, drives[0])


def daplink(image, *, drive=None, label=None, roots=None) -> Path:
    """Copy a .hex (or .bin) image to the drive a DAPLink interface chip mounts (the BBC
    micro:bit's MICROBIT drive, found by its DETAILS.TXT); DAPLink then writes it to
    the target's flash and remounts the drive.

    ``drive`` names the drive; otherwise the one mounted drive with DETAILS.TXT (whose
    folder is named ``label``, e.g. ``"MICROBIT"``, when given) is used. ``roots``
    replaces the places searched. Returns the path written.

    Raises:
        DeployError: not a .hex or .bin; no DAPLink drive (the message lists the drives
            searched); several.

    Example:
        >>> daplink("build/harness.hex", label="MICROBIT")  # doctest: +SKIP
    """
    image = _image(image, (".hex", ".bin"))
    searched = [drive] if drive is not None else (roots if roots is not None
                                                   else _mount_points())
    drives = [d for d in _drives_with("DETAILS.TXT", searched)
              if drive is not None or not label or d.name == label]
    return _copy_to_drive(image, _one_drive(
        drives, "DAPLink", f"found no DAPLink drive (a mounted drive with DETAILS.TXT"
        f"{f' named {label}' if label else ''}); drives seen: {_seen(searched)}. Plug the "
        f"board in with USB (a data cable) and wait for its drive to mount, or pass drive=."))


# -- boards and projects ------------------------------------------------------------------
def flash_image(image, board, *, port=None, probe=None):
    """Write a built image to ``board`` with the flasher its description names.

    ``port`` is the serial port (bossac, esptool) or the UF2 or DAPLink drive; ``probe`` a debug
    probe's serial number (openocd, pyocd); the rest comes from the board's ``[flash]``
    table (``offset``, ``chip``, ``address``, ``baud``, ``interface``, ``target``,
    ``device``, ``alt``, ``board_id``, ``drive_label``).

    Raises:
        ToolNotFoundError, DeployError: as the flasher functions of this module.

    Example:
        >>> flash_image("build/app.bin", "nano33ble", port="/dev/ttyACM0")  # doctest: +SKIP
    """
    b = get_board(board)
    opts = dict(b.extra.get("flash", {}))
    tool = b.flasher
    if tool == "bossac":
        return bossac(image, port, offset=opts.get("offset"))
    if tool == "esptool":
        return esptool(image, port, chip=opts.get("chip", "auto"), address=opts.get("address", 0),
                       baud=opts.get("baud", 460800))
    if tool in ("openocd", "pyocd"):
        if "target" not in opts or (tool == "openocd" and "interface" not in opts):
            raise DeployError(f"board {b.name!r}: flasher {tool} needs target= "
                              f"{'and interface= ' if tool == 'openocd' else ''}in the "
                              f"[flash] table of {b.folder / 'board.toml'}.")
        if tool == "openocd":
            return openocd(image, interface=opts["interface"], target=opts["target"],
                           address=opts.get("address"), probe=probe)
        return pyocd(image, target=opts["target"], address=opts.get("address"), probe=probe)
    if tool == "dfu-util":
        return dfu_util(image, device=opts.get("device"), alt=opts.get("alt", 0),
                        address=opts.get("address"))
    if tool == "uf2":
        return uf2(image, drive=port, board_id=opts.get("board_id"))
    if tool == "daplink":
        return daplink(image, drive=port, label=opts.get("drive_label"))
    raise DeployError(f"board {b.name!r}: flasher {tool!r} does not take an image; image "
                      f"flashers: bossac, esptool, openocd, pyocd, dfu-util, uf2, daplink.")


def _find_image(folder, tool) -> Path:
    folder = Path(folder)
    helpers = (".bootloader.bin", ".partitions.bin", ".merged.bin")
    for suffix in _IMAGE_SUFFIXES[tool]:
        found = sorted(p for p in folder.rglob(f"*{suffix}")
                       if suffix == ".merged.bin" or not p.name.endswith(helpers))
        if found:
            return found[0]
    raise DeployError(f"no {' or '.join(_IMAGE_SUFFIXES[tool])} image under {folder} for {tool}.")


def build_image(project, board=None, *, install=False) -> Path:
    """Build a generated project into the image its board's flasher takes.

    Arduino boards (an ``fqbn``) compile with ``arduino-cli compile --output-dir
    <project>/build``, once arduino-cli has the board's core and libraries
    (:func:`arduino_setup`; ``install=True`` installs what is missing); a project with a Makefile runs ``make`` in it; an inference
    project for a board QEMU emulates (:func:`tinykit.deploy.emulated.generate_project`,
    e.g. ``netduinoplus2``) builds the board's harness firmware, whose build writes the
    ELF, .bin and .hex side by side: the image returned is the one the tests run under
    QEMU, and the flashed board answers :func:`tinykit.deploy.evaluate_on_device`.
    """
    b = get_board(board or project.board)
    path = Path(project.path)
    if project.app == "harness" and b.run.get("emulator"):
        from . import emulated              # the firmware tinykit builds for the board
        elf = emulated.build_project(project)
        for suffix in _IMAGE_SUFFIXES[b.flasher]:
            if (elf.parent / (elf.stem + suffix)).is_file():
                return elf.parent / (elf.stem + suffix)
        raise DeployError(f"the build in {elf.parent} made no "
                          f"{' or '.join(_IMAGE_SUFFIXES[b.flasher])} image for {b.flasher}.")
    if "fqbn" in b.extra:
        exe = require_tool("arduino-cli")
        arduino_setup(b, install=install)
        out = path / "build"
        run_tool([exe, "compile", "--fqbn", b.extra["fqbn"], "--output-dir", out, path],
                 what="arduino-cli compile", timeout=1800)
        return _find_image(out, b.flasher)
    if (path / "Makefile").is_file():
        run_tool([require_tool("make"), "-C", path], what=f"make in {path}", timeout=1800)
        return _find_image(path, b.flasher)
    raise DeployError(f"{path}: cannot build it for {b.flasher} (no fqbn for the "
                      f"{b.title}, no Makefile in the project).")


def flash(project, port=None, *, compile_only=False, probe=None, board=None, tool=None,
          install=False):
    """Build and upload a generated project to a board on ``port``.

    Uses the board's flasher: ``arduino-cli`` for Arduino boards; ``qemu`` for the
    emulated board (``mps2-an386``), where flashing is building the project's firmware
    and booting it (no port), and the result is the running
    :class:`~tinykit.deploy.emulated.Machine` (its UART0 at ``.url``; close it when
    done); the image
    flashers (bossac, esptool, openocd, pyocd, dfu-util, uf2, daplink) build the project (see
    :func:`build_image`) and write it with :func:`flash_image` (``probe``: a debug
    probe's serial number). ``compile_only=True`` builds without uploading (or
    booting). ``board`` overrides the project's board (a name or a Board).

    Before compiling with arduino-cli, :func:`arduino_setup` checks that it has the core
    and libraries the board file names; what is missing raises SetupNeededError listing
    the commands, unless ``install=True`` (your consent) installs it.

    ``tool`` runs a project for a board QEMU emulates under QEMU instead of the board's
    flasher: ``"qemu"`` (QEMU loads the ELF) or ``"qemu-gdb"`` (QEMU starts empty and
    halted, and ``gdb-multiarch`` loads the ELF over its GDB stub, as a debug probe
    would; :func:`gdb_load`). Both return the running Machine. On a real board QEMU
    emulates as it is (``netduinoplus2``) it is the same image the board's flasher writes.
    A harness project (:func:`tinykit.deploy.emulated.generate_project`) then answers
    :func:`tinykit.deploy.evaluate_on_device` on the board's serial port (``.url``
    under QEMU).

    Raises ToolNotFoundError naming the tool and how to install it when it is missing,
    DeployError with the tool's last lines when building or uploading fails (or no
    board answers: the message names the port or probe and lists what is attached),
    and DeviceError when the emulated board faults or hangs.

    Example:
        >>> flash(project, port="/dev/ttyACM0")  # doctest: +SKIP
        >>> with flash(tinykit.deploy.emulated.generate_project(tfl)) as board:  # doctest: +SKIP
        ...     check = tinykit.deploy.evaluate_on_device(board.url, tfl, x_test)
    """
    b = get_board(board or project.board)
    if tool not in (None, b.flasher, *EMULATED):
        raise DeployError(f"tool={tool!r}: flash with the board's own flasher "
                          f"({b.flasher!r}, tool=None) or under QEMU ({', '.join(EMULATED)}).")
    tool = tool or b.flasher
    if tool in EMULATED:
        from . import emulated
        emulated.emulated_board(b.name)
        if compile_only:
            emulated.build_project(project)
            return None
        return emulated.boot_project(project, loader="gdb" if tool == "qemu-gdb" else "kernel")
    if tool == "arduino-cli":
        exe = require_tool(tool)
        fqbn = b.extra["fqbn"]
        arduino_setup(b, install=install)
        run_tool([exe, "compile", "--fqbn", fqbn, project.path], what="arduino-cli compile",
                 timeout=1800)
        if compile_only:
            return None
        if not port:
            raise DeployError("no port given: pass port='/dev/ttyACM0' (or COM3); "
                              f"serial ports seen: {_seen(serial_ports())}.")
        return run_tool([exe, "upload", "-p", port, "--fqbn", fqbn, project.path],
                        what="arduino-cli upload", timeout=300)
    if tool in _IMAGE_SUFFIXES:
        image = build_image(project, b, install=install)
        if compile_only:
            return image
        return flash_image(image, b, port=port, probe=probe)
    raise DeployError(f"board {b.name!r} names no known flasher ({tool!r}); known: "
                      f"{', '.join(FLASHERS)}.")
