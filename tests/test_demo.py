"""The README's demo command, in fast mode (same code path, few epochs)."""
from tinykit import cli


def test_demo_runs_both_examples_to_the_emulated_board(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "1")
    assert cli.main(["demo", "--fast", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for text in ("int8 test accuracy (TFLM):", "tensor arena (TFLM, measured):",
                 "DS-CNN float / int8 (TFLM):", "tiny_conv baseline int8:"):
        assert text in out
    assert out.count("outputs identical to TFLM (max 0 LSB apart)") == 2
    assert (tmp_path / "gesture_nano33ble" / "gesture_nano33ble.ino").is_file()
    assert (tmp_path / "kws" / "audio_features.h").is_file()


def test_boards_command_lists_the_boards(capsys):
    assert cli.main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "nano33ble" in out and "mps2-an386" in out
