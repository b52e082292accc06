"""The plain-C int8 model (tinykit.deploy.cmodel) against the TFLite Micro interpreter,
compiled with the host's C compiler: every kernel, bit for bit."""
import shutil
import subprocess

import numpy as np
import pytest

from tinykit import convert
from tinykit.deploy.cmodel import RUNTIME_DIR, generate_c_model, quantize_multiplier
from tinykit.errors import DeployError
from tinykit.models._keras import keras

MAIN = r"""
#include <stdio.h>
#include "tk_model.h"
int main(int argc, char **argv) {
  int8_t in[TK_MODEL_INPUT_SIZE], out[TK_MODEL_OUTPUT_SIZE];
  FILE *f = fopen(argv[1], "rb");
  while (fread(in, 1, sizeof in, f) == sizeof in) {
    tk_model_invoke(in, out);
    for (int i = 0; i < TK_MODEL_OUTPUT_SIZE; i++) printf("%d ", out[i]);
    printf("\n");
  }
  return 0;
}
"""


def run_c(tfl, x, tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler (gcc) to build the plain-C model with")
    header, source, info = generate_c_model(tfl)
    (tmp_path / "tk_model.h").write_text(header)
    (tmp_path / "tk_model.c").write_text(source)
    (tmp_path / "main.c").write_text(MAIN)
    convert.quantize_inputs(tfl, x).tofile(tmp_path / "in.bin")
    subprocess.run([cc, "-O1", "-Wall", "-Werror", "-I", str(RUNTIME_DIR), "-I", str(tmp_path),
                    str(tmp_path / "main.c"), str(tmp_path / "tk_model.c"),
                    str(RUNTIME_DIR / "tk_kernels.c"), "-lm", "-o", str(tmp_path / "model")],
                   check=True)
    out = subprocess.run([str(tmp_path / "model"), str(tmp_path / "in.bin")],
                         capture_output=True, text=True, check=True).stdout
    return np.array([[int(v) for v in line.split()] for line in out.splitlines()]), info


def small_kws_like_model():
    """Every kernel the plain-C path has: strided conv, depthwise, both pools, FC, softmax."""
    layers = keras.layers
    inp = keras.Input((20, 10, 1))
    x = layers.Conv2D(8, (5, 3), strides=(2, 1), padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="valid")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.AveragePooling2D((2, 2), padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(6)(x)
    out = layers.Softmax()(x)
    return keras.Model(inp, out)


def test_every_kernel_matches_tflm_bit_for_bit(tmp_path):
    keras.utils.set_random_seed(3)
    model = small_kws_like_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 20, 10, 1)).astype(np.float32)
    tfl = convert.to_int8(model, representative=x)  # post-training quantization
    ops = set(convert.ops(tfl))
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D",
            "FULLY_CONNECTED", "SOFTMAX"} <= ops
    got, info = run_c(tfl, x, tmp_path)
    want = convert.run_tflm(tfl, x)
    assert got.shape == want.shape == (40, 6)
    np.testing.assert_array_equal(got, want)
    assert info["output_size"] == 6 and info["input_size"] == 200


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
