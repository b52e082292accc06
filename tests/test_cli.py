"""Each `tinykit` command on bundled data, sim:// ports and the emulated board (fast
mode: TINYKIT_FAST=1, one epoch)."""
import json
import shutil

import pytest

from tinykit import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`tinykit train gesture magic_wand` once, for the commands that need its model."""
    out = tmp_path_factory.mktemp("train")
    code = cli.main(["train", "gesture", "magic_wand", "--out", str(out), "--epochs", "1",
                     "--fast"])
    assert code == 0
    return out / "gesture_nano33ble"


def test_train_gesture_writes_the_model_and_its_project(trained):
    for name in ("model.tflite", "labels.txt", "model_features.json", "tinykit.json",
                 "gesture_nano33ble.ino"):
        assert (trained / name).is_file(), name
    meta = json.loads((trained / "tinykit.json").read_text())
    assert meta["board"] == "nano33ble" and len(meta["labels"]) == 5


def test_export_makes_a_project_and_a_plain_export(trained, tmp_path, capsys):
    model = trained / "model.tflite"
    args = ["export", str(model), "--labels", str(trained / "labels.txt"),
            "--features", str(trained / "model_features.json"), "--out", str(tmp_path)]
    assert cli.main(args + ["--board", "nano33ble", "--name", "wand"]) == 0
    assert (tmp_path / "wand" / "wand.ino").is_file()
    assert "tinykit flash" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert (tmp_path / "model_data.h").is_file()
    # The keyword detector's operating point travels with a plain export too.
    from tinykit.streaming import KeywordDetector, load_detector
    saved = KeywordDetector(threshold=0.8).save(tmp_path / "saved_detector.json")
    assert cli.main(args + ["--detector", str(saved), "--name", "kws"]) == 0
    assert load_detector(tmp_path / "kws_detector.json").threshold == 0.8
    # Labels that do not match the model's outputs: an error, exit 1.
    assert cli.main(["export", str(model), "--labels", "a,b", "--out", str(tmp_path)]) == 1
    assert "tinykit: error: 2 labels given but the model has 5 outputs" in capsys.readouterr().err


def test_flash_an_emulated_project_boots_its_harness(trained, tmp_path, capsys):
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc (sh boards/install-tools.sh)")
    from tinykit import convert
    from tinykit.deploy import emulated
    tfl = convert.as_model((trained / "model.tflite").read_bytes())
    project = emulated.generate_project(tfl, out=tmp_path)
    assert cli.main(["flash", str(project.path)]) == 0
    out = capsys.readouterr().out
    assert "runs harness.elf and answers tinykit.deploy.evaluate_on_device at socket://" in out


def test_flash_errors_exit_1_with_a_clear_message(trained, tmp_path, capsys, monkeypatch):
    assert cli.main(["flash", str(tmp_path)]) == 1
    assert "is not a tinykit project (no tinykit.json)" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))          # no arduino-cli
    assert cli.main(["flash", str(trained), "--port", "/dev/ttyACM97"]) == 1
    assert "tinykit: error: `arduino-cli` was not found" in capsys.readouterr().err


def test_capture_records_gestures_from_the_simulated_board(tmp_path, capsys):
    assert cli.main(["capture", "sim://imu?speed=max", "--label", "Revelio", "--out",
                     str(tmp_path), "--gestures", "3", "--quiet"]) == 0
    assert "saved 3 gestures" in capsys.readouterr().out
    lines = (tmp_path / "Revelio.csv").read_text().strip().splitlines()
    assert len([line for line in lines if line and line[0] in "-0123456789"]) == 3 * 119
    # The first gesture the simulated board plays (AlohomoraCharm) is a knock, no movement.
    assert cli.main(["capture", "sim://imu?speed=max", "--label", "A", "--out",
                     str(tmp_path), "--gestures", "2", "--refuse-still", "--quiet"]) == 0
    assert "saved 2 gestures" in (out := capsys.readouterr().out) and "refused 1 still" in out


def test_capture_refuses_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["capture", "sim://imu", "--label", "x", "--out", str(tmp_path),
                  "--gestures", "0"])
    assert e.value.code == 2
    assert cli.main(["capture", "/dev/ttyACM97", "--label", "x", "--out", str(tmp_path),
                     "--gestures", "1"]) == 1
    assert "tinykit: error: cannot open port '/dev/ttyACM97'" in capsys.readouterr().err


def test_monitor_prints_the_boards_lines(capsys):
    assert cli.main(["monitor", "sim://imu?speed=max", "--seconds", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "aX,aY,aZ,gX,gY,gZ"
    assert len(lines) > 10 and all(len(line.split(",")) == 6 for line in lines[1:10])


def test_boards_and_ports(capsys):
    assert cli.main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "nano33ble" in out and "mps2-an386" in out
    assert cli.main(["ports"]) == 0
    assert "sim://imu" in capsys.readouterr().out
    assert cli.main(["ports", "--no-sim"]) == 0
    assert "sim://" not in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_train_kws_exports_the_model_and_its_feature_settings(tmp_path):
    assert cli.main(["train", "kws", "speech_commands", "--out", str(tmp_path),
                     "--epochs", "1", "--fast"]) == 0
    for name in ("ds_cnn.tflite", "ds_cnn_features.json", "audio_features.h", "labels.txt"):
        assert (tmp_path / "kws" / name).is_file(), name


def _arduino_project(tmp_path, board="nano33ble"):
    """A project folder as `tinykit export --board` leaves it (tinykit.json and a sketch)."""
    folder = tmp_path / "wand"
    folder.mkdir()
    (folder / "wand.ino").write_text("void setup() {}\nvoid loop() {}\n")
    (folder / "tinykit.json").write_text(json.dumps({"board": board, "app": "gesture"}))
    return folder


def test_flash_without_install_refuses_and_lists_the_commands(tmp_path, capsys,
                                                              fake_arduino_cli):
    project = _arduino_project(tmp_path)
    assert cli.main(["flash", str(project), "--port", "/dev/ttyACM97"]) == 1   # stdin: no tty
    err = capsys.readouterr().err
    assert "tinykit: error: arduino-cli lacks what the" in err
    assert "arduino-cli core install arduino:mbed_nano" in err
    assert "arduino-cli lib install Arduino_LSM9DS1@1.1.1" in err and "--install" in err
    assert [c[:2] for c in fake_arduino_cli.calls()] == [["core", "list"], ["lib", "list"]]


def test_flash_install_installs_compiles_and_uploads(tmp_path, capsys, fake_arduino_cli):
    project = _arduino_project(tmp_path)
    assert cli.main(["flash", str(project), "--port", "/dev/ttyACM97", "--install"]) == 0
    assert capsys.readouterr().out.strip().endswith("done")
    ran = [c[:3] for c in fake_arduino_cli.calls()]
    assert ["core", "install", "arduino:mbed_nano"] in ran
    assert ["lib", "install", "Chirale_TensorFLowLite@2.0.0"] in ran
    assert ran[-2][0] == "compile" and ran[-1][0] == "upload"


@pytest.mark.parametrize("answer, code", [("y", 0), ("", 1), ("n", 1)])
def test_flash_on_a_terminal_asks_before_installing(tmp_path, capsys, monkeypatch,
                                                    fake_arduino_cli, answer, code):
    project = _arduino_project(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    assert cli.main(["flash", str(project), "--port", "/dev/ttyACM97"]) == code
    assert asked == ["install these? [y/N] "]
    err = capsys.readouterr().err
    assert "arduino-cli lib install Arduino_LSM9DS1@1.1.1" in err       # shown before asking
    installed = any(c[:2] == ["lib", "install"] for c in fake_arduino_cli.calls())
    assert installed == (answer == "y")
