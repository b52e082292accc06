"""Flash a generated project with the tool its board uses, when that tool is installed."""
from __future__ import annotations

import shutil
import subprocess

from ..errors import DeployError, ToolNotFoundError
from .boards import board as get_board

# How to get each flashing tool, for the error raised when it is missing.
TOOL_HINTS = {
    "arduino-cli": "Install it from https://arduino.github.io/arduino-cli/ (or "
                   "`brew install arduino-cli`), then `arduino-cli core install "
                   "arduino:mbed_nano` and `arduino-cli lib install Arduino_LSM9DS1 "
                   "Chirale_TensorFlowLite`.",
    "esptool": "Install it with `pip install esptool`.",
    "pyocd": "Install it with `pip install pyocd`.",
    "bossac": "Install it with your package manager (`apt install bossa-cli`) or the "
              "Arduino IDE, which bundles it.",
    "picotool": "Install it from https://github.com/raspberrypi/picotool, or copy the "
                ".uf2 file to the RPI-RP2 drive by hand.",
    "dfu-util": "Install it with `apt install dfu-util` or `brew install dfu-util`.",
    "qemu-system-arm": "Install it with `sh boards/install-tools.sh` (Debian's qemu-system-arm).",
    "make": "Install it with `apt install make` (or your system's build tools).",
    "arm-none-eabi-gcc": "Install it with `sh boards/install-tools.sh` (Debian's "
                         "gcc-arm-none-eabi and libnewlib-arm-none-eabi).",
}


def require_tool(tool) -> str:
    """The full path of ``tool``, or ToolNotFoundError saying how to install it."""
    path = shutil.which(tool)
    if path is None:
        raise ToolNotFoundError(tool, TOOL_HINTS.get(tool, "Install it and put it on PATH."))
    return path


def _run(cmd, what):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise DeployError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")
    return result


def flash(project, port=None, *, compile_only=False):
    """Build and upload a generated project to a board on ``port``.

    Uses the board's flasher (``arduino-cli`` for Arduino boards). Raises
    ToolNotFoundError naming the tool and how to install it when it is missing, and
    DeployError with the tool's last lines when building or uploading fails.

    Example:
        >>> flash(project, port="/dev/ttyACM0")  # doctest: +SKIP
    """
    b = get_board(project.board)
    tool = b.flasher
    if tool == "arduino-cli":
        exe = require_tool(tool)
        fqbn = b.extra["fqbn"]
        _run([exe, "compile", "--fqbn", fqbn, str(project.path)], "arduino-cli compile")
        if compile_only:
            return None
        if not port:
            raise DeployError("no port given: pass port='/dev/ttyACM0' (or COM3); "
                              "tinykit.capture.list_ports() lists what is attached.")
        return _run([exe, "upload", "-p", port, "--fqbn", fqbn, str(project.path)],
                    "arduino-cli upload")
    if tool in TOOL_HINTS:
        require_tool(tool)
        raise DeployError(f"flashing {b.title} with {tool} is not wired up yet; the build "
                          f"output in {project.path} can be flashed with {tool} by hand.")
    raise DeployError(f"board {b.name!r} names no known flasher ({tool!r}).")
