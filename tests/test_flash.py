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


# -- arduino-cli: the board's core and libraries, installed only with consent -----------
# A fake arduino-cli (conftest.fake_arduino_cli) answers as the real one does; the
# expected commands below are written out by hand from each board file.
SEEED_URL = "https://files.seeedstudio.com/arduino/package_seeeduino_boards_index.json"
ESP32_URL = "https://espressif.github.io/arduino-esp32/package_esp32_index.json"
LISTS = [["core", "list", "--format", "json"], ["lib", "list", "--format", "json"]]


def _arduino_project(tmp_path, board):
    folder = tmp_path / f"sketch_{board}"
    folder.mkdir()
    (folder / f"sketch_{board}.ino").write_text("void setup() {}\nvoid loop() {}\n")
    return Project(path=folder, board=board, app="gesture",
                   files=[folder / f"sketch_{board}.ino"])


def test_a_missing_library_is_refused_with_the_commands_that_install_it(tmp_path,
                                                                       fake_arduino_cli):
    from tinykit.deploy.flash import arduino_setup
    from tinykit.errors import SetupNeededError
    fake_arduino_cli.set(cores={"arduino:mbed_nano": "4.1.5"},
                         libs={"Arduino_LSM9DS1": "1.1.1"})
    project = _arduino_project(tmp_path, "nano33ble")
    with pytest.raises(SetupNeededError) as e:
        flash(project, port=NO_PORT)
    msg = str(e.value)
    assert "library Chirale_TensorFLowLite@2.0.0 (not installed)" in msg
    assert "arduino-cli lib install Chirale_TensorFLowLite@2.0.0" in msg
    assert "install=True" in msg and "tinykit flash PROJECT --install" in msg
    assert "core" not in msg.split("needs:")[1].split(".")[0]        # the core is there
    assert e.value.commands == [["lib", "update-index"],
                                ["lib", "install", "Chirale_TensorFLowLite@2.0.0"]]
    assert fake_arduino_cli.calls() == LISTS                          # nothing installed, no compile
    assert fake_arduino_cli.state["libs"] == {"Arduino_LSM9DS1": "1.1.1"}
    # All there: nothing to run, and the same call returns [].
    fake_arduino_cli.set(libs={"Arduino_LSM9DS1": "1.1.1", "Chirale_TensorFLowLite": "2.0.0"})
    assert arduino_setup("nano33ble") == []


def test_install_runs_the_commands_the_board_file_implies_then_compiles(tmp_path,
                                                                        fake_arduino_cli):
    project = _arduino_project(tmp_path, "xiao_nrf52840_sense")
    assert flash(project, port=NO_PORT, install=True) is not None
    calls = fake_arduino_cli.calls()
    assert calls[:2] == LISTS and calls[-4:-2] == LISTS       # checked before and after
    assert calls[2:-4] == [
        ["core", "update-index", "--additional-urls", SEEED_URL],
        ["core", "install", "Seeeduino:mbed", "--additional-urls", SEEED_URL],
        ["lib", "update-index"],
        ["lib", "install", "Seeed Arduino LSM6DS3@2.0.7"],     # one argument, spaces and all
        ["lib", "install", "Seeed Arduino Mic@1.0"],
        ["lib", "install", "Chirale_TensorFLowLite@2.0.0"]]
    assert calls[-2][:3] == ["compile", "--fqbn", "Seeeduino:mbed:xiaonRF52840Sense"]
    assert calls[-1][:3] == ["upload", "-p", NO_PORT]
    assert fake_arduino_cli.state["libs"] == {"Seeed Arduino LSM6DS3": "2.0.7",
                                              "Seeed Arduino Mic": "1.0",
                                              "Chirale_TensorFLowLite": "2.0.0"}


def test_a_library_or_core_at_another_version_counts_as_missing(fake_arduino_cli):
    from tinykit.deploy.flash import arduino_setup
    from tinykit.errors import SetupNeededError
    fake_arduino_cli.set(cores={"esp32:esp32": "3.0.2"}, libs={"Chirale_TensorFLowLite": "1.0.0"})
    with pytest.raises(SetupNeededError) as e:
        arduino_setup("xiao_esp32s3_sense")
    assert "core esp32:esp32@3.0.7 (3.0.2 installed)" in str(e.value)
    assert "library Chirale_TensorFLowLite@2.0.0 (1.0.0 installed)" in str(e.value)
    ran = arduino_setup("xiao_esp32s3_sense", install=True)
    assert ran == [["core", "update-index", "--additional-urls", ESP32_URL],
                   ["core", "install", "esp32:esp32@3.0.7", "--additional-urls", ESP32_URL],
                   ["lib", "update-index"], ["lib", "install", "Chirale_TensorFLowLite@2.0.0"]]
    assert fake_arduino_cli.state["cores"] == {"esp32:esp32": "3.0.7"}


@pytest.mark.parametrize("shape", ["1.x", "0.x"])
def test_both_json_shapes_of_core_and_lib_list_are_read(fake_arduino_cli, shape):
    from tinykit.deploy.flash import arduino_installed
    fake_arduino_cli.set(shape=shape)
    assert arduino_installed() == ({}, {})            # 1.x prints {"platforms": null}
    fake_arduino_cli.set(cores={"arduino:mbed_nano": "4.1.5", "esp32:esp32": "3.0.7"},
                         libs={"Seeed Arduino Mic": "1.0", "Arduino_LSM9DS1": "1.1.1"})
    assert arduino_installed() == ({"arduino:mbed_nano": "4.1.5", "esp32:esp32": "3.0.7"},
                                   {"Seeed Arduino Mic": {"1.0"}, "Arduino_LSM9DS1": {"1.1.1"}})


def test_a_failing_install_becomes_a_deploy_error_with_its_output(tmp_path, fake_arduino_cli):
    fake_arduino_cli.set(cores={"arduino:mbed_nano": "4.1.5"}, fail={
        "lib install": "Error installing Arduino_LSM9DS1: no valid library found"})
    project = _arduino_project(tmp_path, "nano33ble")
    with pytest.raises(DeployError) as e:
        flash(project, compile_only=True, install=True)
    msg = str(e.value)
    assert "arduino-cli lib install for the" in msg and "failed (exit 1)" in msg
    assert "no valid library found" in msg
    assert not any(c[0] == "compile" for c in fake_arduino_cli.calls())


def test_an_install_that_changes_nothing_is_caught(fake_arduino_cli):
    from tinykit.deploy.flash import arduino_setup
    fake_arduino_cli.set(noop=True)
    with pytest.raises(DeployError, match="reported success but still lacks core arduino:mbed_nano"):
        arduino_setup("nano33ble", install=True)


def test_an_arduino_cli_that_hangs_hits_the_deadline(fake_arduino_cli):
    import time
    from tinykit.deploy.flash import arduino_setup
    fake_arduino_cli.set(hang={"core list": 60})
    start = time.monotonic()
    with pytest.raises(DeployError, match=r"arduino-cli core list did not finish within 1 s"):
        arduino_setup("nano33ble", timeout=1)
    assert time.monotonic() - start < 10
    fake_arduino_cli.set(hang={"core install": 60})
    with pytest.raises(DeployError, match=r"arduino-cli core install for the .* did not finish "
                                          r"within 2 s"):
        arduino_setup("nano33ble", install=True, timeout=2)


def test_build_image_sets_up_arduino_cli_first(tmp_path, fake_arduino_cli):
    from tinykit.errors import SetupNeededError
    project = _arduino_project(tmp_path, "xiao_esp32s3_sense")
    with pytest.raises(SetupNeededError, match="core esp32:esp32@3.0.7 .not installed."):
        flash(project, compile_only=True)
    assert fake_arduino_cli.calls() == LISTS


def test_every_third_party_core_names_its_board_manager_url():
    from tinykit import deploy
    checked = []
    for name in deploy.boards():
        b = deploy.board(name)
        if "fqbn" not in b.extra:
            continue
        core = b.extra["core"]
        assert b.extra["fqbn"].startswith(core + ":"), name
        if not core.startswith("arduino:"):
            assert b.extra.get("core_url", "").startswith("https://"), name
            checked.append(name)
    assert {"xiao_nrf52840_sense", "xiao_esp32s3_sense", "nucleo_l4r5zi"} <= set(checked)
