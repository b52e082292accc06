"""The C audio front end (cruntime/tk_frontend.c) against tinykit.features (librosa): its
FFT against numpy.fft; the int8 input tensors it builds hop by hop, and every float stage,
on the host (gcc) and on the emulated board (QEMU mps2-an386); streaming without a
reset; its error codes; bad arguments at the door."""
import shutil
import subprocess

import numpy as np
import pytest

import tinykit
from tinykit import convert
from tinykit.deploy import audio_frontend as af
from tinykit.deploy import codegen
from tinykit.errors import ParameterError
from tinykit.features import AudioFeatures, extract, fit_normalization
from tinykit._resources import runtime_dir
from tinykit.models._keras import keras
from conftest import runtime_program

CC = shutil.which("gcc") or shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="no host C compiler (gcc)")
MISSING = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make") if shutil.which(t) is None]
needs_qemu = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed; "
                                f"run `sh boards/install-tools.sh`")
TIMEOUT = 180  # seconds for one compiler or program run
QEMU_CLIPS = 4  # clips the default emulated-board test runs (all of them: slow)


@pytest.fixture(scope="module")
def ds():
    return tinykit.datasets.load("speech_commands")


@pytest.fixture(scope="module")
def clips(ds):
    return ds.audio("test")[0]


@pytest.fixture(scope="module")
def settings(mfcc_settings):
    return mfcc_settings


@pytest.fixture(scope="module")
def model(ds, settings):
    """An int8 model on 49x10 MFCC, its input calibrated on the training features."""
    keras.utils.set_random_seed(0)
    x = extract(ds.audio("train")[0], settings)[..., None]
    inp = keras.Input(x.shape[1:])
    h = keras.layers.Conv2D(4, (5, 3), strides=(2, 2), activation="relu")(inp)
    out = keras.layers.Softmax()(keras.layers.Dense(6)(keras.layers.Flatten()(h)))
    return convert.to_int8(keras.Model(inp, out), representative=x)


@pytest.fixture(scope="module")
def host(clips, settings, model, tmp_path_factory):
    return af.run_host(clips, settings, model, build_dir=tmp_path_factory.mktemp("host"))


def check_parity(result, *, stages=True):
    assert result["feature_match"] >= 0.995
    assert result["max_feature_step"] <= 1
    if stages:
        # each stage within float32 rounding of librosa's (float64 FFT) value,
        # relative to the frame's largest value of that stage
        for stage, limit in (("power", 1e-5), ("mel", 1e-5), ("log_mel", 1e-5),
                             ("coefficients", 1e-5), ("normalized", 1e-4)):
            assert result["max_rel"][stage] < limit, (stage, result["max_rel"])
        assert result["max_abs"]["log_mel"] < 0.01  # dB


# ---------------------------------------------------------------- the FFT

_RFFT_MAIN = r"""
#include <stdio.h>
#include "tk_frontend.h"
/* stdin: n, then n cos/sin twiddle pairs / 2 and n samples (float32); stdout: rfft */
int main(void)
{
  static float tw[4096], data[4096];
  int n;
  if (fread(&n, sizeof n, 1, stdin) != 1 || n > 4096) return 3;
  if (fread(tw, sizeof(float), (size_t)n, stdin) != (size_t)n) return 3;
  if (fread(data, sizeof(float), (size_t)n, stdin) != (size_t)n) return 3;
  if (tk_rfft(data, n, tw) != TK_OK) return 2;
  fwrite(data, sizeof(float), (size_t)n, stdout);
  return 0;
}
"""


@pytest.fixture(scope="module")
def rfft_exe(tmp_path_factory):
    return runtime_program(tmp_path_factory.mktemp("rfft"), "rfft", _RFFT_MAIN,
                           ["tk_frontend.c"])


@needs_cc
@pytest.mark.parametrize("n", [4, 8, 64, 512, 1024, 4096])
def test_own_real_fft_equals_numpy(rfft_exe, n):
    x = np.random.default_rng(n).normal(size=n).astype(np.float32)
    tw = af._twiddle(n).astype(np.float32).ravel()
    done = subprocess.run([rfft_exe], input=np.int32(n).tobytes() + tw.tobytes() + x.tobytes(),
                          capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 0
    got = np.frombuffer(done.stdout, np.float32)
    want = np.fft.rfft(x.astype(np.float64))
    packed = np.concatenate([[want[0].real, want[-1].real],
                             np.stack([want[1:-1].real, want[1:-1].imag], 1).ravel()])
    assert np.abs(want[1:-1].imag).max() > 0.5  # a real test: not all-real spectra
    err = np.abs(got - packed).max() / np.abs(packed).max()
    assert err < 2e-6 * np.log2(n)


# ---------------------------------------------------------------- parity on the host

@needs_cc
def test_host_int8_input_equals_python_on_every_test_clip(host, clips, settings, model):
    assert host.features.shape == (len(clips), 49, 10) and host.features.dtype == np.int8
    assert len(np.unique(host.features)) > 50      # real features, not a constant
    result = af.parity(host, clips, settings, model)
    check_parity(result)
    assert result["values"] == len(clips) * 490
    want = model.quantize(extract(clips, settings)[..., None]).reshape(host.features.shape)
    assert np.mean(host.features == want) == result["feature_match"]


@needs_cc
def test_the_parity_figure_shows_every_stage_and_the_int8_match(host, clips, settings, model):
    import matplotlib
    matplotlib.use("Agg")
    from tinykit import plots
    result = af.parity(host, clips, settings, model)
    fig = plots.feature_parity(result)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == [plots.STAGE_NAMES[s] for s in af.STAGES]
    heights = [bar.get_height() for bar in ax.patches]
    assert np.allclose(heights, [max(result["max_rel"][s], 1e-12) for s in af.STAGES])
    assert f"{100 * result['feature_match']:.2f}% of {result['values']:,} values" in ax.get_title()
    stream = af.run_host(clips[:2], settings, model, stream=True)     # no float stages
    with pytest.raises(ParameterError, match="stages=True"):
        plots.feature_parity(af.parity(stream, clips[:2], settings, model))
    matplotlib.pyplot.close("all")


@needs_cc
def test_first_frames_follow_librosa_framing(host, clips, settings):
    # frame 0 is samples [0, 640), frame k [320 k, 320 k + 640): no centring
    ref = af.reference_stages(clips, settings)
    for k in (0, 1, 48):
        assert np.allclose(host.log_mel[:, k], ref["log_mel"][:, k], atol=1e-2)
    moved = np.roll(clips, 160, axis=1)            # half a hop later: other frames
    assert not np.allclose(af.reference_stages(moved, settings)["log_mel"][:, 0],
                           host.log_mel[:, 0], atol=1e-2)


@needs_cc
def test_log_mel_and_other_settings_follow_python(clips, tmp_path):
    for s in (AudioFeatures(kind="log_mel"),
              AudioFeatures(window_ms=30, stride_ms=20, n_fft=512, n_mels=32, n_mfcc=13,
                            fmax=7600)):
        s = fit_normalization(extract(clips, s, normalized=False), s)
        info = convert.TensorInfo((1,) + s.shape, "int8", 0.05, -3)
        run = af.run_host(clips[:12], s, info, build_dir=tmp_path)
        assert run.features.shape == (12,) + s.shape
        check_parity(af.parity(run, clips[:12], s, info))


@needs_cc
def test_streaming_without_reset_holds_the_last_second(clips, settings, model, tmp_path):
    # One stream: the ring after each second's last hop holds that second's frames, the
    # frames across the boundary computed and rotated out, never a recomputed clip.
    rng = np.random.default_rng(0)
    lead = np.round(rng.normal(0, 0.05, 7 * 320) * 32768).clip(-32768, 32767) / 32768
    stream = np.concatenate([lead.astype(np.float32), clips[:4].ravel()])[:4 * 16000]
    chunks = stream.reshape(4, 16000)
    run = af.run_host(chunks, settings, model, stream=True, build_dir=tmp_path)
    assert run.power is None
    check_parity(af.parity(run, chunks, settings, model), stages=False)
    assert not np.array_equal(run.features[1], run.features[2])


@needs_cc
def test_generated_c_compiles_as_c_and_cpp(settings, model, tmp_path):
    files = af.frontend_sources(settings, model)
    assert sorted(files) == ["tk_audio_features.h", "tk_audio_frontend.c",
                             "tk_audio_frontend.h"]
    assert all(text.startswith("// Generated by tinykit") for text in files.values())
    assert "#define TK_AUDIO_FRONTEND_INPUT_SIZE 490" in files["tk_audio_frontend.h"]
    assert f"#define TK_AUDIO_FRONTEND_INPUT_ZERO_POINT {model.input.zero_point}" in \
        files["tk_audio_frontend.h"]
    codegen.write(tmp_path, files)
    (tmp_path / "use.cc").write_text('#include "tk_audio_frontend.h"\n'
                                     'int use(tk_frontend *fe) '
                                     '{ return tk_audio_frontend_init(fe); }\n')
    subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", "-I", runtime_dir(),
                    "-I", tmp_path, tmp_path / "tk_audio_frontend.c", "-o", tmp_path / "a.o"],
                   check=True, timeout=TIMEOUT)
    if shutil.which("g++"):
        subprocess.run(["g++", "-std=c++11", "-Wall", "-Werror", "-fsyntax-only", "-I",
                        runtime_dir(), "-I", tmp_path, tmp_path / "use.cc"], check=True,
                       timeout=TIMEOUT)


_STATUS_MAIN = r"""
#include <stdio.h>
#include "tk_audio_frontend.h"
int main(void)
{
  static tk_frontend fe;
  static int16_t hop[TK_AUDIO_FRONTEND_STRIDE_SAMPLES + 1];
  static int8_t input[TK_AUDIO_FRONTEND_INPUT_SIZE];
  int32_t computed = 7;
  tk_frontend_params bad = tk_audio_frontend_params;
  printf("init %d\n", tk_audio_frontend_init(&fe));
  int status = tk_frontend_push(&fe, hop, TK_AUDIO_FRONTEND_STRIDE_SAMPLES - 1, &computed);
  printf("short hop %d %d\n", status, (int)computed);
  printf("null hop %d\n", tk_frontend_push(&fe, NULL, TK_AUDIO_FRONTEND_STRIDE_SAMPLES, NULL));
  status = tk_frontend_push(&fe, hop, TK_AUDIO_FRONTEND_STRIDE_SAMPLES, &computed);
  printf("first hop %d %d\n", status, (int)computed);
  status = tk_frontend_push(&fe, hop, TK_AUDIO_FRONTEND_STRIDE_SAMPLES, &computed);
  printf("second hop %d %d\n", status, (int)computed);
  tk_frontend_copy(&fe, input);
  printf("rows %d %d %d\n", (int)input[0], (int)input[TK_AUDIO_FRONTEND_INPUT_SIZE - 1],
         (int)fe.frames);
  bad.fft_size = 1000;
  printf("fft 1000 %d\n", tk_frontend_init(&fe, &bad, &fe.buffers));
  bad = tk_audio_frontend_params;
  bad.output.scale = 0.0f;
  printf("scale 0 %d\n", tk_frontend_init(&fe, &bad, &fe.buffers));
  printf("null copy %d\n", tk_frontend_copy(&fe, NULL));
  return 0;
}
"""


@needs_cc
def test_error_codes_and_the_ring_before_it_is_full(settings, model, tmp_path):
    files = af.frontend_sources(settings, model)
    files["main.c"] = _STATUS_MAIN
    codegen.write(tmp_path, files)
    exe = tmp_path / "status"
    subprocess.run([CC, "-std=c99", "-Wall", "-I", runtime_dir(), "-I", tmp_path,
                    tmp_path / "main.c", tmp_path / "tk_audio_frontend.c",
                    runtime_dir() / "tk_frontend.c", "-lm", "-o", exe], check=True,
                   timeout=TIMEOUT)
    lines = subprocess.run([exe], capture_output=True, text=True, timeout=TIMEOUT,
                           check=True).stdout.splitlines()
    zp = model.input.zero_point
    silent = model.quantize(extract(np.zeros((1, 16000), np.float32), settings)[..., None])
    assert lines == [
        "init 0",                         # TK_OK
        "short hop 2 0",                  # TK_ERROR_SIZE, nothing computed
        "null hop 1",                     # TK_ERROR_ARGUMENT
        "first hop 0 0",                  # 320 samples: no 640-sample frame yet
        "second hop 0 1",                 # frame 0 done
        f"rows {zp} {int(silent.ravel()[-1])} 1",   # zero points, then the newest row
        "fft 1000 1",
        "scale 0 1",
        "null copy 1",
    ], lines


# ---------------------------------------------------------------- the emulated board

@needs_qemu
def test_emulated_board_builds_the_same_int8_input(clips, settings, model, host, tmp_path):
    device = af.run_emulated(clips[:QEMU_CLIPS], settings, model, stages=True,
                             build_dir=tmp_path)
    assert device.where == "emulated" and device.features.shape == (QEMU_CLIPS, 49, 10)
    check_parity(af.parity(device, clips[:QEMU_CLIPS], settings, model))
    # the same float32 arithmetic as the host's (log10f comes from another libm)
    assert np.allclose(device.power, host.power[:QEMU_CLIPS], rtol=1e-6, atol=1e-9)
    assert np.abs(device.features.astype(int) - host.features[:QEMU_CLIPS]).max() <= 1


@pytest.mark.slow
@needs_qemu
def test_emulated_board_on_every_test_clip_and_the_model_agrees(clips, settings, model,
                                                                tmp_path):
    device = af.run_emulated(clips, settings, model, build_dir=tmp_path)
    check_parity(af.parity(device, clips, settings, model), stages=False)
    # the model's predictions on the device's features equal those on Python's
    on_device = convert.run_tflm(model, (device.features[..., None].astype(np.float32)
                                         - model.input.zero_point) * model.input.scale)
    on_host = convert.run_tflm(model, extract(clips, settings)[..., None])
    assert (on_device.argmax(1) == on_host.argmax(1)).all()


# ---------------------------------------------------------------- at the door

def test_bad_arguments_are_parameter_errors(clips, settings, model):
    with pytest.raises(ParameterError, match="16-bit audio"):
        af.run_host(clips[:2] + 1e-6, settings, model)
    with pytest.raises(ParameterError, match="power of two"):
        af.frontend_sources(AudioFeatures(n_fft=1000), model)
    with pytest.raises(ParameterError, match="holds 490 values"):
        af.frontend_sources(AudioFeatures(kind="log_mel"), model)
    with pytest.raises(ParameterError, match="int8"):
        af.frontend_sources(settings, convert.TensorInfo((1, 49, 10, 1), "float32", 0.0, 0))
