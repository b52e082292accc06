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
    _check_keywords_on_the_board(out)


def _check_keywords_on_the_board(out):
    """The keyword part ends with the emulated board listening to a stream: its hits,
    misses and false alarms next to the host's, equal to them (same int8 model, same
    features), and its cost in instructions."""
    part = out[out.index("== Keywords in a stream"):]
    print(part)
    keywords = int(re.search(r"s of audio with (\d+) keywords", part).group(1))
    assert keywords >= 3
    rows = {}
    for name in ("host (TFLM)", "device (emulated M4F)"):
        found = re.search(rf"^{re.escape(name)} +(\d+) +(\d+) +(\d+)$", part, re.M)
        assert found, f"no row {name!r} in the demo's table:\n{part}"
        rows[name] = tuple(int(v) for v in found.groups())
        hits, misses, _ = rows[name]
        assert hits + misses == keywords
    assert rows["device (emulated M4F)"] == rows["host (TFLM)"], part
    assert "device (emulated M4F): " in part and ": the same keywords, within one hop" in part
    total = re.search(r"^total +([\d.]+) +([\d.]+)%$", part, re.M)
    assert total and float(total.group(1)) > 0 and 0 < float(total.group(2)) < 100, part
    assert re.search(r"^front-end buffers \(RAM\) +[\d,]+ bytes$", part, re.M), part
    assert part.rstrip().splitlines()[-1].startswith("front-end buffers"), "the demo ends here"


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


def _heard(detections, seconds=12.0):
    from tinykit.deploy.listen import Listening
    hops = int(seconds * 50)
    return Listening(detections=detections, hops=hops, seconds=seconds, frames=hops, corrupt=0,
                     missing=0, malformed=0, unknown=0, overruns=0, runs=hops // 5 - 9,
                     board_hops=hops, frontend_count=int(5e6 * seconds),
                     model_count=int(40e6 * seconds), counter="instructions", every=5)


def test_the_demo_check_fails_when_the_board_disagrees_with_the_host():
    """The table the demo prints, from a KwsOnDevice, passes the demo test's check when
    the board heard what the host heard, and fails it when it did not."""
    from tinykit import recipes, streaming
    D = streaming.Detection
    truth = [("yes", 1.0, 2.0), ("no", 4.0, 5.0), ("up", 7.0, 8.0)]
    host = [D("yes", 1.9, 0.8), D("no", 4.8, 0.7)]

    def printed(device, same):
        both = recipes.KwsOnDevice(host=host, device=_heard(device), truth=truth,
                                   host_scores=streaming.evaluate(host, truth, duration=12),
                                   device_scores=streaming.evaluate(device, truth, duration=12),
                                   same=same, frontend_ram_bytes=8318, hop=0.02)
        return "== Keywords in a stream ==\n" + both.summary() + "\n" + both.cost_table()

    text = printed([D("yes", 1.92, 0.8), D("no", 4.8, 0.7)], True)
    _check_keywords_on_the_board(text)
    assert "45.00" in text and "70.3%" in text        # 5 + 40 M per second of 64 MHz
    with pytest.raises(AssertionError):               # the board missed a keyword
        _check_keywords_on_the_board(printed([D("yes", 1.92, 0.8)], False))
    with pytest.raises(AssertionError):               # no device row
        _check_keywords_on_the_board(text.replace("device (emulated M4F)", "board"))
