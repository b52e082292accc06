"""External programs tinykit calls (compilers, emulator, flashers): finding them, and
saying how to install the ones that are missing. Shared by capture and deploy."""
from __future__ import annotations

import shutil
import subprocess

from .errors import DeployError, ToolNotFoundError

# How to get each tool, for the error raised when it is missing.
TOOL_HINTS = {
    "arduino-cli": "Install it from https://arduino.github.io/arduino-cli/ (or "
                   "`brew install arduino-cli`), then `arduino-cli core install "
                   "arduino:mbed_nano` and `arduino-cli lib install Arduino_LSM9DS1 "
                   "Chirale_TensorFLowLite` (the name its library.properties registers); "
                   "or let `tinykit flash PROJECT --install` install what the board file "
                   "names.",
    "esptool": "Install it with `pip install esptool`.",
    "pyocd": "Install it with `pip install pyocd`.",
    "bossac": "Install it with your package manager (`apt install bossa-cli`) or the "
              "Arduino IDE, which bundles it.",
    "picotool": "Install it from https://github.com/raspberrypi/picotool, or copy the "
                ".uf2 file to the RPI-RP2 drive by hand.",
    "dfu-util": "Install it with `apt install dfu-util` or `brew install dfu-util`.",
    "qemu-system-arm": "Install it with `sh boards/install-tools.sh` (Debian's qemu-system-arm).",
    "espeak-ng": "Install it with `sh boards/install-tools.sh` (Debian's espeak-ng; "
                 "`brew install espeak-ng` on macOS), or train the keyword spotter "
                 "without spoken words: `recipes.kws(..., spoken_unknown=0)`.",
    "make": "Install it with `apt install make` (or your system's build tools).",
    "gcc": "Install a C compiler for this machine: `apt install gcc` (or build-essential), "
           "Xcode's command line tools on macOS.",
    "socat": "Install it with `sh boards/install-tools.sh` (Debian's socat).",
    "gdb-multiarch": "Install it with `sh boards/install-tools.sh` (Debian's gdb-multiarch; "
                     "`apt install gdb-multiarch`).",
    "arm-none-eabi-gcc": "Install it with `sh boards/install-tools.sh` (Debian's "
                         "gcc-arm-none-eabi and libnewlib-arm-none-eabi).",
    "arm-none-eabi-g++": "Install it with `apt install gcc-arm-none-eabi "
                         "libstdc++-arm-none-eabi-newlib` (Debian; the C++ library the "
                         "TFLM firmware links).",
}


def require_tool(tool) -> str:
    """The full path of ``tool``, or ToolNotFoundError saying how to install it."""
    path = shutil.which(tool)
    if path is None:
        raise ToolNotFoundError(tool, TOOL_HINTS.get(tool, "Install it and put it on PATH."))
    return path


def run_tool(cmd, *, what, timeout, cwd=None, check=True, text=True, error=DeployError,
             hint="", input=None) -> subprocess.CompletedProcess:
    """Run an external program with a deadline, capturing its output (text, or bytes with
    ``text=False``), feeding it ``input`` (str, or bytes with ``text=False``) on stdin.

    Raises:
        DeployError (or ``error``): it ran past ``timeout`` seconds, or (with ``check``)
            exited with an error; the message names ``what``, gives its last lines and
            ends with ``hint``.
    """
    cmd = [str(c) for c in cmd]
    try:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=text, timeout=timeout,
                                input=input)
    except subprocess.TimeoutExpired:
        raise error(f"{what} did not finish within {timeout} s: {' '.join(cmd)}") from None
    if check and result.returncode != 0:
        out = result.stderr or result.stdout
        out = out if text else out.decode(errors="replace")
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise error(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}"
                    + (f"\n{hint}" if hint else ""))
    return result
