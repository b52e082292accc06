"""Flash a generated project with the tool its board uses, when that tool is installed."""
from __future__ import annotations

from .._tools import TOOL_HINTS, require_tool, run_tool
from ..errors import DeployError
from .boards import board as get_board


def flash(project, port=None, *, compile_only=False):
    """Build and upload a generated project to a board on ``port``.

    Uses the board's flasher: ``arduino-cli`` for Arduino boards; ``qemu`` for the
    emulated board (``mps2-an386``), where flashing is building the project's firmware
    and booting it (no port), and the result is the
    :class:`~tinykit.deploy.emulated.DeviceRun` with what the board computed.
    ``compile_only=True`` builds without uploading (or booting).

    Raises ToolNotFoundError naming the tool and how to install it when it is missing,
    DeployError with the tool's last lines when building or uploading fails, and
    DeviceError when the emulated board faults or hangs.

    Example:
        >>> flash(project, port="/dev/ttyACM0")  # doctest: +SKIP
        >>> flash(tinykit.deploy.emulated.generate_project(tfl, x)).outputs  # doctest: +SKIP
    """
    b = get_board(project.board)
    tool = b.flasher
    if tool == "qemu":
        from . import emulated
        if compile_only:
            emulated.build_project(project)
            return None
        return emulated.run_project(project)
    if tool == "arduino-cli":
        exe = require_tool(tool)
        fqbn = b.extra["fqbn"]
        run_tool([exe, "compile", "--fqbn", fqbn, project.path], what="arduino-cli compile",
            timeout=1800)
        if compile_only:
            return None
        if not port:
            raise DeployError("no port given: pass port='/dev/ttyACM0' (or COM3); "
                              "tinykit.capture.list_ports() lists what is attached.")
        return run_tool([exe, "upload", "-p", port, "--fqbn", fqbn, project.path],
                   what="arduino-cli upload", timeout=300)
    if tool in TOOL_HINTS:
        require_tool(tool)
        raise DeployError(f"flashing {b.title} with {tool} is not wired up yet; the build "
                          f"output in {project.path} can be flashed with {tool} by hand.")
    raise DeployError(f"board {b.name!r} names no known flasher ({tool!r}).")
