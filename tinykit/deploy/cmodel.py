"""Plain-C inference for an int8 .tflite model, for boards without TensorFlow Lite Micro.

``generate_c_model(tfl)`` reads the flatbuffer and writes ``tk_model.h/.c``: the weights
as const arrays and one call per operator into tinykit's portable int8 kernels
(``cruntime/tk_kernels.c``, the arithmetic of TFLite's reference kernels). The
emulated board (QEMU ``mps2-an386``) runs it, and tinykit compares its outputs with the
TFLite Micro interpreter's: the check on the device.

Supported ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE, SOFTMAX and int8-to-int8 QUANTIZE, for batch-1 int8 models with per-channel or
per-tensor weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DeployError

RUNTIME_DIR = Path(__file__).resolve().parent / "cruntime"
SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D",
             "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX", "QUANTIZE")


def quantize_multiplier(real):
    """(multiplier, shift) with real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real == 0:
        return 0, 0
    frac, shift = math.frexp(real)
    q = int(math.floor(frac * (1 << 31) + 0.5))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


@dataclass
class _Tensor:
    shape: tuple
    scale: np.ndarray
    zero_point: np.ndarray
    data: np.ndarray | None


def _read(tfl):
    from tensorflow.lite.python import schema_py_generated as S
    model = S.ModelT.InitFromObj(S.Model.GetRootAsModel(tfl, 0))
    names = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    dtypes = {S.TensorType.INT8: np.int8, S.TensorType.INT32: np.int32,
              S.TensorType.FLOAT32: np.float32, S.TensorType.INT64: np.int64}
    if len(model.subgraphs) != 1:
        raise DeployError("only single-subgraph models can be turned into plain C.")
    sg = model.subgraphs[0]
    tensors = []
    for t in sg.tensors:
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [1.0], np.float64)
        zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [0], np.int64)
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        data = None
        if buf is not None and len(buf):
            data = np.frombuffer(bytes(np.asarray(buf, np.uint8)), dtypes.get(t.type, np.uint8))
        tensors.append(_Tensor(tuple(int(s) for s in t.shape), scale, zp, data))
    ops = []
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        ops.append((name, [int(i) for i in op.inputs], [int(i) for i in op.outputs],
                    op.builtinOptions))
    return tensors, ops, int(sg.inputs[0]), int(sg.outputs[0])


def _act_range(fused, t):
    zp, scale = int(t.zero_point[0]), float(t.scale[0])
    lo, hi = -128, 127
    if fused in (1, 3):  # RELU, RELU6
        lo = max(lo, zp)
    if fused == 3:
        hi = min(hi, zp + int(round(6.0 / scale)))
    if fused == 2:  # RELU_N1_TO_1
        lo, hi = max(lo, zp + int(round(-1 / scale))), min(hi, zp + int(round(1 / scale)))
    return lo, hi


def _padding(padding, in_size, out_size, stride, k, dilation):
    if padding != 0:  # VALID
        return 0
    eff = (k - 1) * dilation + 1
    return max((out_size - 1) * stride + eff - in_size, 0) // 2


def _hw(shape):
    """(h, w, c) of an NHWC shape, or of (1, n) as 1x1xn."""
    if len(shape) == 4:
        return shape[1], shape[2], shape[3]
    return 1, 1, int(np.prod(shape[1:]))


def _carray(ctype, name, values, per_line=16):
    values = [int(v) for v in np.ravel(values)]
    lines = [", ".join(str(v) for v in values[i:i + per_line])
             for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n  " + ",\n  ".join(lines) + "\n};\n"


def generate_c_model(tfl, prefix="tk_model", source=""):
    """C source running ``tfl`` with tinykit's portable kernels.

    Returns:
        ``(header_text, source_text, info)``; ``info`` has ``input_size``,
        ``output_size``, ``buffer_bytes`` (RAM for activations) and ``ops``.

    Raises:
        DeployError: an op, data type or layout the plain-C path does not cover.
    """
    from .. import __version__
    tensors, ops, t_in, t_out = _read(bytes(tfl))
    decls, calls = [], []
    unsupported = sorted({name for name, *_ in ops if name not in SUPPORTED})
    if unsupported:
        raise DeployError(f"the plain-C model supports {', '.join(SUPPORTED)}; this model "
                          f"also uses {', '.join(unsupported)}. Run it with TFLite Micro "
                          f"instead (tinykit.deploy.generate).")
    # Activations ping-pong between two buffers; RESHAPE is a no-op on NHWC data.
    where = {t_in: 0}
    biggest = int(np.prod(tensors[t_in].shape))
    for k, (name, ins, outs, opt) in enumerate(ops):
        x, y = tensors[ins[0]], tensors[outs[0]]
        src = where.get(ins[0])
        if src is None:
            raise DeployError(f"op {k} ({name}) reads a tensor produced by no earlier op.")
        if name == "RESHAPE":
            where[outs[0]] = src
            continue
        dst = 1 - src
        where[outs[0]] = dst
        biggest = max(biggest, int(np.prod(y.shape)))
        a, b = f"buf[{src}]", f"buf[{dst}]"
        if name == "SOFTMAX":
            calls.append(f"  tk_softmax({a}, {int(np.prod(x.shape))}, {float(x.scale[0])!r}f, "
                         f"{int(x.zero_point[0])}, {b}, {float(y.scale[0])!r}f, "
                         f"{int(y.zero_point[0])});")
            continue
        if name == "QUANTIZE":
            if x.data is not None:
                raise DeployError(f"op {k} (QUANTIZE) on a constant is not supported.")
            m, s = quantize_multiplier(float(x.scale[0]) / float(y.scale[0]))
            decls.append(f"static const int32_t m{k}[1] = {{{m}}};\n"
                         f"static const int32_t s{k}[1] = {{{s}}};\n"
                         f"static const tk_quant q{k} = {{{int(x.zero_point[0])}, "
                         f"{int(y.zero_point[0])}, -128, 127, m{k}, s{k}, 0}};\n")
            calls.append(f"  tk_quantize({a}, {int(np.prod(x.shape))}, {b}, &q{k});")
            continue
        if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            ih, iw, c = _hw(x.shape)
            oh, ow, _ = _hw(y.shape)
            ph = _padding(opt.padding, ih, oh, opt.strideH, opt.filterHeight, 1)
            pw = _padding(opt.padding, iw, ow, opt.strideW, opt.filterWidth, 1)
            lo, hi = _act_range(opt.fusedActivationFunction, y)
            fn = "tk_max_pool" if name == "MAX_POOL_2D" else "tk_avg_pool"
            calls.append(f"  {fn}({a}, {ih}, {iw}, {c}, {b}, {oh}, {ow}, {opt.filterHeight}, "
                         f"{opt.filterWidth}, {opt.strideH}, {opt.strideW}, {ph}, {pw}, "
                         f"{lo}, {hi});")
            continue
        w = tensors[ins[1]]
        bias = tensors[ins[2]] if len(ins) > 2 and ins[2] >= 0 else None
        if w.data is None or w.data.dtype != np.int8:
            raise DeployError(f"op {k} ({name}) has no constant int8 weights.")
        real = float(x.scale[0]) * w.scale / float(y.scale[0])
        mults, shifts = zip(*(quantize_multiplier(float(r)) for r in real))
        lo, hi = _act_range(opt.fusedActivationFunction, y)
        decls.append(_carray("int8_t", f"w{k}", w.data))
        decls.append(_carray("int32_t", f"m{k}", mults) + _carray("int32_t", f"s{k}", shifts))
        decls.append(f"static const tk_quant q{k} = {{{int(x.zero_point[0])}, "
                     f"{int(y.zero_point[0])}, {lo}, {hi}, m{k}, s{k}, {int(len(real) > 1)}}};\n")
        bias_name = "0"
        if bias is not None and bias.data is not None:
            decls.append(_carray("int32_t", f"b{k}", bias.data))
            bias_name = f"b{k}"
        if name == "FULLY_CONNECTED":
            n_out, n_in = w.shape
            calls.append(f"  tk_fully_connected({a}, {n_in}, w{k}, {n_out}, {bias_name}, {b}, &q{k});")
            continue
        ih, iw, ic = _hw(x.shape)
        oh, ow, oc = _hw(y.shape)
        kh, kw = w.shape[1], w.shape[2]
        dh, dw = opt.dilationHFactor, opt.dilationWFactor
        ph = _padding(opt.padding, ih, oh, opt.strideH, kh, dh)
        pw = _padding(opt.padding, iw, ow, opt.strideW, kw, dw)
        if name == "CONV_2D":
            calls.append(f"  tk_conv2d({a}, {ih}, {iw}, {ic}, w{k}, {kh}, {kw}, {oc}, {bias_name}, "
                         f"{b}, {oh}, {ow}, {opt.strideH}, {opt.strideW}, {dh}, {dw}, {ph}, {pw}, &q{k});")
        else:
            calls.append(f"  tk_depthwise_conv2d({a}, {ih}, {iw}, {ic}, w{k}, {kh}, {kw}, "
                         f"{oc // ic}, {bias_name}, {b}, {oh}, {ow}, {opt.strideH}, "
                         f"{opt.strideW}, {dh}, {dw}, {ph}, {pw}, &q{k});")
    n_in = int(np.prod(tensors[t_in].shape))
    n_out = int(np.prod(tensors[t_out].shape))
    last = where[t_out]
    banner = (f"/* Generated by tinykit {__version__} (tinykit.deploy.cmodel): do not edit.\n"
              f" * Model: {source or 'int8 TFLite model'}; ops: "
              f"{', '.join(dict.fromkeys(n for n, *_ in ops))}. */\n")
    guard = f"{prefix.upper()}_H"
    p = prefix.upper()
    header = (f"{banner}#ifndef {guard}\n#define {guard}\n#include <stdint.h>\n\n"
              f"#define {p}_INPUT_SIZE {n_in}\n#define {p}_OUTPUT_SIZE {n_out}\n"
              f"#define {p}_INPUT_SCALE {float(tensors[t_in].scale[0])!r}f\n"
              f"#define {p}_INPUT_ZERO_POINT {int(tensors[t_in].zero_point[0])}\n"
              f"#define {p}_OUTPUT_SCALE {float(tensors[t_out].scale[0])!r}f\n"
              f"#define {p}_OUTPUT_ZERO_POINT {int(tensors[t_out].zero_point[0])}\n\n"
              f"/* Runs the model on one int8 input; writes {n_out} int8 outputs. */\n"
              f"void {prefix}_invoke(const int8_t *input, int8_t *output);\n\n#endif\n")
    source_text = (f"{banner}#include <string.h>\n\n#include \"{prefix}.h\"\n#include \"tk_kernels.h\"\n\n"
                   + "\n".join(decls) +
                   f"\n/* Activations: two buffers of the largest tensor, used in turn. */\n"
                   f"static int8_t buf[2][{biggest}];\n\n"
                   f"void {prefix}_invoke(const int8_t *input, int8_t *output)\n{{\n"
                   f"  memcpy(buf[0], input, {n_in});\n" + "\n".join(calls) +
                   f"\n  memcpy(output, buf[{last}], {n_out});\n}}\n")
    info = {"input_size": n_in, "output_size": n_out, "buffer_bytes": 2 * biggest,
            "ops": list(dict.fromkeys(n for n, *_ in ops))}
    return header, source_text, info
