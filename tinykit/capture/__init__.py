"""Capture: record labelled sensor data from a board (real, emulated or simulated).

Ports are URLs, so the same call works with a board on USB, the emulated board in
QEMU and the simulated board ``sim://``::

    from tinykit import capture
    capture.list_ports()
    s = capture.record("sim://imu?speed=max", label="Revelio", out="data/wand", gestures=5)
    s = capture.record("/dev/ttyACM0", label="yes", out="data/kws", seconds=10)

Protocols: IMU_Capture CSV text (:mod:`.imu_lines`) and a COBS-framed binary protocol
with sequence numbers and CRC-32 for audio (:mod:`.frames`).
"""
import serial

from ..errors import CaptureError


def _register():
    """Make ``serial.serial_for_url`` find ``sim://`` (our ``protocol_sim`` module)."""
    if __name__ not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(__name__)


_register()

from .frames import FrameDecoder, FrameStats, encode_frame  # noqa: E402
from .imu_lines import ImuLineParser, format_row  # noqa: E402
from .ports import PortInfo, PtyPair, list_ports, open_port  # noqa: E402
from .recorder import CaptureSummary, record  # noqa: E402

__all__ = ["list_ports", "open_port", "PortInfo", "PtyPair", "record", "CaptureSummary",
           "FrameDecoder", "FrameStats", "encode_frame", "ImuLineParser", "format_row",
           "CaptureError", "start_emulator"]


def start_emulator(*args, **kwargs):
    """Build the capture firmware and boot it in QEMU; see :func:`.emulator.start`."""
    from .emulator import start
    return start(*args, **kwargs)
