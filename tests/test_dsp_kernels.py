"""tinykit's fast int8 kernels (cruntime/tk_fast.c, kernels="dsp") and the instruction
count of the emulated board: bit for bit equal to the TFLite Micro interpreter on the
host (the DSP operations in portable C) and on QEMU's Cortex-M4F (the DSP extension),
for randomized layers and the example models; instructions counted exactly; the DS-CNN
at 2 instructions per multiply-accumulate or fewer, in no more flash than plain C.

The default run keeps a few seeds of each randomized test (about 30 s); the others, and
the whole example models on the board, are marked slow (`make test-slow`)."""
import re
import shutil
import subprocess

import numpy as np
import pytest

from tinykit import convert, models
from tinykit.deploy import emulated
from tinykit.deploy.cmodel import RUNTIME_DIR, generate_c_model, run_host
from tinykit.models._keras import keras

from test_cmodel import small_kws_like_model

CC = shutil.which("gcc") or shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="no host C compiler (gcc)")
MISSING = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make") if shutil.which(t) is None]
needs_qemu = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed; "
                                f"run `sh boards/install-tools.sh`")
L = keras.layers


def random_layers(seed):
    """A small model of layers with shapes, strides, paddings and depth drawn at random:
    kxk and 1x1 convolutions, depthwise 3x3 and kx1 (channels a multiple of 4 or not),
    max pooling, dense with an odd number of units; per-channel scales, random zero
    points (ranges not centred on 0)."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    h, w, c = int(rng.integers(6, 14)), int(rng.integers(3, 9)), int(rng.integers(1, 6))
    inp = keras.Input((h, w, c))
    act = ["relu", None, "relu6"]
    x = L.Conv2D(int(rng.choice([4, 5, 8, 12])), (int(rng.integers(1, 5)), int(rng.integers(1, 4))),
                 strides=(int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                 padding=str(rng.choice(["same", "valid"])), activation=act[seed % 3])(inp)
    if x.shape[3] % 4 == 0:
        x = L.MaxPooling2D((2, 1), padding="same")(x)
    x = L.DepthwiseConv2D((3, 3) if seed % 2 else (int(rng.integers(2, 5)), 1),
                          padding="same", activation="relu")(x)
    x = L.Conv2D(int(rng.choice([3, 8, 16])), (1, 1), use_bias=False)(x)
    x = L.BatchNormalization()(x)                  # folded into the 1x1 convolution
    x = L.ReLU()(x) if seed % 3 else x
    x = L.Flatten()(x)
    x = L.Dense(int(rng.choice([5, 7, 10])))(x)
    out = L.Softmax()(x)
    model = keras.Model(inp, out)
    return quantized(model, rng, (h, w, c), gamma=(0.5, 2), samples=60)


def quantized(model, rng, shape, *, gamma, samples):
    """``model``'s BatchNormalization given random statistics (its scale drawn from
    ``gamma``), then quantized on ``samples`` random inputs of ``shape`` with a random
    spread and offset: ``(int8 model, representative inputs)``."""
    bn = [layer for layer in model.layers if isinstance(layer, L.BatchNormalization)][0]
    n = bn.get_weights()[0].shape
    bn.set_weights([rng.uniform(*gamma, n), rng.normal(0, 1, n), rng.normal(0, 1, n),
                    rng.uniform(0.5, 2, n)])
    rep = (rng.normal(size=(samples, *shape)) * rng.uniform(0.5, 3) + rng.uniform(-1, 2)
           ).astype(np.float32)
    return convert.to_int8(model, representative=rep), rep


def seeds(n, default):
    """range(n) as test parameters, the seeds not in ``default`` marked slow."""
    return [s if s in default else pytest.param(s, marks=pytest.mark.slow) for s in range(n)]


@needs_cc
@pytest.mark.parametrize("seed", seeds(4, default=(1,)))
def test_random_layers_match_tflm_on_the_host(seed, tmp_path):
    tfl, x = random_layers(seed)
    want = convert.run_tflm(tfl, x)
    assert len(np.unique(want)) > 3
    for kernels in ("dsp", "plain"):
        got = run_host(tfl, x, build_dir=tmp_path, kernels=kernels)
        np.testing.assert_array_equal(got, want, err_msg=f"kernels={kernels}")


def test_dsp_kernels_are_used_and_weights_re_laid_out():
    tfl, _ = random_layers(1)
    _, source, info = generate_c_model(tfl, kernels="dsp")
    _, plain, _ = generate_c_model(tfl, kernels="plain")
    assert "tk_fast_conv(" in source and "tk_fast_depthwise(" in source
    assert "tk_fast" not in plain and "tk_conv2d(" in plain
    assert info["kernels"] == "dsp" and info["macs"] > 0


FAST_REQUANT = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tk_kernels.h"
#include "tk_fast.h"
static unsigned long long s = 88172645463325252ull;
static unsigned long long next(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
int main(void) {
  long bad = 0, n = 0;
  for (long i = 0; i < 3000000; i++) {
    int32_t m = (int32_t)((1u << 30) + (uint32_t)(next() % (1u << 30)));
    int32_t shift = -(int32_t)(1 + next() % 31);
    int32_t bits = (int32_t)(next() % 31);              /* |acc| < 2^30 */
    int32_t acc = (int32_t)(next() % (1ull << bits)) * ((next() & 1) ? 1 : -1);
    if (i % 7 == 0)  /* a tie: k * 2^(e-1), still below 2^30 */
      acc = (int32_t)((next() % (1ull << (31 + shift))) << (-shift - 1)) * ((next() & 1) ? 1 : -1);
    n++;
    if (tk_fast_requantize(acc, m, shift) != tk_requantize(acc, m, shift)) bad++;
  }
  printf("%ld %ld\n", n, bad);
  return 0;
}
"""


@needs_cc
def test_fast_requantization_equals_tflites(tmp_path):
    """SMMULR(2 acc, m) and the one-line rounding shift give TFLite's result on millions
    of accumulators, multipliers and shifts (ties included: every 7th value is a
    multiple of half the divisor)."""
    (tmp_path / "rq.c").write_text(FAST_REQUANT)
    exe = tmp_path / "rq"
    subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-I", str(RUNTIME_DIR), str(tmp_path / "rq.c"),
                    str(RUNTIME_DIR / "tk_kernels.c"), str(RUNTIME_DIR / "tk_fast.c"),
                    "-o", str(exe)], check=True, timeout=180)
    n, bad = map(int, subprocess.run([str(exe)], capture_output=True, text=True, check=True,
                                     timeout=180).stdout.split())
    assert n == 3000000 and bad == 0


# ---------------------------------------------------------------- the emulated board

@needs_qemu
@pytest.mark.parametrize("board", ["mps2-an386", "netduinoplus2", "microbit"])
def test_instruction_count_is_exact(tmp_path, board):
    """Loops of 2 n + 1 instructions: the counts differ by exactly 2 per iteration, also
    when the timer wraps between readings (a small reload value); with the MPS2's CMSDK
    timer, with the STM32's TIM2 (the netduinoplus2) and the nRF51's TIMER0 (the
    microbit, a Cortex-M0). QEMU 7.2's TIM2 counts on past a small ARR
    (hw/timer/stm32f2xx_timer.c wraps only at 2^32) and TIMER0 has no reload, so on
    those only the full 32-bit period is checked."""
    tfl, x = random_layers(0)
    project = emulated.generate_project(tfl, out=tmp_path, board=board)
    configs = [{"TK_CYCLES_TEST": 1}, {"TK_CYCLES_TEST": 1, "TK_CYCLES_RELOAD": "1000000u"}]
    for config in configs if board == "mps2-an386" else configs[:1]:
        elf = emulated.build_project(project, build_dir=tmp_path / "b", config=config)
        with emulated.boot(elf, icount=True, board=board) as board_:
            lines = board_.read_until("done", timeout=120)
        loops = {int(m.group(1)): int(m.group(2)) for m in
                 (re.fullmatch(r"loop (\d+): (\d+)", s) for s in lines) if m}
        n = sorted(loops)[:3]                   # 1, 1000, 123457 (< one timer period)
        assert n == [1, 1000, 123457]
        assert loops[n[1]] - loops[n[0]] == 2 * (n[1] - n[0])
        assert loops[n[2]] - loops[n[1]] == 2 * (n[2] - n[1])
        assert 3 <= loops[1] < 40               # the loop and the call around it


def kws_like():
    keras.utils.set_random_seed(3)
    x = np.random.default_rng(0).normal(size=(8, 20, 10, 1)).astype(np.float32)
    return convert.to_int8(small_kws_like_model(), representative=x), x


@needs_qemu
@pytest.mark.parametrize("which", ["kws", pytest.param("random1", marks=pytest.mark.slow),
                                   pytest.param("random2", marks=pytest.mark.slow)])
def test_dsp_kernels_on_the_board_match_tflm_and_count_the_same_every_run(which, tmp_path):
    tfl, xs = kws_like() if which == "kws" else random_layers(int(which[-1]))
    xs = np.concatenate([xs[:4], xs[:1]])            # the first input twice
    runs = {k: emulated.run(tfl, xs, build_dir=tmp_path, kernels=k) for k in ("dsp", "plain")}
    want = convert.run_tflm(tfl, xs)
    for k, device in runs.items():
        np.testing.assert_array_equal(device.outputs, want, err_msg=f"kernels={k}")
        assert device.instructions.shape == (5,)
        assert device.instructions[0] == device.instructions[4]   # repeatable
    assert runs["dsp"].instructions.max() < runs["plain"].instructions.min()


def untrained(name, shape, classes, seed=0):
    keras.utils.set_random_seed(seed)
    model = models.build(name, shape, classes)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.5, 2.0, n)])
    rep = rng.normal(size=(32,) + shape).astype(np.float32)
    return convert.to_int8(model, representative=rep), rep


@needs_cc
@pytest.mark.parametrize("name, shape, classes", [
    ("gesture_cnn", (119, 6), 5),
    pytest.param("ds_cnn", (49, 10), 12, marks=pytest.mark.slow)])
def test_example_models_on_the_host(name, shape, classes, tmp_path):
    tfl, x = untrained(name, shape, classes)
    np.testing.assert_array_equal(run_host(tfl, x[:8], build_dir=tmp_path),
                                  convert.run_tflm(tfl, x[:8]))


@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("name, shape, classes, goal", [("gesture_cnn", (119, 6), 5, 2.5),
                                                        ("ds_cnn", (49, 10), 12, 2.0),
                                                        ("tiny_conv", (49, 40), 12, 3.61)])
def test_example_models_on_the_board(name, shape, classes, goal, tmp_path):
    """The goals of issue 9: instructions per multiply-accumulate, and flash (.text and
    .rodata of the firmware) and RAM (.data, .bss and the stack measured) no larger than
    the plain C's. tiny_conv's goal is what it took before its first convolution lost
    its scratch buffer (tk_fast_conv_direct): no slower than that."""
    tfl, x = untrained(name, shape, classes)
    runs = {k: emulated.run(tfl, x[:6], build_dir=tmp_path, timeout=900, kernels=k)
            for k in ("dsp", "plain")}
    for device in runs.values():
        np.testing.assert_array_equal(device.outputs, convert.run_tflm(tfl, x[:6]))
    macs = generate_c_model(tfl)[2]["macs"]
    assert runs["dsp"].instructions.max() / macs <= goal
    assert runs["dsp"].text_bytes <= runs["plain"].text_bytes
    assert runs["dsp"].ram_bytes <= runs["plain"].ram_bytes


def random_depthwise_and_pools(seed):
    """Depthwise convolutions and pools with the geometry the fast kernels branch on
    drawn at random: the 3x3 window (its unrolled loop inside the input, the general
    loop at the borders) and kernels of 1 to 4 by 1 to 3, strides 1 and 2, SAME and
    VALID padding, channels a multiple of 4 (tk_fast) or not (the reference loops),
    fused activations, with and without bias, per-channel weight scales, zero points
    away from 0; then average and max pools (windows cut by the padding, a window over
    the whole map; more than 256 values: the reference loop)."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    h, w = int(rng.integers(5, 12)), int(rng.integers(3, 9))
    if seed % 5 == 4:
        h, w = 19, 15                                  # a global average of 285 values
    c = int(rng.choice([4, 8, 12, 6] if seed % 4 else [8]))
    inp = keras.Input((h, w, c))
    k = (3, 3) if seed % 2 == 0 else (int(rng.integers(1, 5)), int(rng.integers(1, 4)))
    strides = (1, 1) if seed % 3 == 0 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    x = L.DepthwiseConv2D(k, strides=strides, padding=str(rng.choice(["same", "valid"])),
                          use_bias=bool(seed % 2), activation=["relu", None, "relu6"][seed % 3],
                          depthwise_initializer=keras.initializers.RandomNormal(stddev=0.5))(inp)
    x = L.DepthwiseConv2D((3, 3), padding="same")(x)
    x = L.BatchNormalization()(x)          # folded: a depthwise layer's scales per channel
    x = L.ReLU()(x)
    if seed % 5 == 4:
        x = L.AveragePooling2D((x.shape[1], x.shape[2]))(x)
    else:
        p = (int(rng.integers(1, min(3, x.shape[1]) + 1)), int(rng.integers(1, min(3, x.shape[2]) + 1)))
        x = L.AveragePooling2D(p, strides=(1, int(rng.integers(1, 3))),
                               padding=str(rng.choice(["same", "valid"])))(x)
        x = L.MaxPooling2D((2, 2), strides=(1, 1), padding="same")(x)
    model = keras.Model(inp, x)
    return quantized(model, rng, (h, w, c), gamma=(0.3, 3), samples=40)


@needs_cc
@pytest.mark.parametrize("seed", seeds(10, default=(0, 4)))
def test_random_depthwise_and_pools_match_tflm_on_the_host(seed, tmp_path):
    tfl, x = random_depthwise_and_pools(seed)
    assert {"DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"} <= set(tfl.ops)
    want = convert.run_tflm(tfl, x)
    assert len(np.unique(want)) > 3
    _, source, _ = generate_c_model(tfl, kernels="dsp")
    c = x.shape[-1]
    assert ("tk_fast_depthwise(" in source) == (c % 4 == 0)
    for kernels in ("dsp", "plain"):
        got = run_host(tfl, x, build_dir=tmp_path, kernels=kernels)
        np.testing.assert_array_equal(got, want, err_msg=f"kernels={kernels}")


@needs_qemu
@pytest.mark.parametrize("seed", seeds(4, default=(0,)))
def test_random_depthwise_and_pools_on_the_board(seed, tmp_path):
    """The DSP extension's code paths (the asm 3x3 loop, SMMLAR/SSAT requantization,
    SXTAB16 sums) against TFLM on QEMU's Cortex-M4F."""
    tfl, x = random_depthwise_and_pools(seed)
    device = emulated.run(tfl, x[:6], build_dir=tmp_path, kernels="dsp")
    np.testing.assert_array_equal(device.outputs.reshape(6, -1),
                                  convert.run_tflm(tfl, x[:6]).reshape(6, -1))


def test_depthwise_weights_stay_int8_and_shifts_shrink():
    """The DSP layout of a depthwise layer's weights has as many bytes as TFLite's (one
    int8 word per tap and 4 channels); the fast layers' shifts are int8."""
    tfl, _ = random_depthwise_and_pools(0)
    _, dsp, _ = generate_c_model(tfl, kernels="dsp")
    _, plain, _ = generate_c_model(tfl, kernels="plain")

    def sizes(source, kind):
        return {m.group(2): int(m.group(3)) * {"int8_t": 1, "uint32_t": 4, "int32_t": 4}[m.group(1)]
                for m in re.finditer(r"static const (\w+) (op\d+_" + kind + r")\[(\d+)\]", source)}
    assert sizes(dsp, "filter") == sizes(plain, "filter")
    assert sum(sizes(dsp, "shift").values()) * 4 == sum(sizes(plain, "shift").values())


@needs_cc
def test_fully_connected_reads_rows_in_place_without_room_for_scratch(tmp_path):
    """Dense layers with no arena left beside their input and output (the first reads
    the caller's input, the arena holds only the outputs): tk_fast_conv_direct, no
    scratch buffer; an odd number of units and a depth not a multiple of 4."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((301,))
    x = L.Dense(7)(inp)
    x = L.Dense(5, activation="relu")(x)
    model = keras.Model(inp, L.Softmax()(x))
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(50, 301)) + 0.7).astype(np.float32)
    tfl = convert.to_int8(model, representative=x)
    _, source, info = generate_c_model(tfl, kernels="dsp")
    assert source.count("tk_fast_conv_direct(") == 2 and "tk_fast_conv(" not in source
    assert "static uint32_t scratch" not in source and info["buffer_bytes"] == 16
    want = convert.run_tflm(tfl, x)
    np.testing.assert_array_equal(run_host(tfl, x, build_dir=tmp_path), want)


def random_first_conv(seed):
    """One convolution reading the caller's input, its output all the arena holds (no
    room for tk_fast_conv's scratch): tk_fast_conv_direct where window rows are whole
    words (kw * channels a multiple of 4, or one row), tk_fast_conv with a static scratch
    elsewhere. Kernels, strides, dilation and padding drawn at random (windows cut at
    every border), odd output channels, with and without bias, zero points away from 0."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    c = int(rng.choice([1, 2, 4, 3]))
    kh = int(rng.integers(1, 5))
    kw = int(rng.choice([k for k in range(1, 9) if (k * c) % 4 == 0 or kh == 1 or seed % 4 == 3]))
    h, w = int(rng.integers(kh + 2, 16)), int(rng.integers(kw + 1, 14))
    dilated = seed % 3 == 2
    inp = keras.Input((h, w, c))
    x = L.Conv2D(int(rng.choice([3, 5, 8, 6])), (kh, kw),
                 strides=(1, 1) if dilated else (int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                 dilation_rate=(2, 1) if dilated else (1, 1),
                 padding=str(rng.choice(["same", "valid"])), use_bias=bool(seed % 2),
                 activation=["relu", None, "relu6"][seed % 3],
                 kernel_initializer=keras.initializers.RandomNormal(stddev=0.5))(inp)
    model = keras.Model(inp, x)
    rep = (rng.normal(size=(40, h, w, c)) * rng.uniform(0.5, 3) + rng.uniform(-1, 2)
           ).astype(np.float32)
    return convert.to_int8(model, representative=rep), rep, kw * c % 4 == 0 or kh == 1


@needs_cc
@pytest.mark.parametrize("seed", seeds(12, default=(0, 1, 2, 3)))
def test_first_convolution_without_room_for_scratch(seed, tmp_path):
    tfl, x, direct = random_first_conv(seed)
    _, source, _ = generate_c_model(tfl, kernels="dsp")
    assert ("tk_fast_conv_direct(" in source) == direct
    assert ("static uint32_t scratch" in source) != direct
    want = convert.run_tflm(tfl, x)
    assert len(np.unique(want)) > 3
    np.testing.assert_array_equal(run_host(tfl, x, build_dir=tmp_path), want)


@needs_cc
def test_the_arena_holds_no_copy_of_the_input_and_1x1_convolutions_work_in_place(tmp_path):
    """The first op reads the caller's input; a fast 1x1 convolution with as many
    channels out as in writes over its input, so its pair buffer fits in the arena the
    depthwise layers need anyway (as in a DS-CNN): the DSP model needs no more RAM than
    the plain one, and both give TFLM's bytes (15 pixels: a lone last one)."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((5, 3, 8))
    x = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D((3, 3), padding="same")(x)
    x = L.Conv2D(8, (1, 1), activation="relu")(x)      # in place, at the arena's end
    x = L.Conv2D(8, (1, 1))(x)                           # in place
    x = L.Dense(3)(L.Flatten()(x))
    model = keras.Model(inp, L.Softmax()(x))
    rng = np.random.default_rng(6)
    x = (rng.normal(size=(40, 5, 3, 8)) + 0.3).astype(np.float32)
    tfl = convert.to_int8(model, representative=x)
    _, dsp, info = generate_c_model(tfl, kernels="dsp")
    _, plain, plain_info = generate_c_model(tfl, kernels="plain")
    for source in (dsp, plain):
        assert "memcpy(arena, input" not in source and source.count(", input, ") == 1
    calls = re.findall(r"tk_fast_conv\(&op(\d+)_params, &op\d+_quant, &op\d+_input_dims, "
                       r"([^,]+), &op\d+_filter_dims, op\d+_filter, \w+, &op\d+_output_dims, "
                       r"([^,]+),", dsp)
    in_place = [int(k) for k, a, b in calls if a == b]
    assert in_place == [2, 3] and len(calls) == 2, calls
    assert "static uint32_t scratch" not in dsp
    assert info["buffer_bytes"] <= plain_info["buffer_bytes"]
    want = convert.run_tflm(tfl, x)
    assert len(np.unique(want)) > 3
    for kernels in ("dsp", "plain"):
        np.testing.assert_array_equal(run_host(tfl, x, build_dir=tmp_path, kernels=kernels),
                                      want, err_msg=f"kernels={kernels}")
