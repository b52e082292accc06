"""The fit check: a model's flash, the arena a sketch gives it and its ops against each
board, less what the board's core, TFLM and app take; refused with its figures and what
to try."""
import re
import tomllib

import pytest

from tinykit import cli, deploy
from tinykit.deploy import tflm
from tinykit.errors import DeployError

LABELS = ["circle", "punch", "wave"]


def test_footprint_is_the_sum_of_core_tflm_and_app_figures():
    b = deploy.board("nano33ble")
    fp = tomllib.loads((b.folder / "board.toml").read_text())["footprint"]
    assert {"core_flash", "tflm_flash", "app_flash", "core_ram", "tflm_ram", "app_ram"} <= set(fp)
    assert b.reserved_flash_bytes == sum(v for k, v in fp.items() if k.endswith("_flash"))
    assert b.reserved_ram_bytes == sum(v for k, v in fp.items() if k.endswith("_ram"))


def test_a_small_model_fits_every_board_with_the_figures_left(small_gesture_model):
    model = small_gesture_model
    fits = deploy.fit_report(model)
    assert len(fits) == len(deploy.boards()) >= 7
    for f in fits:
        b = deploy.board(f.board)
        assert f.fits and not f.missing_ops and not f.problems(), f
        assert f.flash_left == b.flash_bytes - b.reserved_flash_bytes - model.flash_bytes
        assert f.ram_left == b.ram_bytes - b.reserved_ram_bytes - tflm.arena_size(model)
    assert tflm.arena_size(model) > model.arena_bytes   # plus CMSIS-NN scratch and a margin


def test_an_oversized_model_is_refused_with_its_figures_and_what_to_try():
    b = deploy.board("nano33ble")
    free_flash = b.flash_bytes - b.reserved_flash_bytes
    too_big = free_flash + 12_345
    with pytest.raises(DeployError) as e:
        b.check_fit(too_big, 10_000, ["CONV_2D", "SOFTMAX"])
    msg = str(e.value)
    assert f"needs {too_big:,} bytes of flash, {free_flash:,} are free" in msg
    assert "12,345 bytes too many" in msg and "fewer filters" in msg
    # Boards with more flash are named as what to try.
    assert "another board:" in msg and "nucleo_l4r5zi" in msg and "nano33ble_rev2" not in msg
    free_ram = b.ram_bytes - b.reserved_ram_bytes
    with pytest.raises(DeployError,
                       match=rf"needs {free_ram + 1:,} bytes of RAM.*: 1 bytes too many"):
        b.check_fit(1_000, free_ram + 1)
    assert b.check_fit(1_000, free_ram).ram_left == 0     # exactly full still fits


def test_ops_the_boards_tflm_cannot_run_are_refused():
    b = deploy.board("nano33ble")
    with pytest.raises(DeployError, match=r"ops NOT_AN_OP are not in the board's TFLM "
                                          r"\(Chirale_TensorFLowLite\)"):
        b.check_fit(1_000, 1_000, ["CONV_2D", "NOT_AN_OP"])


def test_generate_refuses_a_model_too_big_for_the_board(small_gesture_model, tmp_path):
    model = small_gesture_model
    b = deploy.board("nano33ble")
    small = deploy.Board(**{**vars(b), "flash_bytes": b.reserved_flash_bytes + 100})
    with pytest.raises(DeployError, match=rf"needs {model.flash_bytes:,} bytes of flash, "
                                          r"100 are free"):
        deploy.generate(model, small, "gesture", out=tmp_path, labels=LABELS)
    assert not (tmp_path / "gesture_nano33ble").exists()


def test_tflm_op_list_is_the_real_librarys(root):
    from test_arduino_real import shared_arduino
    header = (shared_arduino(root) / "Chirale_TensorFlowLite" / "src" / "tensorflow" / "lite"
              / "micro" / "micro_mutable_op_resolver.h").read_text()
    real = set(re.findall(r"AddBuiltin\(BuiltinOperator_([A-Z0-9_]+)", header))
    listed = tomllib.loads((deploy.boards_root() / "common" / "tflm.toml").read_text())
    assert set(listed["Chirale_TensorFLowLite"]["ops"]) == real and len(real) > 80


def test_cli_boards_prints_the_fit_table(small_gesture_model, tmp_path, capsys):
    model = small_gesture_model
    path = model.save(tmp_path / "m.tflite")
    assert cli.main(["boards", "--model", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{model.flash_bytes:,} bytes of flash" in out[0]
    assert out[1].split()[:3] == ["board", "fits", "flash"]
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert set(rows) == set(deploy.boards())
    nano = deploy.board("nano33ble")
    assert rows["nano33ble"][1] == "yes"
    left = nano.flash_bytes - nano.reserved_flash_bytes - model.flash_bytes
    assert rows["nano33ble"][2] == f"{left:,}"
    assert cli.main(["boards"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(deploy.boards())
