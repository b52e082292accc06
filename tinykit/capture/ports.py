"""Serial ports as URLs: real boards, ``socket://``, ``rfc2217://``, ``loop://``, ``sim://``."""
from __future__ import annotations

from dataclasses import dataclass

import serial
import serial.tools.list_ports

from ..errors import CaptureError

SIM_PORTS = (
    ("sim://imu", "simulated board: IMU_Capture gestures (bundled magic_wand), real time"),
    ("sim://imu?speed=max", "simulated board: IMU_Capture gestures, as fast as possible"),
    ("sim://audio", "simulated board: 16 kHz audio frames (test tone), real time"),
)


@dataclass
class PortInfo:
    """A port :func:`open_port` can open: its URL and a description."""
    url: str
    description: str = ""
    hwid: str = ""

    def __str__(self):
        return f"{self.url}  ({self.description})" if self.description else self.url


def list_ports(sim=True) -> list:
    """Serial ports found on this machine, then (with ``sim``) the simulated boards.

    Example:
        >>> [p.url for p in list_ports()][-1]
        'sim://audio'
    """
    found = [PortInfo(p.device, p.description or "", p.hwid or "")
             for p in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device)]
    if sim:
        found += [PortInfo(url, text, "sim") for url, text in SIM_PORTS]
    return found


def open_port(url, baudrate=115200, timeout=0.2, **kwargs):
    """Open a port given as a URL or device path; returns a pyserial port object.

    Anything ``serial.serial_for_url`` opens works: ``/dev/ttyACM0``, ``COM3``,
    ``socket://localhost:4321``, ``rfc2217://host:port``, ``loop://``, ``sim://imu``.

    Raises:
        CaptureError: the port cannot be opened; the message lists the ports found.

    Example:
        >>> with open_port("loop://") as port:
        ...     _ = port.write(b"aX,aY,aZ,gX,gY,gZ\\n")
        ...     port.readline()
        b'aX,aY,aZ,gX,gY,gZ\\n'
    """
    from . import _register
    _register()
    if not isinstance(url, str) or not url.strip():
        raise CaptureError(f"port must be a URL or device path like '/dev/ttyACM0' or "
                           f"'sim://imu', got {url!r}.")
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, **kwargs)
    except (serial.SerialException, ValueError) as e:
        ports = ", ".join(p.url for p in list_ports()) or "none"
        hint = ""
        if "ermission" in str(e):
            hint = " On Linux, add yourself to the 'dialout' group (sudo usermod -aG dialout $USER) and log in again."
        elif "No such file" in str(e) or "could not open" in str(e):
            hint = " Is the board plugged in and the port name right?"
        raise CaptureError(f"cannot open port {url!r}: {e}.{hint} Ports available: {ports}.") from None


class PtyPair:
    """Two connected pseudo-terminals made by ``socat`` (a null-modem cable in software).

    What is written to one end is read from the other, through the kernel's tty layer,
    as from a USB serial board. Use as a context manager; ``a`` and ``b`` are the paths.

    Example:
        >>> with PtyPair() as pair:  # doctest: +SKIP
        ...     board, host = open_port(pair.a), open_port(pair.b)
    """

    def __init__(self, timeout=5.0):
        import re
        import subprocess
        import time
        from .._tools import require_tool
        require_tool("socat")
        self.process = subprocess.Popen(
            ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        paths, deadline = [], time.monotonic() + timeout
        while len(paths) < 2 and time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            m = re.search(r"PTY is (\S+)", line)
            if m:
                paths.append(m.group(1))
        if len(paths) < 2:
            self.close()
            raise CaptureError("socat did not create a pty pair; is /dev/pts available?")
        self.a, self.b = paths

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        if self.process.stderr:
            self.process.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
