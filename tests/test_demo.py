"""The README's demo command, in fast mode (same code path, few epochs), and what a
student sees while it runs: tinykit's lines, none of TensorFlow's start-up notices."""
import os
import re
import subprocess
import sys

import pytest

from tinykit import _quiet, cli

# A line from TensorFlow's C++ or Python logging, or the converter's prints.
TF_NOISE = re.compile(r"^[EWIF]\d{4} |tensorflow/|oneDNN|cuInit|fully_quantize|WARNING:"
                      r"|retracing")

# What absl's C++ logger and the converter print (shapes copied from real runs).
NOTICE = ("I0000 00:00:1795668966.899552    7173 port.cc:153] oneDNN custom operations "
          "are on.\n")
SETTINGS = "fully_quantize: 0, inference_type: 6, input_inference_type: INT8\n"


def _env(root, **extra):
    """The environment of a fresh Python using this checkout's tinykit, with tinykit's
    own defaults (no inherited TensorFlow log level, not verbose)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TINYKIT_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _noise(text):
    return [line for line in text.splitlines() if TF_NOISE.search(line)]


@pytest.mark.timeout(2400)
def test_demo_runs_both_examples_to_the_emulated_board_quietly(tmp_path, root):
    out_dir = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "tinykit.cli", "demo", "--fast",
                          "--out", str(out_dir)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=2000, env=_env(root, TINYKIT_FAST="1"))
    out = run.stdout
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for text in ("int8 test accuracy (TFLM):", "tensor arena (TFLM, measured):",
                 "DS-CNN float / int8 (TFLM):", "tiny_conv baseline int8:"):
        assert text in out
    assert out.count("outputs identical to TFLM (max 0 LSB apart)") == 2
    assert (out_dir / "gesture_nano33ble" / "gesture_nano33ble.ino").is_file()
    assert (out_dir / "kws" / "audio_features.h").is_file()
    assert _noise(run.stdout + "\n" + run.stderr) == []


@pytest.mark.timeout(600)
def test_verbose_lets_tensorflow_speak_again(root, tmp_path):
    """With TINYKIT_VERBOSE=1, ``import tensorflow`` after ``import tinykit`` prints
    TensorFlow's own notices (on x86 Linux it always prints some): the silence the demo
    test checks is tinykit's doing, not an accident of this machine."""
    code = "import tinykit, tensorflow; tensorflow.constant(1.0) + 1.0"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=500, env=_env(root, TINYKIT_VERBOSE="1"))
    assert run.returncode == 0, run.stderr[-3000:]
    noise = _noise(run.stdout + "\n" + run.stderr)
    assert noise, "TINYKIT_VERBOSE=1 should show TensorFlow's start-up notices"


def test_captured_drops_tensorflow_notices_and_keeps_the_rest(capfd, monkeypatch):
    monkeypatch.delenv("TINYKIT_VERBOSE", raising=False)
    with _quiet.captured():
        os.write(2, (NOTICE + "a real problem\n").encode())
        os.write(1, (SETTINGS + "a result\n").encode())
    out, err = capfd.readouterr()
    assert (out, err) == ("a result\n", "a real problem\n")


def test_captured_shows_everything_when_the_block_fails(capfd, monkeypatch):
    monkeypatch.delenv("TINYKIT_VERBOSE", raising=False)
    with pytest.raises(RuntimeError, match="converter broke"):
        with _quiet.captured():
            os.write(1, SETTINGS.encode())
            os.write(2, NOTICE.encode())
            raise RuntimeError("converter broke")
    out, err = capfd.readouterr()
    assert out == "" and err == SETTINGS + NOTICE


def test_verbose_lets_everything_through(capfd, monkeypatch):
    monkeypatch.setenv("TINYKIT_VERBOSE", "1")
    assert _quiet.verbose()
    with _quiet.captured():
        os.write(2, NOTICE.encode())
        os.write(1, SETTINGS.encode())
    assert capfd.readouterr() == (SETTINGS, NOTICE)
    monkeypatch.setenv("TINYKIT_VERBOSE", "0")
    assert not _quiet.verbose()


def test_boards_command_lists_the_boards(capsys):
    assert cli.main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "nano33ble" in out and "mps2-an386" in out
