"""The keyword sketches of every board with a microphone (the shared app
boards/common/keyword_app.tmpl in each board's keyword.ino.tmpl) and tinykit's C keyword
detector (tk_detect.c, shared with the emulated board's listen firmware).

* tk_detect, compiled for the host, picks from int8 posteriors exactly the keywords
  tinykit.streaming's smooth + detections_from pick (fast).
* The generated project holds everything the sketch needs, and each board's sketch
  compiles with host g++ against the real ArduinoCore-API, its microphone library's
  real header (PDM.h of the mbed core; Seeed Arduino Mic's mic.h) and
  Chirale_TensorFlowLite, or for the ESP32 core's ESP_I2S.h (not in ../shared/arduino)
  a stand-in declaring its documented API (fast, compile only; skipped without
  ../shared/arduino). A call the real header lacks does not compile.
* Linked with the real TFLM (host build, minutes when its cache is cold: slow) and fed a
  recorded stream of bundled keyword clips through the microphone's stand-in
  (tests/arduino_stubs: host_pdm.cpp, mic_seeed.cpp, mic_esp_i2s.cpp), each board's
  sketch prints the keywords the emulated board's listen firmware (QEMU) and
  tinykit.streaming hear, and lights its LEDs for each.
"""
import re
import subprocess

import numpy as np
import pytest

from conftest import runtime_program
from test_arduino_real import STUBS, build_sketch, shared_arduino
from test_listen import (DETECT, EVERY, MISSING, assert_same, ds,  # noqa: F401
                         host_detections, keyword_stream, settings, small_keyword_model,
                         trained_keyword_model)
from tinykit import deploy, streaming
from tinykit.deploy import generate
from tinykit.deploy import listen as L
from tinykit._resources import runtime_dir
from tinykit.errors import DeployError, ParameterError

HEARD = re.compile(r"heard (\S+) at ([0-9.]+) s, score ([0-9.]+)")
# The host Arduino.h's LED pins (the Nano 33 BLE variant's numbers): LED_BUILTIN, and
# the RGB LED's LEDR, LEDG, LEDB as colour bits.
BUILTIN, RGB = 13, {22: 1, 23: 2, 24: 4}

# The microphone libraries of the boards' keyword sketches, by the header the sketch
# includes: the include folder (under ../shared/arduino, or the stand-in's), the
# stand-in defining its declarations, and the defines the board's core gives the
# library. PDM.h's are test_arduino_real's include folders and core library.
MIC_LIBRARIES = {
    "PDM.h": (None, (), ()),
    "mic.h": ("Seeed_Arduino_Mic/src", ("mic_seeed.cpp",), ("-DARDUINO_ARCH_NRF52840",)),
    "ESP_I2S.h": (STUBS / "esp32", ("mic_esp_i2s.cpp",), ()),
}
# How each board shows a keyword: on its RGB LED (colour bits), or lighting LED_BUILTIN
# at this level.
BUILTIN_LIT = {"nano_rp2040_connect": 1, "xiao_esp32s3_sense": 0}


def mic_boards():
    return [name for name in deploy.boards()
            if any(s.startswith("microphone:") for s in deploy.board(name).sensors)]


def mic_header(name):
    angled = re.findall(r"#include <([^>]+)>", deploy.board(name).template_text("keyword"))
    found = [h for h in angled if h in MIC_LIBRARIES]
    assert len(found) == 1, f"{name}: expected one microphone header among {angled}"
    return found[0]


@pytest.fixture
def mic_build(monkeypatch, root):
    """Put a board's microphone library on the include path (as -isystem, the way
    build_sketch gives the libraries' headers); return build_sketch's extra sources and
    defines for it."""
    def use(name):
        folder, standins, defines = MIC_LIBRARIES[mic_header(name)]
        if folder:
            monkeypatch.setenv("CPLUS_INCLUDE_PATH", str(shared_arduino(root) / folder))
        return dict(extra=[STUBS / s for s in standins], defines=defines)
    return use


@pytest.fixture(scope="module")
def untrained(ds, settings):
    """The keyword model's shape, untrained (for the files and the compile: seconds)."""
    from tinykit import convert
    shape = (settings.num_frames, settings.num_coefficients)
    rep = np.random.default_rng(0).normal(size=(16,) + shape).astype(np.float32)
    return convert.to_int8(small_keyword_model(shape, ds.num_classes, head="conv"),
                           representative=rep)


def keyword_project(model, ds, settings, out, board="nano33ble", **detect):
    return generate(model, board, "keyword", out, labels=ds.labels, features=settings,
                    settings=detect or None)


# ------------------------------------------------------------------ the C detector

_DETECT_MAIN = r"""
#include <stdio.h>
#include "tk_detect.h"
/* argv: classes every smooth ignore_mask threshold suppress scale zero_point hop rate
 * window_hops [min_runs margin [one threshold per class]]; stdin: one int8 row per model
 * run. Prints "label hops score" lines. */
int main(int argc, char **argv)
{
  enum { MAXC = 32, MAXS = 64 };
  static float sums[(MAXS + 1) * MAXC];
  static double last[MAXC];
  static uint8_t reported[MAXC];
  int classes, every, smooth, zero, hop, rate, window;
  unsigned mask;
  double threshold, suppress, scale;
  sscanf(argv[1], "%d", &classes); sscanf(argv[2], "%d", &every);
  sscanf(argv[3], "%d", &smooth); sscanf(argv[4], "%u", &mask);
  sscanf(argv[5], "%lf", &threshold); sscanf(argv[6], "%lf", &suppress);
  sscanf(argv[7], "%lf", &scale); sscanf(argv[8], "%d", &zero);
  sscanf(argv[9], "%d", &hop); sscanf(argv[10], "%d", &rate); sscanf(argv[11], "%d", &window);
  const tk_detect_params p = {classes, MAXS, hop, rate, window, (float)scale, zero};
  unsigned min_runs = 0;
  double margin = 0.0, thresholds[MAXC];
  if (argc > 13) {
    sscanf(argv[12], "%u", &min_runs); sscanf(argv[13], "%lf", &margin);
  }
  for (int k = 0; argc > 14 + k && k < classes; k++) sscanf(argv[14 + k], "%lf", &thresholds[k]);
  const tk_detect_settings s = {(uint32_t)every, (uint32_t)smooth, mask, threshold, suppress,
                                min_runs, margin, argc >= 14 + classes ? thresholds : NULL};
  const tk_detect_buffers b = {sums, last, reported};
  tk_detector d;
  if (tk_detect_init(&d, &p, &b, &s) != TK_OK) return 3;
  int8_t row[MAXC];
  tk_detection found;
  int32_t detected;
  while (fread(row, 1, (size_t)classes, stdin) == (size_t)classes) {
    while (!tk_detect_hop(&d)) {
    }
    tk_detect_push(&d, row, &found, &detected);
    if (detected) printf("%u %u %.17g\n", found.label, found.hops, found.score);
  }
  tk_detect_finish(&d, &found, &detected);
  if (detected) printf("%u %u %.17g\n", found.label, found.hops, found.score);
  return 0;
}
"""


@pytest.fixture(scope="module")
def detect_exe(tmp_path_factory):
    return runtime_program(tmp_path_factory.mktemp("tk_detect"), "detect", _DETECT_MAIN,
                           ["tk_detect.c"])


def c_detections(exe, q, labels, *, every, smooth, mask, threshold, suppress, scale, zero,
                 hop=320, rate=16000, window=50, min_runs=None, margin=0.0, thresholds=None):
    args = [str(v) for v in (len(labels), every, smooth, mask, repr(float(threshold)),
                             repr(float(suppress)), repr(float(scale)), zero, hop, rate,
                             window)]
    if min_runs is not None:
        args += [str(min_runs), repr(float(margin))]
        args += [repr(float(t)) for t in thresholds or ()]
    out = subprocess.run([str(exe), *args], input=q.astype(np.int8).tobytes(),
                         capture_output=True, check=True, timeout=60).stdout.decode()
    found = []
    for line in out.split("\n"):
        if line:
            k, hops, score = line.split()
            found.append(streaming.Detection(labels[int(k)], round(int(hops) * hop / rate, 3),
                                             float(score)))
    return found


def python_detections(q, labels, *, every, window_s, threshold, suppress, scale, zero,
                      ignore, hop=320, rate=16000, window=50, **decide):
    probs = ((q.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(np.float32)
    times = (window + np.arange(len(q)) * every) * hop / rate
    return streaming.detections_from(times, streaming.smooth(probs, times, window_s), labels,
                                     threshold=threshold, suppress=suppress, ignore=ignore,
                                     **decide)


def _random_posteriors(labels, seed=0):
    """int8 posteriors (scale 1/256, zero point -128) with runs of 1-7 rows of confident
    keywords."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(120):
        k = rng.integers(len(labels))
        n = rng.integers(1, 8)
        logits = rng.normal(0, 1, (n, len(labels)))
        logits[:, k] += rng.uniform(0, 6)
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        rows.append(np.clip(np.round(p * 256) - 128, -128, 127))
    return np.vstack(rows).astype(np.int8)


def test_the_c_detector_picks_what_tinykit_streaming_picks(detect_exe):
    """Random posteriors with runs of confident keywords: every detection equal (label,
    time, score to the last bit), for several settings; a threshold the C is given
    wrong changes them (the comparison can fail)."""
    labels = ["_silence_", "_unknown_", "yes", "no", "up"]
    q = _random_posteriors(labels)
    scale, zero = 1 / 256, -128
    mask = 0b11
    total = 0
    for every, window_s, threshold, suppress in [(5, 0.5, 0.6, 1.0), (1, 0.2, 0.4, 0.5),
                                                 (3, 0.0, 0.55, 0.0), (2, 1.0, 0.7, 2.0)]:
        stride = every * 320 / 16000
        smooth = max(1, int(round(window_s / stride)))
        py = python_detections(q, labels, every=every, window_s=window_s, threshold=threshold,
                               suppress=suppress, scale=scale, zero=zero,
                               ignore=streaming.IGNORED)
        c = c_detections(detect_exe, q, labels, every=every, smooth=smooth, mask=mask,
                         threshold=threshold, suppress=suppress, scale=scale, zero=zero)
        assert c == py, (every, window_s, threshold, suppress)
        total += len(py)
    assert total > 40, "the posteriors should give many detections"
    wrong = c_detections(detect_exe, q, labels, every=5, smooth=5, mask=mask, threshold=0.65,
                         suppress=1.0, scale=scale, zero=zero)
    right = python_detections(q, labels, every=5, window_s=0.5, threshold=0.6, suppress=1.0,
                              scale=scale, zero=zero, ignore=streaming.IGNORED)
    assert wrong != right


def test_the_c_detector_decides_min_runs_margin_and_per_class_thresholds_as_numpy(detect_exe):
    """min_runs, margin and per-class thresholds: the C detections equal numpy's to the
    last bit for several settings, each of which changes them from the defaults' (so a
    C that ignored a setting would fail); zeros for the new fields are the defaults."""
    labels = ["_silence_", "_unknown_", "yes", "no", "up"]
    q = _random_posteriors(labels, seed=1)
    scale, zero, mask = 1 / 256, -128, 0b11
    base = dict(every=2, window_s=0.2, threshold=0.5, suppress=0.5)
    smooth = 5
    default = python_detections(q, labels, scale=scale, zero=zero, ignore=streaming.IGNORED,
                                **base)
    assert len(default) > 20
    c_base = dict(every=2, smooth=smooth, mask=mask, threshold=0.5, suppress=0.5, scale=scale,
                  zero=zero)
    assert c_detections(detect_exe, q, labels, min_runs=0, margin=0.0, **c_base) == default
    for min_runs, margin, per in [(3, 0.0, {}), (1, 0.3, {}), (1, 0.0, {"yes": 0.8}),
                                  (2, 0.15, {"no": 0.7, "up": 0.45}),
                                  (1, 0.1, {"_unknown_": 0.3, "yes": 0.55})]:
        py = python_detections(q, labels, scale=scale, zero=zero, ignore=streaming.IGNORED,
                               min_runs=min_runs, margin=margin, thresholds=per, **base)
        assert py != default, (min_runs, margin, per)
        limits = streaming.class_thresholds(labels, 0.5, per)
        c = c_detections(detect_exe, q, labels, min_runs=min_runs, margin=margin,
                         thresholds=limits if per else None, **c_base)
        assert c == py, (min_runs, margin, per)


_RING_MAIN = r"""
#include <stdio.h>
#include "tk_sample_ring.h"
/* Writes argv[1] chunks of 128 samples (values 0, 1, 2, ...), reading hops of 320 after
 * every argv[2]-th chunk; prints each hop's first sample and each loss. */
int main(int argc, char **argv)
{
  (void)argc;
  static volatile int16_t data[1024];
  int16_t chunk[128], hop[320];
  int chunks, every, value = 0;
  sscanf(argv[1], "%d", &chunks); sscanf(argv[2], "%d", &every);
  tk_sample_ring ring;
  if (tk_sample_ring_init(&ring, data, 1000) == TK_OK) return 3;   /* not a power of two */
  if (tk_sample_ring_init(&ring, data, 1024) != TK_OK) return 3;
  for (int c = 1; c <= chunks; c++) {
    for (int i = 0; i < 128; i++) chunk[i] = (int16_t)value++;
    tk_sample_ring_write(&ring, chunk, 128);
    if (c % every) continue;
    uint32_t lost = 0;
    while (tk_sample_ring_read(&ring, hop, 320, &lost)) {
      for (int i = 1; i < 320; i++) if (hop[i] != hop[0] + i) return 4;
      printf("hop %d\n", hop[0]);
    }
    if (lost) printf("lost %u\n", (unsigned)lost);
  }
  return 0;
}
"""


def test_the_sample_ring_gives_whole_hops_and_counts_what_it_drops(tmp_path):
    exe = runtime_program(tmp_path, "ring", _RING_MAIN, ["tk_sample_ring.c"])

    def run(chunks, every):
        out = subprocess.run([str(exe), str(chunks), str(every)], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out
        return out.stdout.split("\n")[:-1]

    # Read after every chunk: every sample comes out once, in order, in hops.
    assert run(50, 1) == [f"hop {320 * k}" for k in range(50 * 128 // 320)]
    # Every 5th chunk: 640 samples waiting, within 1024 - 320 of the ring: two hops each.
    assert run(20, 5) == [f"hop {320 * k}" for k in range(8)]
    # Every 6th: 768 waiting, closer than a hop to being overwritten: the two whole hops
    # are dropped (and counted), 128 samples stay; at the 12th, 128 + 768 again.
    assert run(12, 6) == ["lost 2", "lost 2"]


# ------------------------------------------------------------------ the project


def test_the_keyword_project_holds_what_the_sketch_needs(untrained, ds, settings, tmp_path):
    project = keyword_project(untrained, ds, settings, tmp_path)
    names = {p.name for p in project.files}
    assert project.main_file.name == "keyword_nano33ble.ino"
    assert {"model_data.cc", "op_resolver.h", "tk_audio_features.h", "tk_audio_frontend.c",
            "tk_audio_frontend.h", "tk_frontend.c", "tk_frontend.h", "tk_kernels.h",
            "tk_detect.c", "tk_detect.h", "tk_sample_ring.c", "tk_sample_ring.h"} <= names
    assert (project.path / "tk_detect.c").read_text() == (runtime_dir() / "tk_detect.c").read_text()
    sketch = project.main_file.read_text()
    # listen()'s defaults: every 5 hops, 0.5 s (5 runs), threshold 0.6, suppress 1 s,
    # any run, no margin, 0.6 for every class; silence and unknown ignored.
    mask = sum(1 << k for k, name in enumerate(ds.labels) if name in streaming.IGNORED)
    assert mask and f"kDetectSettings = {{5u, 5u, 0x{mask:08x}u,\n" in sketch
    assert "0.6, 1.0,\n" in sketch and "1u, 0.0, kThresholds};" in sketch
    assert "kThresholds[kNumLabels] = {" + ", ".join(["0.6"] * len(ds.labels)) + "};" in sketch
    assert "${" not in sketch and "(per keyword: none)" in sketch
    values = dict(L.detector_values(settings, ds.labels))
    assert values["smooth"] == "5" and values["threshold"] == "0.6"
    other = keyword_project(untrained, ds, settings, tmp_path / "b", every=2, threshold=0.45,
                            window=0.2, suppress=0.5, min_runs=3, margin=0.125,
                            thresholds={"yes": 0.7})
    text = other.main_file.read_text()
    assert f"kDetectSettings = {{2u, 5u, 0x{mask:08x}u,\n" in text and "0.45, 0.5,\n" in text
    assert "3u, 0.125, kThresholds};" in text and "(per keyword: yes 0.7)" in text
    limits = ["0.7" if n == "yes" else "0.45" for n in ds.labels]
    assert "kThresholds[kNumLabels] = {" + ", ".join(limits) + "};" in text


def test_keyword_project_refuses_bad_settings(untrained, ds, settings, tmp_path):
    with pytest.raises(ParameterError, match="every"):
        keyword_project(untrained, ds, settings, tmp_path, every=0)
    with pytest.raises(ParameterError, match="window"):
        keyword_project(untrained, ds, settings, tmp_path, every=1, window=5.0)
    with pytest.raises(ParameterError, match="min_runs=0"):
        keyword_project(untrained, ds, settings, tmp_path, min_runs=0)
    with pytest.raises(ParameterError, match=r"margin=2: .*\[0, 1\]"):
        keyword_project(untrained, ds, settings, tmp_path, margin=2)
    with pytest.raises(ParameterError, match="not among the labels"):
        keyword_project(untrained, ds, settings, tmp_path, thresholds={"maybe": 0.5})
    with pytest.raises(DeployError, match="AudioFeatures"):
        generate(untrained, "nano33ble", "keyword", tmp_path, labels=ds.labels)
    with pytest.raises(DeployError, match="does not use"):
        keyword_project(untrained, ds, settings, tmp_path, treshold=0.5)


def test_every_board_with_a_microphone_has_a_keyword_app_of_the_shared_template():
    assert set(mic_boards()) == {"nano33ble", "nano33ble_rev2", "nano_rp2040_connect",
                                 "xiao_nrf52840_sense", "xiao_esp32s3_sense"}
    app = (deploy.board("nano33ble").folder.parent / "common" / "keyword_app.tmpl").read_text()
    for name in mic_boards():
        b = deploy.board(name)
        text = b.template_text("keyword")
        assert "${keyword_app}" not in text and app.rstrip("\n") in text, name
        assert b.extra["app_sources"]["keyword"] == ["audio_frontend", "detect", "sample_ring"]


def test_the_saved_detector_travels_into_the_project(untrained, ds, settings, tmp_path):
    saved = streaming.KeywordDetector(threshold=0.85, window=0.3, suppress=1.5, every=3,
                                      min_runs=2, margin=0.25, thresholds={"no": 0.9})
    detector = streaming.load_detector(saved.save(tmp_path / "ds_cnn_detector.json"))
    project = generate(untrained, "nano33ble", "keyword", tmp_path / "p", labels=ds.labels,
                       features=settings, settings=detector)
    text = project.main_file.read_text()
    assert "kDetectSettings = {3u, 5u, " in text and "0.85, 1.5,\n" in text  # 0.3 s: 5 runs
    assert "2u, 0.25, kThresholds};" in text and "(per keyword: no 0.9)" in text
    beside = [p for p in project.files if p.name.endswith("_detector.json")]
    assert len(beside) == 1 and streaming.load_detector(beside[0]) == saved


@pytest.mark.parametrize("name", ["nano33ble", "nano33ble_rev2", "nano_rp2040_connect",
                                  "xiao_nrf52840_sense", "xiao_esp32s3_sense"])
def test_keyword_sketch_includes_only_headers_the_board_file_names(name):
    import tomllib
    b = deploy.board(name)
    board = tomllib.loads((b.folder / "board.toml").read_text())
    headers = {h for hs in board["library_headers"].values() for h in hs}
    headers |= set(board.get("core_headers", ()))       # the core's own (ESP_I2S.h)
    angled = set(re.findall(r"#include <([^>]+)>", b.template_text("keyword")))
    assert angled == {mic_header(name), "Chirale_TensorFlowLite.h"} and angled <= headers


@pytest.mark.parametrize("name", ["nano33ble", "nano33ble_rev2", "nano_rp2040_connect",
                                  "xiao_nrf52840_sense", "xiao_esp32s3_sense"])
def test_keyword_sketch_compiles_against_the_real_libraries(name, untrained, ds, settings,
                                                            mic_build, root, tmp_path):
    """The sketch, the front end and the detector with -Wall -Werror against the real
    ArduinoCore-API, the microphone's header (PDM.h, Seeed's mic.h; ESP_I2S.h's
    stand-in) and Chirale_TensorFlowLite headers: any drift from their API is a compile
    error here (running it needs TFLM built: the slow test below)."""
    shared_arduino(root)
    build = mic_build(name)
    # one sketch with every detector setting away from its default
    detect = (dict(min_runs=2, margin=0.1, thresholds={"yes": 0.75}) if name == "nano33ble"
              else {})
    project = keyword_project(untrained, ds, settings, tmp_path, board=name, **detect)
    assert project.main_file.name == f"keyword_{name}.ino"
    if detect:
        assert "2u, 0.1, kThresholds};" in project.main_file.read_text()
    objs = build_sketch(project.path, STUBS / "pdm_main.cpp", tmp_path / "sketch",
                        link=False, root=root, **build)
    # .ino, model_data.cc, 4 .c of tinykit, the harness, the stand-ins
    assert len(objs) == 7 + len(build["extra"])


@pytest.mark.parametrize("name, right, wrong", [
    ("nano33ble", "PDM.onReceive(OnPdmData)", "PDM.setCallback(OnPdmData)"),
    ("xiao_nrf52840_sense", "mic.set_callback(OnMicData)", "mic.onReceive(OnMicData)")])
def test_a_sketch_calling_what_the_real_header_lacks_does_not_compile(
        name, right, wrong, untrained, ds, settings, mic_build, root, tmp_path):
    shared_arduino(root)
    build = mic_build(name)
    project = keyword_project(untrained, ds, settings, tmp_path, board=name)
    text = project.main_file.read_text()
    assert right in text
    project.main_file.write_text(text.replace(right, wrong))
    with pytest.raises(subprocess.CalledProcessError):
        build_sketch(project.path, STUBS / "pdm_main.cpp", tmp_path / "sketch", link=False,
                     root=root, **build)


# ------------------------------------------------------------------ the sketch runs


def run_sketch(exe, pcm, tmp_path, name="nano33ble"):
    """The sketch fed ``pcm`` through the microphone's stand-in: (detections, the
    colours its LEDs showed, one per keyword; 1 where the board has one LED)."""
    (tmp_path / "pcm.bin").write_bytes(pcm.astype("<i2").tobytes())
    done = subprocess.run([str(exe), str(tmp_path / "pcm.bin")], capture_output=True,
                          check=True, timeout=120, text=True)     # a Halt() never returns
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Tensor arena: ") and lines[1] == "Listening.", lines[:3]
    heard = [streaming.Detection(m[1], float(m[2]), float(m[3]))
             for m in map(HEARD.fullmatch, lines[2:]) if m]
    assert len(heard) == len(lines) - 2, lines            # nothing else printed
    pins = [tuple(map(int, s.split()[1:])) for s in done.stderr.splitlines()
            if s.startswith("pin ")]
    colours, rgb = [], {}
    for pin, level in pins:
        if name in BUILTIN_LIT:
            if pin == BUILTIN and level == BUILTIN_LIT[name]:
                colours.append(1)
        elif pin in RGB:                       # ShowLeds writes red, green, blue
            rgb[pin] = level
            if len(rgb) == 3:
                colour = sum(bit for p, bit in RGB.items() if rgb[p] == 0)
                if colour:
                    colours.append(colour)
                rgb = {}
    return heard, colours


@pytest.fixture(scope="module")
def conv_model(ds, settings):
    """The keyword model with a conv head, briefly trained. Its ops (CONV_2D, RESHAPE,
    SOFTMAX) give the same bytes in the Arduino library's TFLM (CMSIS-NN's portable C on
    a host) as in TFLM's Python interpreter; its FULLY_CONNECTED did not (1 LSB apart on
    some outputs, up to 16 after the softmax), which moves smoothed scores by a few
    hundredths and can drop a detection near the threshold."""
    return trained_keyword_model(ds, settings, head="conv")


@pytest.fixture(scope="module")
def conv_board(conv_model, settings):
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed; run `sh boards/install-tools.sh`")
    with L.boot_listen(conv_model, settings) as machine:
        yield machine


@pytest.fixture(scope="module")
def conv_heard(conv_board, conv_model, ds, settings):
    """The recorded stream and what the emulated board's listen firmware and
    tinykit.streaming hear in it (the reference every board's sketch is held to)."""
    assert set(conv_model.ops) <= {"CONV_2D", "RESHAPE", "SOFTMAX"}, conv_model.ops
    pcm, _ = keyword_stream(ds, settings, conv_model, 3)
    # Silence after the stream ends every keyword run (the sketch has no end of stream).
    pcm = np.concatenate([pcm, np.zeros(2 * settings.sample_rate, np.int16)])
    host = host_detections(pcm, conv_model, settings, ds.labels, **DETECT)
    device = L.listen(conv_board.url, conv_model, settings, ds.labels, pcm, every=EVERY,
                      **DETECT)
    assert len(host) >= 2, "the test stream should give real detections"
    return pcm, host, device.detections


@pytest.mark.slow      # links the real TFLM built for the host (minutes when its cache is cold)
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", ["nano33ble", "nano33ble_rev2", "nano_rp2040_connect",
                                  "xiao_nrf52840_sense", "xiao_esp32s3_sense"])
def test_keyword_sketch_hears_what_the_emulated_board_hears(
        name, conv_heard, conv_model, ds, settings, mic_build, root, tmp_path):
    """A recorded stream of bundled keyword clips, played to each board's sketch (host
    build, real TFLM, its microphone's stand-in behind the real header), to the emulated
    board's listen firmware and to tinykit.streaming.detect: the same keywords at the
    same times (within a hop), the board's LEDs lit for each. The comparison can fail: a
    Nano 33 BLE sketch generated with a slightly wrong threshold fails it, and so does an
    ESP32 sketch starting its microphone at 16.8 kHz (its I2S takes any rate), which
    hears the stream too slow."""
    shared_arduino(root)
    pcm, host, device = conv_heard
    build = mic_build(name)
    # The arena the generator writes (tflm.arena_size) includes the scratch buffer the
    # library's CMSIS-NN CONV_2D asks for.
    project = keyword_project(conv_model, ds, settings, tmp_path / "right", board=name,
                              every=EVERY, **DETECT)
    exe = build_sketch(project.path, STUBS / "pdm_main.cpp", tmp_path / "sketch", tflm=True,
                       root=root, **build)
    heard, colours = run_sketch(exe, pcm, tmp_path, name)
    print(f"host:   {host}\nlisten: {device}\n{name}: {heard}")
    assert_same(heard, device, settings)
    assert_same(heard, host, settings)
    expected = [1 + ds.labels.index(d.label) % 7 for d in heard]
    assert colours == ([1] * len(heard) if name in BUILTIN_LIT else expected)
    if name == "nano33ble":
        wrong = dict(DETECT, threshold=min(d.score for d in host) + 0.01)
        project = keyword_project(conv_model, ds, settings, tmp_path / "wrong", every=EVERY,
                                  **wrong)
        exe = build_sketch(project.path, STUBS / "pdm_main.cpp", tmp_path / "wrong_sketch",
                           tflm=True, root=root)
        off, _ = run_sketch(exe, pcm, tmp_path)
        print(f"sketch with threshold {wrong['threshold']:.3f}: {off}")
        with pytest.raises(AssertionError):
            assert_same(off, device, settings)
    if name != "xiao_esp32s3_sense":
        return
    text = project.main_file.read_text()
    right = "i2s.begin(I2S_MODE_PDM_RX, kSampleRate,"
    assert right in text
    project.main_file.write_text(text.replace(right, "i2s.begin(I2S_MODE_PDM_RX, 16800,"))
    exe = build_sketch(project.path, STUBS / "pdm_main.cpp", tmp_path / "wrong_sketch",
                       tflm=True, root=root, **build)
    off, _ = run_sketch(exe, pcm, tmp_path, name)
    print(f"{name} at 16.8 kHz: {off}")
    with pytest.raises(AssertionError):
        assert_same(off, host, settings)
