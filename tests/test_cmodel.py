"""The plain-C int8 model (tinykit.deploy.cmodel) against the TFLite Micro interpreter,
compiled with the host's C compiler: every kernel bit for bit, the fixed-point softmax
over many logits and scales, the error codes, and headers usable from C++."""
import shutil
import subprocess

import numpy as np
import pytest

from tinykit import convert
from tinykit.deploy import codegen
from tinykit.deploy.cmodel import (RUNTIME_DIR, generate_c_model, quantize_multiplier,
                                   run_host, softmax_scaling)
from tinykit.errors import DeployError
from tinykit.models._keras import keras

needs_cc = pytest.mark.skipif(not (shutil.which("gcc") or shutil.which("cc")),
                              reason="no host C compiler (gcc) to build the plain-C model with")
TIMEOUT = 180  # seconds for one compiler run


def small_kws_like_model():
    """Every kernel the plain-C path has: strided conv, depthwise (with RELU6 and a depth
    multiplier), both pools, FC, softmax."""
    layers = keras.layers
    inp = keras.Input((20, 10, 1))
    x = layers.Conv2D(8, (5, 3), strides=(2, 1), padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu6")(x)
    x = layers.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="valid")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.AveragePooling2D((2, 2), padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(6)(x)
    out = layers.Softmax()(x)
    return keras.Model(inp, out)


def softmax_model(n, spread, seed, dense=False):
    """A softmax over ``n`` logits (after a Dense layer if ``dense``), quantized for logits
    of about ``spread`` in size (which sets the softmax's input scale)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((n if not dense else 16,))
    x = inp
    if dense:
        x = keras.layers.Dense(n, kernel_initializer=keras.initializers.RandomNormal(
            stddev=spread / 4))(x)
    out = keras.layers.Softmax()(x)
    rng = np.random.default_rng(seed)
    rep = (rng.normal(size=(200, inp.shape[1])) * (1 if dense else spread)).astype(np.float32)
    return convert.to_int8(keras.Model(inp, out), representative=rep), rep


@pytest.fixture(scope="module")
def small_softmax():
    return softmax_model(12, 3.0, seed=1)


@needs_cc
@pytest.mark.parametrize("kernels", ["dsp", "plain"])
def test_every_kernel_matches_tflm_bit_for_bit(kernels, tmp_path):
    keras.utils.set_random_seed(3)
    model = small_kws_like_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 20, 10, 1)).astype(np.float32)
    tfl = convert.to_int8(model, representative=x)  # post-training quantization
    ops = set(tfl.ops)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D",
            "FULLY_CONNECTED", "SOFTMAX"} <= ops
    got = run_host(tfl, x, build_dir=tmp_path, kernels=kernels)
    want = convert.run_tflm(tfl, x)
    assert got.shape == want.shape == (40, 6)
    np.testing.assert_array_equal(got, want)
    _, _, info = generate_c_model(tfl)
    assert info["output_size"] == 6 and info["input_size"] == 200


@needs_cc
@pytest.mark.parametrize("n, spread, dense", [(3, 0.3, False), (12, 3.0, False),
                                              (12, 40.0, False), (300, 8.0, False),
                                              (12, 6.0, True), (300, 12.0, True)])
def test_fixed_point_softmax_matches_tflm_bit_for_bit(n, spread, dense, tmp_path):
    tfl, rep = softmax_model(n, spread, seed=n, dense=dense)
    rng = np.random.default_rng(n)
    x = rng.normal(size=(300,) + rep.shape[1:]).astype(np.float32) * (1 if dense else spread)
    if not dense:  # ties, a single winner, all equal: the edge cases of the max and the sum
        x[:20] = np.round(x[:20])
        x[20] = 0
        x[21] = -spread
        x[21, n // 2] = spread
    got = run_host(tfl, x, build_dir=tmp_path)
    want = convert.run_tflm(tfl, x)
    assert got.shape == want.shape == (300, n)
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(want)) > 5  # the outputs are not all saturated


@needs_cc
@pytest.mark.parametrize("spread", [0.3, 3.0, 40.0])
def test_softmax_over_every_int8_input_of_three_logits(spread, tmp_path):
    """All 65536 rows (127, a, b): a float softmax rounds differently from TFLite's
    fixed-point one on a few of them, so only the fixed-point arithmetic passes."""
    tfl, _ = softmax_model(3, spread, seed=3)
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128))
    q = np.stack([np.full(a.size, 127), a.ravel(), b.ravel()], axis=1)
    x = ((q - tfl.input.zero_point) * tfl.input.scale).astype(np.float32)
    assert (convert.quantize_inputs(tfl, x) == q).all()
    np.testing.assert_array_equal(run_host(tfl, x, build_dir=tmp_path), convert.run_tflm(tfl, x))


@needs_cc
def test_more_than_256_outputs(tmp_path):
    tfl, rep = softmax_model(600, 2.0, seed=5)
    x = rep[:10]
    got = run_host(tfl, x, build_dir=tmp_path)
    assert got.shape == (10, 600)
    np.testing.assert_array_equal(got, convert.run_tflm(tfl, x))
    # The probabilities (scale 1/256, zero point -128) add up to about one.
    sums = (got.astype(np.int32) + 128).sum(axis=1) / 256
    assert np.all(np.abs(sums - 1) < 0.6)
    # 600 equal logits: each 1/600, below half a step of 1/256. (TFLM's reference
    # shifts by more than 31 bits on such rows and aborts, so it is not asked.)
    assert (run_host(tfl, np.zeros((1, 600), np.float32), build_dir=tmp_path) == -128).all()


def test_softmax_scaling_is_tflites():
    """PreprocessSoftmaxScaling: beta * scale * 2^26 as multiplier * 2^shift / 2^31, and
    diff_min = -floor(31 * 2^26 / 2^shift)."""
    for scale in (0.0039, 0.02, 0.1, 0.7, 2.5):
        m, shift, diff_min = softmax_scaling(scale)
        assert 2 ** 30 <= m < 2 ** 31 and shift >= 0
        assert m * 2.0 ** (shift - 31) == pytest.approx(float(np.float32(scale)) * 2 ** 26,
                                                        rel=1e-9)
        assert diff_min == -np.floor(31 * 2 ** 26 / 2 ** shift)


def test_quantize_multiplier_represents_the_scale():
    for real in (0.0003, 0.01, 0.4999, 0.5, 0.75, 1.0, 3.7):
        m, shift = quantize_multiplier(real)
        assert 2 ** 30 <= m < 2 ** 31
        assert m * 2.0 ** (shift - 31) == pytest.approx(real, rel=1e-9)
    assert quantize_multiplier(0.0) == (0, 0)


def test_unsupported_ops_are_named():
    inp = keras.Input((8,))
    out = keras.layers.Dense(4, activation="tanh")(inp)
    tfl = convert.to_int8(keras.Model(inp, out), representative=np.random.rand(10, 8))
    with pytest.raises(DeployError, match="TANH"):
        generate_c_model(tfl)


def test_a_softmax_too_wide_for_q12_is_refused():
    inp = keras.Input((5000,))
    tfl = convert.to_int8(keras.Model(inp, keras.layers.Softmax()(inp)),
                          representative=np.random.default_rng(0).normal(size=(4, 5000)))
    with pytest.raises(DeployError, match=r"5000 values.*Q12\.19"):
        generate_c_model(tfl)


@needs_cc
def test_generated_c_is_clean_c99_and_headers_compile_as_cpp(small_softmax, tmp_path):
    header, source, _ = generate_c_model(small_softmax[0])
    assert source.startswith("// Generated by tinykit") and "Do not edit" in header
    assert 'extern "C"' in header
    codegen.write(tmp_path, {"tk_model.h": header, "tk_model.c": source,
                             "use.cc": '#include "tk_kernels.h"\n#include "tk_model.h"\n'
                                       "int run(const int8_t *in, int8_t *out) {\n"
                                       "  return tk_model_invoke(in, out) == TK_OK;\n}\n"})
    cc = shutil.which("gcc") or shutil.which("cc")
    for src in (tmp_path / "tk_model.c", RUNTIME_DIR / "tk_kernels.c", RUNTIME_DIR / "tk_fast.c"):
        subprocess.run([cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-c",
                        "-I", str(RUNTIME_DIR), "-I", str(tmp_path), str(src),
                        "-o", str(tmp_path / (src.stem + ".o"))],
                       check=True, timeout=TIMEOUT)
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("no host C++ compiler (g++) to check the headers with")
    subprocess.run([cxx, "-fsyntax-only", "-std=c++11", "-Wall", "-Wextra", "-Werror",
                    "-I", str(RUNTIME_DIR), "-I", str(tmp_path), str(tmp_path / "use.cc")],
                   check=True, timeout=TIMEOUT)


KERNEL_ERRORS = r"""
#include <stdio.h>
#include "tk_kernels.h"
int main(void) {
  static int8_t in[64], out[64], w[64];
  static const int32_t mult[1] = {1 << 30}, shift[1] = {0};
  const tk_quant q = {0, 0, mult, shift, 1};
  const tk_conv_params p = {{1, 1}, {1, 1}, {0, 0}, {-128, 127}};
  const tk_dims in_d = {1, 2, 2, 4}, out_d = {1, 2, 2, 3};
  const tk_dims good_f = {3, 1, 1, 4}, bad_f = {3, 1, 1, 5};
  const tk_conv_params bad_stride = {{0, 1}, {1, 1}, {0, 0}, {-128, 127}};
  const tk_quant bad_q = {0, 0, mult, shift, 2};
  const tk_softmax_params sp = {1 << 30, 20, -248};
  const tk_dims wide = {1, 1, 1, 4096}, row = {1, 1, 4, 16};
  printf("%d %d %d %d %d %d %d\n",
         tk_conv2d(&p, &q, &in_d, in, &good_f, w, NULL, &out_d, out),
         tk_conv2d(&p, &q, &in_d, in, &bad_f, w, NULL, &out_d, out),
         tk_conv2d(&bad_stride, &q, &in_d, in, &good_f, w, NULL, &out_d, out),
         tk_conv2d(&p, &bad_q, &in_d, in, &good_f, w, NULL, &out_d, out),
         tk_conv2d(&p, &q, &in_d, NULL, &good_f, w, NULL, &out_d, out),
         tk_softmax(&sp, &row, in, out),
         tk_softmax(&sp, &wide, in, out));
  printf("%d %d %d\n", TK_OK, TK_ERROR_ARGUMENT, TK_ERROR_SIZE);
  return 0;
}
"""


@needs_cc
def test_kernels_return_an_error_code_for_bad_arguments(tmp_path):
    (tmp_path / "errors.c").write_text(KERNEL_ERRORS)
    cc = shutil.which("gcc") or shutil.which("cc")
    exe = tmp_path / "errors"
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-I", str(RUNTIME_DIR),
                    str(tmp_path / "errors.c"), str(RUNTIME_DIR / "tk_kernels.c"),
                    "-o", str(exe)], check=True, timeout=TIMEOUT)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True,
                           timeout=TIMEOUT).stdout.split("\n")
    ok, arg, size = (int(v) for v in lines[1].split())
    assert ok == 0 and len({ok, arg, size}) == 3
    assert [int(v) for v in lines[0].split()] == [ok, size, arg, size, arg, ok, size]


@needs_cc
def test_run_host_compiles_once_per_model(small_softmax, tmp_path):
    tfl, rep = small_softmax
    first = run_host(tfl, rep[:5], build_dir=tmp_path)
    builds = list(tmp_path.glob("*/tk_model_host"))
    stamp = builds[0].stat().st_mtime_ns
    second = run_host(tfl, rep[5:9], build_dir=tmp_path)
    assert list(tmp_path.glob("*/tk_model_host")) == builds
    assert builds[0].stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(np.concatenate([first, second]), convert.run_tflm(tfl, rep[:9]))


@needs_cc
def test_a_failing_or_short_host_run_is_a_deploy_error(small_softmax, tmp_path):
    tfl, rep = small_softmax
    run_host(tfl, rep[:2], build_dir=tmp_path)
    exe, = tmp_path.glob("*/tk_model_host")
    exe.write_text("#!/bin/sh\necho 'read 0 inputs' >&2\nexit 3\n")
    with pytest.raises(DeployError, match=r"the plain-C model on 2 inputs failed \(exit 3\)"
                                          r"(.|\n)*read 0 inputs"):
        run_host(tfl, rep[:2], build_dir=tmp_path)
    exe.write_text("#!/bin/sh\nhead -c 5\n")      # echoes its first 5 input bytes, no more
    with pytest.raises(DeployError, match=r"wrote 5 output bytes for 2 inputs"):
        run_host(tfl, rep[:2], build_dir=tmp_path)
