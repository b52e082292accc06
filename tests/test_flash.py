"""The real flash tools with no board attached: each runs, and its "no device" answer
becomes a DeployError naming the port or probe and listing what is attached. The
boards are made in the test (the board descriptions that choose these flashers come
later); a tool that exits 0 after failing is caught."""
import importlib.util
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from tinykit.deploy import Board
from tinykit.deploy.flash import (bossac, check_uf2, daplink, dfu_util, esptool, flash,
                                  flash_image, openocd, pyocd, serial_ports, uf2, uf2_drives)
from tinykit.deploy.project import Project
from tinykit.errors import DeployError, ToolNotFoundError

# A port and a probe serial no machine running the tests has.
NO_PORT = "/dev/ttyACM97"
NO_PROBE = "0240000032044e4500000000"


def _needs(tool):
    if tool in ("esptool", "pyocd"):
        present = importlib.util.find_spec(tool) is not None or shutil.which(tool)
    else:
        present = shutil.which(tool)
    return pytest.mark.skipif(not present, reason=f"{tool} is not installed "
                              f"(sh boards/install-tools.sh, or pip install {tool})")


def _board(tmp_path, flasher, **flash):
    return Board(name=f"test-{flasher}", title=f"a test board flashed with {flasher}",
                 folder=tmp_path, flasher=flasher, extra={"flash": flash})


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "app.bin"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def _ports_listed(message):
    assert "Serial ports seen: " in message
    seen = serial_ports()
    for port in seen:
        assert port in message
    if not seen:
        assert "Serial ports seen: none" in message


@_needs("bossac")
def test_bossac_names_the_port_with_no_bootloader(tmp_path, image):
    with pytest.raises(DeployError) as e:
        flash_image(image, _board(tmp_path, "bossac", offset=0x10000), port=NO_PORT)
    msg = str(e.value)
    assert f"no board answered on {NO_PORT}" in msg and "No device found" in msg
    _ports_listed(msg)


@_needs("bossac")
def test_bossac_on_a_port_that_exists_but_is_no_bootloader(tmp_path, image):
    pty = pytest.importorskip("tinykit.capture").PtyPair
    if not shutil.which("socat"):
        pytest.skip("socat is not installed")
    with pty() as pair:
        with pytest.raises(DeployError, match=f"no board answered on {pair.a}"):
            bossac(image, pair.a)


def _fake_tool(tmp_path, monkeypatch, name, output, code=0):
    """A stand-in on PATH that prints what the real tool prints and exits with ``code``."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_a_tool_that_exits_0_after_failing_is_caught(tmp_path, image, monkeypatch):
    # Exit 0, and the no-device answer in the output: still no board.
    _fake_tool(tmp_path, monkeypatch, "bossac", f"No device found on {NO_PORT}")
    with pytest.raises(DeployError, match=f"no board answered on {NO_PORT}"):
        bossac(image, NO_PORT)
    # Exit 0 without the tool's own success line: not flashed either.
    _fake_tool(tmp_path, monkeypatch, "bossac", "Erase flash\nWrite 4096 bytes to flash")
    with pytest.raises(DeployError, match="exited 0 but did not report a successful flash"):
        bossac(image, NO_PORT)
    _fake_tool(tmp_path, monkeypatch, "dfu-util", "dfu-util 0.11\nOpening DFU capable USB device...")
    with pytest.raises(DeployError, match="exited 0 but did not report"):
        dfu_util(image, device="0483:df11", address=0x08000000)


def test_a_tool_reporting_success_passes(tmp_path, image, monkeypatch):
    _fake_tool(tmp_path, monkeypatch, "bossac", "Write 4096 bytes to flash\nVerify successful")
    assert "Verify successful" in bossac(image, NO_PORT)


@_needs("esptool")
def test_esptool_names_a_missing_port(tmp_path, image):
    with pytest.raises(DeployError) as e:
        flash_image(image, _board(tmp_path, "esptool", chip="esp32s3"), port=NO_PORT)
    msg = str(e.value)
    assert f"no board answered on {NO_PORT}" in msg and "Could not open" in msg
    _ports_listed(msg)


@_needs("esptool")
def test_esptool_on_a_port_where_no_chip_answers(tmp_path, image):
    if not shutil.which("socat"):
        pytest.skip("socat is not installed")
    from tinykit.capture import PtyPair
    with PtyPair() as pair:
        with pytest.raises(DeployError, match=f"no board answered on {pair.a}: Failed to connect"):
            esptool(image, pair.a, connect_attempts=1)


@_needs("openocd")
@pytest.mark.parametrize("interface", ["interface/cmsis-dap.cfg", "interface/stlink.cfg"])
def test_openocd_names_the_probe(tmp_path, image, interface):
    board = _board(tmp_path, "openocd", interface=interface, target="target/stm32l4x.cfg",
                   address=0x08000000)
    with pytest.raises(DeployError) as e:
        flash_image(image, board)
    msg = str(e.value)
    assert f"no board answered on the debug probe ({interface})" in msg
    assert "USB devices seen: " in msg
    _ports_listed(msg)


@_needs("pyocd")
def test_pyocd_names_the_probe(tmp_path, image):
    board = _board(tmp_path, "pyocd", target="cortex_m", address=0)
    with pytest.raises(DeployError) as e:
        flash_image(image, board, probe=NO_PROBE)
    msg = str(e.value)
    assert f"no board answered on probe {NO_PROBE}" in msg and NO_PROBE in msg
    _ports_listed(msg)


@_needs("dfu-util")
def test_dfu_util_names_the_device(tmp_path, image):
    board = _board(tmp_path, "dfu-util", device="0483:df11", address=0x08000000)
    with pytest.raises(DeployError) as e:
        flash_image(image, board)
    msg = str(e.value)
    assert "no board answered on USB device 0483:df11" in msg
    assert "DFU devices seen: none" in msg
    _ports_listed(msg)


def _uf2_file(path, payload=b"\x01" * 512):
    blocks = []
    chunks = [payload[i:i + 256] for i in range(0, len(payload), 256)]
    for i, chunk in enumerate(chunks):
        head = struct.pack("<IIIIIIII", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000 + 256 * i,
                           256, i, len(chunks), 0xE48BFF56)
        blocks.append(head + chunk.ljust(476, b"\0") + struct.pack("<I", 0x0AB16F30))
    path.write_bytes(b"".join(blocks))
    return path


def _drive(folder, board_id):
    folder.mkdir(parents=True)
    (folder / "INFO_UF2.TXT").write_text(f"UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n"
                                         f"Board-ID: {board_id}\n")
    return folder


def test_uf2_copies_to_the_drive_found_by_its_info_file(tmp_path):
    image = _uf2_file(tmp_path / "app.uf2")
    plain, drive = tmp_path / "usb-stick", _drive(tmp_path / "RPI-RP2", "RPI-RP2")
    plain.mkdir()
    assert uf2_drives([plain, drive]) == [drive]
    written = uf2(image, board_id="RPI-RP2", roots=[plain, drive])
    assert written == drive / "app.uf2" and written.read_bytes() == image.read_bytes()


def test_uf2_with_no_drive_lists_the_drives_seen(tmp_path):
    image = _uf2_file(tmp_path / "app.uf2")
    plain = tmp_path / "usb-stick"
    plain.mkdir()
    with pytest.raises(DeployError, match=f"found no UF2 drive .* drives seen: {plain}"):
        uf2(image, roots=[plain])
    other = _drive(tmp_path / "XIAO", "SAMD21G18A-Xiao-v0")
    with pytest.raises(DeployError, match="no UF2 drive of a RPI-RP2 board.*SAMD21G18A-Xiao"):
        uf2(image, board_id="RPI-RP2", roots=[plain, other])
    with pytest.raises(DeployError, match="not a UF2 drive"):
        uf2(image, drive=plain)


def test_uf2_refuses_a_file_that_is_not_uf2(tmp_path, image):
    bad = tmp_path / "bad.uf2"
    bad.write_bytes(image.read_bytes()[:1024])
    with pytest.raises(DeployError, match="block 0 is not a UF2 block"):
        check_uf2(bad)
    assert check_uf2(_uf2_file(tmp_path / "ok.uf2", b"\2" * 1024)) == 4


def test_flash_builds_a_project_with_make_then_uses_the_boards_flasher(tmp_path, monkeypatch):
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    (project_dir / "Makefile").write_text("app.bin:\n\tprintf 'image' > app.bin\n")
    _fake_tool(tmp_path, monkeypatch, "bossac", "Write 5 bytes to flash\nVerify successful")
    board = _board(tmp_path, "bossac")
    project = Project(path=project_dir, board=board.name, app="test")
    assert flash(project, compile_only=True, board=board) == project_dir / "app.bin"
    assert "Verify successful" in flash(project, port=NO_PORT, board=board)


def test_a_missing_tool_says_how_to_install_it(tmp_path, image, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="bossa-cli"):
        bossac(image, NO_PORT)
    with pytest.raises(DeployError, match="needs target="):
        flash_image(image, _board(tmp_path, "openocd"))


def test_daplink_copies_the_hex_to_the_microbit_drive(tmp_path):
    hex_file = tmp_path / "infer.hex"
    hex_file.write_text(":020000040000FA\n:00000001FF\n")
    drive = tmp_path / "media" / "MICROBIT"
    drive.mkdir(parents=True)
    (drive / "DETAILS.TXT").write_text("# DAPLink Firmware - see https://daplink.io\n")
    written = flash_image(hex_file, "microbit", port=drive)
    assert written == drive / "infer.hex" and written.read_bytes() == hex_file.read_bytes()
    other = tmp_path / "media" / "DAPLINK"
    other.mkdir()
    (other / "DETAILS.TXT").write_text("# DAPLink Firmware\n")
    roots = [drive, other, tmp_path]
    assert daplink(hex_file, label="MICROBIT", roots=roots) == written
    with pytest.raises(DeployError, match="several DAPLink drives"):
        daplink(hex_file, roots=roots)
    seen = re.escape(str(tmp_path))
    with pytest.raises(DeployError, match=f"no DAPLink drive .*drives seen: {seen}\\."):
        daplink(hex_file, roots=[tmp_path])
    with pytest.raises(DeployError, match="expected a .hex or .bin image"):
        daplink(_uf2_file(tmp_path / "app.uf2"), drive=drive)
