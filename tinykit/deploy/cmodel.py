"""Plain-C inference for an int8 .tflite model, for boards without TensorFlow Lite Micro.

``generate_c_model(tfl)`` reads the flatbuffer and writes ``tk_model.h/.c``: the weights
as const arrays, each operator's geometry and quantization as const structs, and one
call per operator into tinykit's portable int8 kernels (``cruntime/tk_kernels.c``, the
arithmetic of TFLite's reference kernels, fixed-point softmax included). The emulated
board (QEMU ``mps2-an386``) runs it, ``run_host`` runs it on this machine, and tinykit
compares their outputs with the TFLite Micro interpreter's, bit for bit::

    raw = run_host(tfl, x_test)
    assert (raw == tinykit.convert.run_tflm(tfl, x_test)).all()

Two kernel sets (``kernels=``): ``"dsp"`` (the default) re-lays the weights at
generation time for ``cruntime/tk_fast.c``, whose inner loops use the Cortex-M4/M7/M33
DSP extension (dual 16-bit multiply-accumulates) when the compiler targets it and the
same operations in portable C elsewhere; ``"plain"`` calls the reference loops of
``cruntime/tk_kernels.c`` only. Both give TFLM's bytes.

Supported ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE, SOFTMAX and int8-to-int8 QUANTIZE, on int8 activations with
per-channel or per-tensor int8 weights. Anything else is a DeployError at generation
time that names it.

The softmax is TFLite's int8 one, exactly, for rows of up to 4095 values (its Q12.19
sum holds no more). One difference: on a row whose exponentials add up to 512 or more
(more than 511 values at or near the maximum) TFLite's reference shifts by more than 31
bits, which C leaves undefined (TFLM's Python interpreter aborts); tinykit gives the
exact result there, -128 (a probability below 1/512).
"""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._resources import runtime_dir
from .._tools import require_tool, run_tool
from ..errors import DeployError
from . import codegen

RUNTIME_DIR = runtime_dir()
KERNELS = ("dsp", "plain")
RUNTIME_SOURCES = ("tk_kernels.c", "tk_fast.c")
SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D",
             "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX", "QUANTIZE")
GENERATOR = "tinykit.deploy.cmodel"

# TFLite's int8 softmax: input differences in Q5.26, the sum of exponentials in Q12.19
# (so at most 4095 values of up to 1.0 per row before it overflows).
_SOFTMAX_DIFF_INTEGER_BITS = 5
_SOFTMAX_MAX_DEPTH = 2 ** 12 - 1

_PADDING = {0: "SAME", 1: "VALID"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH",
                5: "SIGN_BIT"}


def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier: ``(multiplier, shift)`` with
    real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (0, 0 for 0 and for
    reals too small to represent)."""
    if real == 0:
        return 0, 0
    frac, shift = math.frexp(real)
    q = int(math.copysign(math.floor(abs(frac) * (1 << 31) + 0.5), frac))  # round half away
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def softmax_scaling(input_scale, beta=1.0):
    """The parameters of TFLite's int8 softmax, as its PreprocessSoftmaxScaling and
    CalculateInputRadius compute them: ``(input_multiplier, input_left_shift, diff_min)``.

    Input differences from the row maximum (in int8 steps) are multiplied by
    ``input_multiplier * 2^input_left_shift / 2^31`` to Q5.26; differences below
    ``diff_min`` give an exponential of 0.

    Example:
        >>> softmax_scaling(0.1)
        (1717986944, 23, -248)
    """
    beta, input_scale = float(np.float32(beta)), float(np.float32(input_scale))
    real = min(beta * input_scale * (1 << (31 - _SOFTMAX_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    if not real > 1.0:  # TFLite's QuantizeMultiplierGreaterThanOne
        raise DeployError(f"softmax input scale {input_scale!r} times beta {beta!r} is at "
                          f"most 2^-26, below what TFLite's int8 softmax can represent; "
                          f"expected more than 1.5e-8. Re-quantize the model with a wider "
                          f"input range.")
    multiplier, shift = quantize_multiplier(real)
    radius = math.floor(((1 << _SOFTMAX_DIFF_INTEGER_BITS) - 1)
                        * (1 << (31 - _SOFTMAX_DIFF_INTEGER_BITS)) / (1 << shift))
    return multiplier, shift, -radius


@dataclass
class _Tensor:
    name: str
    dtype: str
    shape: tuple
    scale: np.ndarray
    zero_point: np.ndarray
    data: np.ndarray | None


def _read(tfl):
    from tensorflow.lite.python import schema_py_generated as S
    try:
        model = S.ModelT.InitFromObj(S.Model.GetRootAsModel(tfl, 0))
    except Exception as exc:  # flatbuffers raises plain errors on garbage
        raise DeployError(f"could not read the model as a .tflite flatbuffer ({exc}); "
                          f"expected the bytes tinykit.convert.to_int8 returns.") from exc
    names = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(S.TensorType).items() if not k.startswith("_")}
    numpy_types = {"INT8": np.int8, "INT32": np.int32, "FLOAT32": np.float32,
                   "INT64": np.int64, "INT16": np.int16, "UINT8": np.uint8}
    if len(model.subgraphs) != 1:
        raise DeployError(f"the plain-C model needs a single-subgraph model; this one has "
                          f"{len(model.subgraphs)} subgraphs. Run it with TFLite Micro "
                          f"instead (tinykit.deploy.generate).")
    sg = model.subgraphs[0]
    tensors = []
    for t in sg.tensors:
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [1.0], np.float64)
        zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [0], np.int64)
        dtype = type_names.get(t.type, str(t.type))
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        data = None
        if buf is not None and len(buf):
            data = np.frombuffer(bytes(np.asarray(buf, np.uint8)), numpy_types.get(dtype, np.uint8))
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        shape = tuple(int(s) for s in t.shape) if t.shape is not None else ()
        tensors.append(_Tensor(name, dtype, shape, scale, zp, data))
    ops = []
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        if name == "CUSTOM" and code.customCode:
            name = f"CUSTOM ({code.customCode.decode(errors='replace')})"
        ops.append((name, [int(i) for i in op.inputs], [int(i) for i in op.outputs],
                    op.builtinOptions))
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise DeployError(f"the plain-C model needs one input and one output tensor; this "
                          f"model has {len(sg.inputs)} inputs and {len(sg.outputs)} outputs.")
    return tensors, ops, int(sg.inputs[0]), int(sg.outputs[0])


def _round_half_away(v):
    return math.copysign(math.floor(abs(v) + 0.5), v)


def _act_range(fused, t, where):
    """TFLite's CalculateActivationRangeQuantized for an int8 output ``t``."""
    if fused not in (0, 1, 2, 3):
        raise DeployError(f"{where}: the fused activation {_ACTIVATIONS.get(fused, fused)} is "
                          f"not supported by the plain-C model (expected NONE, RELU, "
                          f"RELU6 or RELU_N1_TO_1).")
    zp, scale = int(t.zero_point[0]), np.float32(t.scale[0])

    def quantize(f):  # float arithmetic, std::round, as TFLite's Quantize()
        return zp + int(_round_half_away(float(np.float32(f) / scale)))

    lo, hi = -128, 127
    if fused in (1, 3):  # RELU, RELU6
        lo = max(lo, quantize(0.0))
    if fused == 3:
        hi = min(hi, quantize(6.0))
    if fused == 2:  # RELU_N1_TO_1
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    return lo, hi


def _padding(padding, in_size, out_size, stride, k, dilation):
    """TFLite's ComputePadding for SAME (0 for VALID)."""
    if padding != 0:
        return 0
    eff = (k - 1) * dilation + 1
    return max(((out_size - 1) * stride + eff - in_size) // 2, 0)


def _nhwc(shape):
    """(n, h, w, c) of a shape whose last dimension is the channels."""
    shape = tuple(shape) or (1,)
    if len(shape) > 4:
        return None
    return (1,) * (4 - len(shape)) + shape if len(shape) < 4 else shape


def generate_c_model(tfl, prefix="tk_model", source="", *, kernels="dsp"):
    """C source running ``tfl`` with tinykit's portable kernels.

    Args:
        tfl: int8 .tflite bytes (``tinykit.convert.to_int8``).
        prefix: the name of the files and of the ``<prefix>_invoke`` function.
        source: a short description of the model for the generated banner.
        kernels: ``"dsp"`` (weights re-laid out for ``tk_fast.c``) or ``"plain"`` (the
            reference loops of ``tk_kernels.c``).

    Returns:
        ``(header_text, source_text, info)``; ``info`` has ``input_size``,
        ``output_size``, ``output_shape``, ``buffer_bytes`` (RAM for activations and
        scratch), ``macs`` (multiply-accumulates per inference) and ``ops``. The header
        declares ``tk_status <prefix>_invoke(const int8_t *input, int8_t *output)``,
        which returns ``TK_OK`` or the first kernel error.

    Raises:
        DeployError: an op, data type, layout or limit the plain-C path does not cover,
            named in the message.

    Example:
        >>> h, c, info = generate_c_model(tfl)  # doctest: +SKIP
        >>> info["ops"]  # doctest: +SKIP
        ['CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']
    """
    codegen.identifier(prefix)
    if kernels not in KERNELS:
        raise DeployError(f"kernels={kernels!r}; expected one of {', '.join(KERNELS)}.")
    tensors, ops, t_in, t_out = _read(bytes(tfl))
    unsupported = sorted({name for name, *_ in ops if name not in SUPPORTED})
    if unsupported:
        raise DeployError(f"the plain-C model supports {', '.join(SUPPORTED)}; this model "
                          f"also uses {', '.join(unsupported)}. Run it with TFLite Micro "
                          f"instead (tinykit.deploy.generate).")
    for end, t in (("input", tensors[t_in]), ("output", tensors[t_out])):
        if t.dtype != "INT8":
            raise DeployError(f"the model's {end} tensor {t.name!r} is {t.dtype}; the plain-C "
                              f"model needs int8 input and output (convert with "
                              f"tinykit.convert.to_int8).")
    blocks, calls = [], []  # one block of C constants per op, one kernel call per op
    # Activations ping-pong between the two ends of one arena (an op's input at one end,
    # its output at the other), so the arena is the largest input + output of any op;
    # RESHAPE is a no-op on NHWC data. Sizes are rounded up to words for the fast kernels.
    # The first op reads the caller's input where it lies (no copy in the arena), and a
    # fast 1x1 convolution of as many channels out as in writes over its own input (each
    # pixel's output replaces it once both pixels of a pair are widened). state["free"]:
    # the arena's bytes an op leaves free, [start, ARENA_BYTES - tail), for its scratch.
    where = {t_in: INPUT}
    arena = 0
    state = {"kernels": kernels, "macs": 0, "scratch": []}
    for k, (name, ins, outs, opt) in enumerate(ops):
        at = f"op {k} ({name})"
        x, y = tensors[ins[0]], tensors[outs[0]]
        src = where.get(ins[0])
        if src is None:
            raise DeployError(f"{at} reads tensor {x.name!r}, which no earlier op produces "
                              f"(a constant or a second input); the plain-C model chains "
                              f"one activation tensor through its ops.")
        for t in (x, y):
            if t.dtype != "INT8":
                raise DeployError(f"{at}: tensor {t.name!r} is {t.dtype}; the plain-C "
                                  f"kernels take int8 activations only.")
            if t.scale.size != 1:
                raise DeployError(f"{at}: activation tensor {t.name!r} has per-channel "
                                  f"quantization; expected one scale and zero point.")
        if _nhwc(x.shape) is None or _nhwc(y.shape) is None:
            raise DeployError(f"{at}: tensors of rank above 4 ({x.shape} -> {y.shape}) are "
                              f"not supported by the plain-C kernels.")
        if name == "RESHAPE":
            where[outs[0]] = src
            continue
        n_x, n_y = _round4(int(np.prod(x.shape))), _round4(int(np.prod(y.shape)))
        if src == INPUT:
            dst, state["free"], need = 0, (n_y, 0), n_y
        elif kernels == "dsp" and name == "CONV_2D" and _in_place(x, y, tensors[ins[1]], opt):
            dst, state["free"], need = src, (n_x, 0) if src == 0 else (0, n_x), n_x
        else:
            dst, state["free"], need = 1 - src, (n_x, n_y) if src == 0 else (n_y, n_x), n_x + n_y
        where[outs[0]] = dst
        arena = max(arena, need)
        a, b = _place(src, x), _place(dst, y)
        p = f"op{k}"
        decls = [f"// op {k}: {name}, {x.shape} -> {y.shape}"]
        blocks.append(decls)
        if name == "SOFTMAX":
            calls.append(_softmax(k, at, x, y, opt, decls, a, b))
        elif name == "QUANTIZE":
            mult, shift = quantize_multiplier(float(x.scale[0]) / float(y.scale[0]))
            decls += [codegen.array("int32_t", f"{p}_multiplier", [mult], static=True),
                      codegen.array("int32_t", f"{p}_shift", [shift], static=True),
                      codegen.struct("tk_quant", f"{p}_quant", (int(x.zero_point[0]),
                              int(y.zero_point[0]), f"{p}_multiplier", f"{p}_shift", 1)),
                      codegen.struct("tk_dims", f"{p}_dims", _nhwc(x.shape))]
            calls.append(f"tk_quantize(&{p}_quant, &{p}_dims, {a}, {b})")
        elif name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            calls.append(_pool(k, at, name, x, y, opt, decls, a, b, state))
        else:
            calls.append(_weighted(k, at, name, x, y, [tensors[i] if i >= 0 else None
                                                       for i in ins[1:]], opt, decls, a, b,
                                   state))
    n_in = int(np.prod(tensors[t_in].shape))
    n_out = int(np.prod(tensors[t_out].shape))
    last = where[t_out]
    op_names = list(dict.fromkeys(n for n, *_ in ops))
    what = f"{source or 'an int8 TFLite model'} (ops: {', '.join(op_names)})"
    P = prefix.upper()
    includes = ["string.h", f'"{prefix}.h"', '"tk_kernels.h"']
    if kernels == "dsp":
        includes.append('"tk_fast.h"')
    header = codegen.header(f"{prefix}.h", [
        "\n".join([codegen.define(f"{P}_INPUT_SIZE", n_in),
                   codegen.define(f"{P}_OUTPUT_SIZE", n_out),
                   codegen.define(f"{P}_INPUT_SCALE", float(tensors[t_in].scale[0])),
                   codegen.define(f"{P}_INPUT_ZERO_POINT", int(tensors[t_in].zero_point[0])),
                   codegen.define(f"{P}_OUTPUT_SCALE", float(tensors[t_out].scale[0])),
                   codegen.define(f"{P}_OUTPUT_ZERO_POINT", int(tensors[t_out].zero_point[0]))]),
        f"// Runs the model on one int8 input of {P}_INPUT_SIZE values; writes\n"
        f"// {P}_OUTPUT_SIZE int8 outputs. Returns TK_OK, or the first kernel error.\n"
        f"tk_status {prefix}_invoke(const int8_t *input, int8_t *output);",
    ], generator=GENERATOR, inputs=what, includes=("stdint.h", '"tk_kernels.h"'))
    arena = max(arena, 4, _round4(n_out) if last != INPUT else 0)
    # The fast convolutions' scratch (widened rows): in the arena between the op's input
    # and output where it fits; else none where tk_fast_conv_direct takes the layer
    # (windows read in place, slower), else one static buffer sized for the others.
    scratch = 0
    for token, words, (start, tail), alt in state["scratch"]:
        if start + 4 * words + tail <= arena:
            calls = [c.replace(token, f"(uint32_t *)(arena + {start})") for c in calls]
        elif alt is not None:  # no room: tk_fast_conv_direct, no scratch
            calls = [alt if token in c else c for c in calls]
        else:
            scratch = max(scratch, words)
            calls = [c.replace(token, "scratch") for c in calls]
    body = (f"tk_status {prefix}_invoke(const int8_t *input, int8_t *output)\n{{\n"
            f"  tk_status status;\n"
            + "".join(f"  status = {c};\n  if (status != TK_OK) return status;\n" for c in calls)
            + f"  memcpy(output, {_place(last, tensors[t_out])}, {n_out});\n  return TK_OK;\n}}")
    # Word-aligned: the fast kernels read and write four int8 values at a time.
    buffers = ("// Activations: each op reads from one end of the arena and writes at the other.\n"
               f"#define ARENA_BYTES {arena}\n"
               "static uint32_t arena_words[ARENA_BYTES / 4];\n"
               "#define arena ((int8_t *)arena_words)")
    if scratch:
        buffers += ("\n// Widened input rows of the fast convolutions.\n"
                    f"static uint32_t scratch[{scratch}];")
    source_text = codegen.source(
        ["\n".join(block) for block in blocks] + [buffers, body],
        generator=GENERATOR + f" (kernels={kernels})", inputs=what, includes=tuple(includes))
    info = {"input_size": n_in, "output_size": n_out,
            "buffer_bytes": arena + 4 * scratch, "macs": state["macs"],
            "ops": op_names, "output_shape": tuple(tensors[t_out].shape), "kernels": kernels}
    return header, source_text, info


def _round4(n):
    return (n + 3) // 4 * 4


INPUT = "input"    # where the model's input tensor lies: the caller's buffer


def _place(end, t):
    """Where tensor ``t`` lies: in the caller's input (INPUT), or in the arena at its
    start (end 0) or ending at its end (end 1)."""
    if end == INPUT:
        return INPUT
    return "arena" if end == 0 else f"(arena + ARENA_BYTES - {_round4(int(np.prod(t.shape)))})"


def _in_place(x, y, w, opt):
    """Whether the fast kernel of a CONV_2D ``x`` -> ``y`` may write over its input: a 1x1
    window at stride 1 (each output pixel reads only its own input pixel, and
    tk_fast_conv widens both pixels of a pair before writing either) with as many
    output channels as input ones (the same bytes per pixel)."""
    return (w is not None and len(w.shape) == 4 and tuple(w.shape[1:3]) == (1, 1)
            and opt.strideH == 1 and opt.strideW == 1 and tuple(x.shape) == tuple(y.shape))


def _softmax(k, at, x, y, opt, decls, a, b):
    p = f"op{k}"
    out_scale, out_zp = np.float32(y.scale[0]), int(y.zero_point[0])
    if out_zp != -128 or out_scale != np.float32(1 / 256):
        raise DeployError(f"{at}: the int8 softmax output must have scale 1/256 and zero "
                          f"point -128 (as TFLite's converter writes it); found scale "
                          f"{float(out_scale)!r} and zero point {out_zp}.")
    depth = _nhwc(x.shape)[3]
    if depth > _SOFTMAX_MAX_DEPTH:
        raise DeployError(f"{at}: a softmax over {depth} values; TFLite's int8 softmax sums "
                          f"its exponentials in Q12.19, which holds at most "
                          f"{_SOFTMAX_MAX_DEPTH} values per row. Split the output or run the "
                          f"softmax on the host.")
    beta = 1.0 if opt is None else float(opt.beta)
    decls += [codegen.struct("tk_softmax_params", f"{p}_params",
                      softmax_scaling(float(x.scale[0]), beta)),
              codegen.struct("tk_dims", f"{p}_dims", _nhwc(x.shape))]
    return f"tk_softmax(&{p}_params, &{p}_dims, {a}, {b})"


def _pool(k, at, name, x, y, opt, decls, a, b, state):
    p = f"op{k}"
    if len(x.shape) != 4:
        raise DeployError(f"{at}: expected a 4-D NHWC input, found shape {x.shape}.")
    _, ih, iw, _ = x.shape
    _, oh, ow, _ = y.shape
    ph = _padding(opt.padding, ih, oh, opt.strideH, opt.filterHeight, 1)
    pw = _padding(opt.padding, iw, ow, opt.strideW, opt.filterWidth, 1)
    decls += [codegen.struct("tk_pool_params", f"{p}_params",
                      ((opt.filterHeight, opt.filterWidth), (opt.strideH, opt.strideW),
                       (ph, pw), _act_range(opt.fusedActivationFunction, y, at))),
              codegen.struct("tk_dims", f"{p}_input_dims", x.shape),
              codegen.struct("tk_dims", f"{p}_output_dims", y.shape)]
    fn = "tk_max_pool" if name == "MAX_POOL_2D" else "tk_avg_pool"
    # The fast average sums int16 pairs: windows of at most 256 values (tk_fast.h).
    if state["kernels"] == "dsp" and x.shape[3] % 4 == 0 and (
            name == "MAX_POOL_2D" or opt.filterHeight * opt.filterWidth <= 256):
        fn = fn.replace("tk_", "tk_fast_")
    return f"{fn}(&{p}_params, &{p}_input_dims, {a}, &{p}_output_dims, {b})"


def _words(data):
    """int8 or int16 values (a multiple of 4 bytes) as little-endian uint32 words."""
    raw = np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes()
    return np.frombuffer(raw, "<u4")


def _conv_filter_words(w2d):
    """(outputs, depth) int8 weights in tk_fast_conv's layout: pairs of outputs, groups
    of 4 values, the 4 weights of the pair's first output then its second's; an odd
    last output alone."""
    o, depth = w2d.shape
    depth4 = (depth + 3) // 4 * 4
    padded = np.zeros((o, depth4), np.int8)
    padded[:, :depth] = w2d
    pairs = padded[:o - o % 2].reshape(o // 2, 2, depth4 // 4, 4).transpose(0, 2, 1, 3)
    return _words(np.concatenate([pairs.reshape(-1), padded[o - o % 2:].reshape(-1)]))


def _acc_bound(w2d, bias):
    """The largest |accumulator| any input can give, per output: |bias| + 255 * sum|w|
    (inputs minus the zero point lie in [-255, 255])."""
    b = np.abs(bias.astype(np.int64)) if bias is not None else 0
    return b + 255 * np.abs(w2d.astype(np.int64)).sum(axis=1)


def _weighted(k, at, name, x, y, consts, opt, decls, a, b, state):
    """CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: weights, bias and requantization."""
    p = f"op{k}"
    w = consts[0] if consts else None
    bias = consts[1] if len(consts) > 1 else None
    if w is None or w.data is None or w.dtype != "INT8":
        found = ("no weights" if w is None else
                 f"{w.dtype} weights" + (" computed at run time" if w.data is None else ""))
        raise DeployError(f"{at}: expected constant int8 weights, found {found}.")
    if np.any(w.zero_point != 0):
        raise DeployError(f"{at}: weights with non-zero zero points are not int8 TFLite "
                          f"(symmetric weights expected).")
    if bias is not None and (bias.data is None or bias.dtype != "INT32"):
        found = f"{bias.dtype} bias" + (" computed at run time" if bias.data is None else "")
        raise DeployError(f"{at}: expected a constant int32 bias, found {found}.")
    n_out = w.shape[0] if name != "DEPTHWISE_CONV_2D" else w.shape[-1]
    if w.scale.size not in (1, n_out):
        raise DeployError(f"{at}: {w.scale.size} weight scales for {n_out} output channels.")
    in_scale, out_scale = np.float32(x.scale[0]), np.float32(y.scale[0])
    if name == "FULLY_CONNECTED" and w.scale.size == 1:
        # TFLite's GetQuantizedConvolutionMultipler: the product in float, then double.
        real = [float(in_scale * np.float32(w.scale[0])) / float(out_scale)]
    else:  # PopulateConvolutionQuantizationParams: double throughout
        real = [float(in_scale) * float(np.float32(s)) / float(out_scale) for s in w.scale]
    mults, shifts = zip(*(quantize_multiplier(r) for r in real))
    act = _act_range(opt.fusedActivationFunction, y, at)
    wq = w.data.reshape(w.shape)
    w2d = wq.reshape(wq.shape[0], -1) if name != "DEPTHWISE_CONV_2D" else \
        wq.reshape(-1, wq.shape[-1]).T
    if name == "DEPTHWISE_CONV_2D":
        state["macs"] += int(np.prod(y.shape)) * w2d.shape[1]
    elif name == "CONV_2D":
        state["macs"] += int(np.prod(y.shape)) * w2d.shape[1]
    else:
        state["macs"] += int(np.prod(x.shape)) * w2d.shape[0]
    fast = state["kernels"] == "dsp" and (
        name != "DEPTHWISE_CONV_2D" or (y.shape[3] == x.shape[3] and x.shape[3] % 4 == 0))
    if fast:
        # Depthwise: int8, for each group of 4 channels the taps in order (words).
        layout = (_words(wq.reshape(-1, wq.shape[3] // 4, 4).transpose(1, 0, 2))
                  if name == "DEPTHWISE_CONV_2D" else _conv_filter_words(w2d))
        decls.append(codegen.array("uint32_t", f"{p}_filter", layout, static=True,
                                   comment="The weights as the fast kernel reads them "
                                           "(tk_fast.h)."))
    else:
        decls.append(codegen.array("int8_t", f"{p}_filter", w.data, static=True))
    short = False
    if fast:
        # The short requantization (tk_fast.h) is exact when every channel shifts right;
        # |acc| < 2^30 keeps its last additions in range. The generator knows both.
        bound = _acc_bound(w2d, bias.data if bias is not None else None)
        short = bool(min(mults) > 0 and max(shifts) <= -1 and bound.max() < 2 ** 30)
        if short:  # m' = 2 m - 2^32 and s = -shift - 1
            mults = [2 * m - 2 ** 32 for m in mults]
            shifts = [-sh - 1 for sh in shifts]
    decls += [codegen.array("int32_t", f"{p}_multiplier", mults, static=True),
              codegen.array("int8_t" if fast else "int32_t", f"{p}_shift", shifts,
                            static=True)]
    bias_name = "NULL"
    if bias is not None:
        if bias.data.size != n_out:
            raise DeployError(f"{at}: {bias.data.size} bias values for {n_out} outputs.")
        decls.append(codegen.array("int32_t", f"{p}_bias", bias.data, static=True))
        bias_name = f"{p}_bias"
    quant = (int(x.zero_point[0]), int(y.zero_point[0]), f"{p}_multiplier", f"{p}_shift",
             len(real))
    if fast:
        decls.append(codegen.struct("tk_requant", f"{p}_quant", (
            f"{p}_multiplier", f"{p}_shift", len(real), *quant[:2], *act, int(short))))
    else:
        decls.append(codegen.struct("tk_quant", f"{p}_quant", quant))
    if name == "FULLY_CONNECTED":
        if len(w.shape) != 2:
            raise DeployError(f"{at}: expected 2-D weights (outputs, depth), found {w.shape}.")
        units, depth = w.shape
        size = int(np.prod(x.shape))
        if size % depth:
            raise DeployError(f"{at}: an input of {size} values is not a whole number of "
                              f"rows of {depth}.")
        rows = size // depth
        if fast:
            decls += [codegen.struct("tk_conv_params", f"{p}_params",
                                     ((1, 1), (1, 1), (0, 0), act)),
                      codegen.struct("tk_dims", f"{p}_input_dims", (1, rows, 1, depth)),
                      codegen.struct("tk_dims", f"{p}_filter_dims", (units, 1, 1, depth)),
                      codegen.struct("tk_dims", f"{p}_output_dims", (1, rows, 1, units))]
            # Every row lies in place: the pair buffer only.
            return _fast_conv(p, k, a, b, bias_name, (depth + 3) // 4 * 4, True, state)
        decls += [codegen.struct("tk_fc_params", f"{p}_params", (act,)),
                  codegen.struct("tk_dims", f"{p}_input_dims", (rows, 1, 1, depth)),
                  codegen.struct("tk_dims", f"{p}_filter_dims", (units, 1, 1, depth)),
                  codegen.struct("tk_dims", f"{p}_output_dims", (rows, 1, 1, units))]
        return (f"tk_fully_connected(&{p}_params, &{p}_quant, &{p}_input_dims, {a}, "
                f"&{p}_filter_dims, {p}_filter, {bias_name}, &{p}_output_dims, {b})")
    if len(x.shape) != 4 or len(y.shape) != 4 or len(w.shape) != 4:
        raise DeployError(f"{at}: expected 4-D NHWC input, output and weights, found "
                          f"{x.shape}, {y.shape} and {w.shape}.")
    if name == "CONV_2D" and w.shape[3] != x.shape[3]:
        raise DeployError(f"{at}: grouped convolution ({x.shape[3]} input channels, weights "
                          f"for {w.shape[3]}) is not supported by the plain-C kernels.")
    _, ih, iw, _ = x.shape
    _, oh, ow, _ = y.shape
    kh, kw = w.shape[1], w.shape[2]
    dh, dw = opt.dilationHFactor, opt.dilationWFactor
    ph = _padding(opt.padding, ih, oh, opt.strideH, kh, dh)
    pw = _padding(opt.padding, iw, ow, opt.strideW, kw, dw)
    conv = ((opt.strideH, opt.strideW), (dh, dw), (ph, pw), act)
    decls += [codegen.struct("tk_conv_params", f"{p}_params", conv) if name == "CONV_2D" else
              codegen.struct("tk_depthwise_params", f"{p}_params",
                             (conv, int(y.shape[3] // x.shape[3]))),
              codegen.struct("tk_dims", f"{p}_input_dims", x.shape),
              codegen.struct("tk_dims", f"{p}_filter_dims", w.shape),
              codegen.struct("tk_dims", f"{p}_output_dims", y.shape)]
    if fast and name == "CONV_2D":
        decls[-4] = codegen.struct("tk_conv_params", f"{p}_params", conv)
        depth4 = (kh * kw * x.shape[3] + 3) // 4 * 4
        direct = a != b and dw == 1 and (kh == 1 or kw * x.shape[3] % 4 == 0)
        return _fast_conv(p, k, a, b, bias_name, depth4, direct, state, depth4 // 4)
    if fast:
        decls[-4] = codegen.struct("tk_conv_params", f"{p}_params", conv)
        return (f"tk_fast_depthwise(&{p}_params, &{p}_quant, &{p}_input_dims, {a}, "
                f"&{p}_filter_dims, (const int8_t *){p}_filter, {bias_name}, "
                f"&{p}_output_dims, {b})")
    fn = "tk_conv2d" if name == "CONV_2D" else "tk_depthwise_conv2d"
    return (f"{fn}(&{p}_params, &{p}_quant, &{p}_input_dims, {a}, &{p}_filter_dims, "
            f"{p}_filter, {bias_name}, &{p}_output_dims, {b})")


def _fast_conv(p, k, a, b, bias_name, depth4, direct, state, gather=0):
    """The call of tk_fast_conv, its scratch (the pair buffer: depth4 words, and
    ``gather`` words for a gathered window) placed once the arena's size is known; where
    there is no room for it and ``direct`` (tk_fast_conv_direct takes the layer),
    tk_fast_conv_direct instead."""
    args = (f"&{p}_params, &{p}_quant, &{p}_input_dims, {a}, &{p}_filter_dims, {p}_filter, "
            f"{bias_name}, &{p}_output_dims, {b}")
    token = f"@scratch{k}@"
    state["scratch"].append((token, depth4 + gather, state["free"],
                             f"tk_fast_conv_direct({args})" if direct else None))
    return f"tk_fast_conv({args}, {token})"


# ---------------------------------------------------------------- running on the host

_HOST_MAIN = r"""// Reads int8 inputs of {P}_INPUT_SIZE bytes from stdin until it ends, writes each
// int8 output of {P}_OUTPUT_SIZE bytes to stdout. Exits 2 if the model returns an error.
int main(void)
{{
  static int8_t in[{P}_INPUT_SIZE], out[{P}_OUTPUT_SIZE];
  long n = 0;
  while (fread(in, 1, sizeof in, stdin) == sizeof in) {{
    tk_status status = {prefix}_invoke(in, out);
    if (status != TK_OK) {{
      fprintf(stderr, "{prefix}_invoke returned tk_status %d on input %ld\n", (int)status, n);
      return 2;
    }}
    fwrite(out, 1, sizeof out, stdout);
    n++;
  }}
  return 0;
}}"""

_COMPILE_TIMEOUT = 180  # seconds
_RUN_TIMEOUT = 600


def host_compiler() -> str:
    """This machine's C compiler (gcc, else cc), which builds the C model and the C front
    end for :func:`run_host`; ToolNotFoundError saying how to install one if it has none."""
    return shutil.which("gcc") or shutil.which("cc") or require_tool("gcc")


def host_program(name, files, *, sources=(), headers=(), libs=(), cache, build_dir=None,
                 what) -> Path:
    """The program ``name`` compiled by :func:`host_compiler` from ``files`` ({file name:
    C text}, written beside it) and the C files ``sources``, once per content.

    It is kept in ``build_dir`` (default: the folder ``cache`` in the system's temp folder)
    under a hash of the compiler, ``files``, ``sources`` and ``headers`` (read-only
    includes, found in the sources' folders), and reused while none of them changes; it is
    linked under a temporary name and renamed, so that callers at once see whole programs
    only. ``libs`` are linker flags (``"-lm"``); ``what`` names the compile in errors.

    Raises:
        ToolNotFoundError: no host C compiler.
        DeployError: compiling failed or ran past its deadline.
    """
    cc = host_compiler()
    sources, headers = [Path(p) for p in sources], [Path(p) for p in headers]
    digest = hashlib.sha256(cc.encode() + b"\0")
    for file in sorted(files):
        digest.update(f"{file}\0{files[file]}\0".encode())
    for path in (*sources, *headers):
        digest.update(path.read_bytes() + b"\0")
    root = Path(build_dir) if build_dir else Path(tempfile.gettempdir()) / cache
    folder = root / digest.hexdigest()[:16]
    exe = folder / name
    if exe.exists():
        return exe
    codegen.write(folder, files)
    partial = folder / f"{name}.{os.getpid()}.tmp"
    includes = dict.fromkeys(str(p.parent) for p in (*sources, *headers))
    cmd = [cc, "-std=c99", "-O2", "-Wall", "-Wextra", *(f"-I{d}" for d in includes),
           f"-I{folder}", *sorted(str(folder / f) for f in files if f.endswith(".c")),
           *map(str, sources), *libs, "-o", str(partial)]
    run_tool(cmd, what=what, timeout=_COMPILE_TIMEOUT)
    os.replace(partial, exe)    # whole programs only, even with several callers
    return exe


def run_host(tfl, x, *, build_dir=None, kernels="dsp") -> np.ndarray:
    """Run the plain-C model on this machine, compiled with its C compiler.

    The C (``generate_c_model``) and a small main reading inputs from stdin are compiled
    once per content into ``build_dir`` (default: ``tinykit-cmodel`` in the system's
    temp folder) and reused.

    Args:
        tfl: int8 .tflite bytes.
        x: float inputs, quantized as the board does (``tinykit.convert.quantize_inputs``).
        build_dir: where to keep the compiled programs.
        kernels: ``"dsp"`` or ``"plain"`` (see :func:`generate_c_model`); on the host
            the DSP operations are their portable-C equivalents.

    Returns:
        The raw int8 outputs, one row per input (shaped as the model's output), as
        ``tinykit.convert.run_tflm(tfl, x)``.

    Raises:
        ToolNotFoundError: no host C compiler (``gcc`` or ``cc``).
        DeployError: the model is not supported, compiling failed, or the model
            returned a kernel error.

    Example:
        >>> raw = run_host(tfl, x_test)  # doctest: +SKIP
        >>> (raw == tinykit.convert.run_tflm(tfl, x_test)).all()  # doctest: +SKIP
        True
    """
    from ..convert import quantize_inputs
    header, source_text, info = generate_c_model(tfl, kernels=kernels)
    main = codegen.source([_HOST_MAIN.format(P="TK_MODEL", prefix="tk_model")],
                          generator=GENERATOR + ".run_host", inputs="the host harness",
                          includes=("stdio.h", '"tk_model.h"'))
    runtime = [RUNTIME_DIR / f for f in RUNTIME_SOURCES]
    exe = host_program("tk_model_host", {"tk_model.h": header, "tk_model.c": source_text,
                                         "main.c": main},
                       sources=runtime, headers=[p.with_suffix(".h") for p in runtime],
                       cache="tinykit-cmodel", build_dir=build_dir,
                       what="compiling the plain-C model")
    q = np.ascontiguousarray(quantize_inputs(tfl, x), np.int8)
    done = run_tool([exe], what=f"the plain-C model on {len(q)} inputs", timeout=_RUN_TIMEOUT,
                    text=False, input=q.tobytes())
    out = np.frombuffer(done.stdout, np.int8)
    if out.size != len(q) * info["output_size"]:
        raise DeployError(f"the plain-C model wrote {out.size} output bytes for {len(q)} "
                          f"inputs; expected {len(q) * info['output_size']}.")
    return out.reshape((len(q),) + tuple(info["output_shape"][1:])).copy()
