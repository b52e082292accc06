"""int8 conversion and verification on the TFLite Micro interpreter.

    tfl = to_int8(model, representative=x_train)       # bytes of a .tflite file
    report = verify(tfl, x_test, y_test)               # TFLM accuracy, arena, ops, LiteRT check

The TFLM Python interpreter runs the same kernels as the board, so its accuracy and
its arena size are what the device will see.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import ConversionError, ModelError

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def to_int8(model, representative, *, max_samples=300, seed=0) -> bytes:
    """Convert a (QAT or float) tf_keras model into a full-integer int8 .tflite model.

    Inputs, outputs, weights and activations are all int8, as TFLite Micro kernels on
    Cortex-M expect. ``representative`` calibrates the ranges QAT did not learn (and
    all of them for a float model, i.e. post-training quantization).

    Args:
        model: a tf_keras model, usually the result of ``tinykit.train.fit(..., qat=True)``.
        representative: float32 inputs like the training data (a few hundred suffice).
        max_samples: at most this many representative inputs are used.

    Returns:
        The .tflite flatbuffer as bytes (write it to a file or pass it to :func:`verify`).

    Raises:
        ConversionError: the converter failed; the message keeps its first lines.

    Example:
        >>> tfl = to_int8(model, representative=x_train)  # doctest: +SKIP
        >>> len(tfl)  # doctest: +SKIP
        15240
    """
    import tensorflow as tf
    from .train import _check_keras
    _check_keras(model)
    rep = np.asarray(representative, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if rep.shape[1:] != expected:
        raise ModelError(f"representative data has shape {rep.shape[1:]} per example, the "
                         f"model expects {expected}.")
    if len(rep) > max_samples:
        rep = rep[np.random.default_rng(seed).choice(len(rep), max_samples, replace=False)]

    def samples():
        for item in rep:
            yield [item[None]]

    # A batch of one, fixed: the graph then has static shapes, and Reshape/Flatten need
    # no SHAPE/STRIDED_SLICE/PACK ops at run time (smaller model, smaller arena).
    spec = tf.TensorSpec((1,) + expected, tf.float32)
    func = tf.function(lambda inputs: model(inputs, training=False)).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([func], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        from ._quiet import captured  # the converter prints from C++; shown if it fails
        with captured():
            return bytes(converter.convert())
    except Exception as e:  # the converter raises many types with long MLIR dumps
        first = "\n".join(str(e).strip().splitlines()[:3])
        raise ConversionError(f"int8 conversion failed: {first}\nEvery op must have an int8 "
                              f"TFLite builtin kernel; see tinykit.models for layers that "
                              f"convert.") from None


# ---------------------------------------------------------------- running the model

def _quantize_input(x, detail):
    if "quantization" in detail:  # LiteRT
        scale, zero = detail["quantization"]
    else:  # TFLM
        q = detail["quantization_parameters"]
        scale, zero = float(np.ravel(q["scales"])[0]), int(np.ravel(q["zero_points"])[0])
    if detail["dtype"] != np.int8:
        return x.astype(detail["dtype"])
    return np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)


def _litert(tfl):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    interp = Interpreter(model_content=tfl, experimental_op_resolver_type=
                         OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    return interp


def io_details(tfl) -> dict:
    """Shapes, dtypes and (scale, zero_point) of the model's input and output."""
    interp = _litert(tfl)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    return {"input_shape": tuple(int(n) for n in inp["shape"]), "input_dtype": np.dtype(inp["dtype"]).name,
            "input_scale": float(inp["quantization"][0]),
            "input_zero_point": int(inp["quantization"][1]),
            "output_shape": tuple(int(n) for n in out["shape"]), "output_dtype": np.dtype(out["dtype"]).name,
            "output_scale": float(out["quantization"][0]),
            "output_zero_point": int(out["quantization"][1])}


def _check_inputs(x, shape):
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1:] != tuple(shape[1:]):
        raise ModelError(f"inputs have shape {x.shape[1:]} per example, the model expects "
                         f"{tuple(shape[1:])}.")
    return x


def run_litert(tfl, x) -> np.ndarray:
    """Raw (int8) outputs of the model on LiteRT's reference kernels, one row per input."""
    interp = _litert(tfl)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    x = _check_inputs(x, inp["shape"])
    rows = []
    for item in x:
        interp.set_tensor(inp["index"], _quantize_input(item[None], inp))
        interp.invoke()
        rows.append(interp.get_tensor(out["index"])[0].copy())
    return np.stack(rows) if rows else np.zeros((0,) + tuple(out["shape"][1:]))


def _tflm(tfl, arena_size=None):
    from tflite_micro.python.tflite_micro import runtime
    try:
        return runtime.Interpreter.from_bytes(tfl, arena_size=arena_size)
    except Exception as e:
        raise ConversionError(f"the TFLite Micro interpreter rejected the model: "
                              f"{str(e).strip().splitlines()[0]}") from None


def run_tflm(tfl, x) -> np.ndarray:
    """Raw (int8) outputs of the model on the TFLite Micro interpreter (the board's kernels).

    Example:
        >>> out = run_tflm(tfl, x_test)  # doctest: +SKIP
        >>> out.argmax(axis=1)  # predicted labels  # doctest: +SKIP
    """
    interp = _tflm(tfl)
    inp = interp.get_input_details(0)
    x = _check_inputs(x, inp["shape"])
    rows = []
    for item in x:
        interp.set_input(_quantize_input(item[None], inp), 0)
        interp.invoke()
        rows.append(np.array(interp.get_output(0))[0])
    out = interp.get_output_details(0)
    return np.stack(rows) if rows else np.zeros((0,) + tuple(out["shape"][1:]))


def quantize_inputs(tfl, x) -> np.ndarray:
    """Float inputs as the int8 values the model reads (its input scale and zero point),
    as a board does before ``Invoke()``."""
    d = io_details(tfl)
    x = _check_inputs(x, d["input_shape"])
    detail = {"quantization": (d["input_scale"], d["input_zero_point"]),
              "dtype": np.dtype(d["input_dtype"])}
    return _quantize_input(x, detail)


def dequantize_output(tfl, raw) -> np.ndarray:
    """int8 outputs to floats (probabilities for a softmax model)."""
    d = io_details(tfl)
    return (np.asarray(raw, np.float32) - d["output_zero_point"]) * d["output_scale"]


class _CaptureFd2:
    """Capture what C code writes to file descriptor 2 (Python's sys.stderr is not enough)."""

    def __enter__(self):
        import sys
        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode("utf-8", "replace")
        self.file.close()


def arena_bytes(tfl) -> int:
    """The tensor arena the model needs, measured by the TFLM interpreter's allocator.

    Runs the model once on TFLM with allocation recording and reads the
    "Arena allocation total N bytes" line that ``print_allocations()`` writes to the
    C-level stderr.

    Example:
        >>> arena_bytes(tfl)  # doctest: +SKIP
        6096
    """
    interp = _tflm(tfl)
    inp = interp.get_input_details(0)
    interp.set_input(np.zeros(inp["shape"], dtype=inp["dtype"]), 0)
    interp.invoke()
    with _CaptureFd2() as cap:
        interp.print_allocations()
    found = re.search(r"Arena allocation total (\d+) bytes", cap.text)
    if not found:
        raise ConversionError("the TFLM interpreter did not report its arena allocation; "
                              f"it printed: {cap.text[:300]!r}")
    return int(found.group(1))


def ops(tfl) -> list:
    """The TFLite builtin operators the model uses, in order of first use (e.g. CONV_2D)."""
    interp = _litert(tfl)
    names = []
    for op in interp._get_ops_details():
        if op["op_name"] not in names:
            names.append(op["op_name"])
    return names


# ---------------------------------------------------------------- verification

@dataclass
class VerifyReport:
    """What :func:`verify` measured. Accuracies are fractions in [0, 1]."""
    int8_accuracy: float | None
    predictions: np.ndarray
    raw_outputs: np.ndarray
    litert_max_lsb: int | None
    litert_agreement: float | None
    float_agreement: float | None
    float_accuracy: float | None
    arena_bytes: int
    flash_bytes: int
    ops: list = field(default_factory=list)
    io: dict = field(default_factory=dict)

    def summary(self) -> str:
        pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        rows = [("int8 accuracy (TFLM)", pct(self.int8_accuracy)),
                ("float accuracy (Keras)", pct(self.float_accuracy)),
                ("int8 = float labels", pct(self.float_agreement)),
                ("TFLM vs LiteRT max diff", "-" if self.litert_max_lsb is None
                 else f"{self.litert_max_lsb} LSB"),
                ("model flash (.tflite)", f"{self.flash_bytes:,} bytes"),
                ("tensor arena (TFLM)", f"{self.arena_bytes:,} bytes"),
                ("ops", ", ".join(self.ops))]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def __repr__(self):
        return f"VerifyReport(\n{self.summary()}\n)"


def verify(tfl, x, y=None, *, model=None, litert=True) -> VerifyReport:
    """Run the int8 model on the TFLite Micro interpreter and measure what matters.

    Args:
        tfl: .tflite bytes from :func:`to_int8`.
        x: float inputs (as given to the Keras model); quantized with the model's
            input scale and zero point.
        y: integer labels, for ``int8_accuracy``.
        model: the Keras model it came from, for ``float_accuracy`` and the share of
            inputs where int8 and float predict the same label.
        litert: also run LiteRT's reference kernels and report the largest difference
            in output LSB (TFLM and LiteRT should agree within a few).

    Returns:
        A :class:`VerifyReport` (``print(report.summary())`` for a table).

    Example:
        >>> report = verify(tfl, x_test, y_test, model=model)  # doctest: +SKIP
        >>> report.int8_accuracy, report.arena_bytes  # doctest: +SKIP
        (0.88, 6096)
    """
    if not isinstance(tfl, (bytes, bytearray)):
        raise ModelError(f"expected the .tflite model as bytes, got {type(tfl).__name__}; "
                         f"use to_int8(...) or Path(file).read_bytes().")
    tfl = bytes(tfl)
    raw = run_tflm(tfl, x)
    pred = raw.argmax(axis=1)
    acc = None
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(pred):
            raise ModelError(f"{len(pred)} inputs but {len(y)} labels.")
        acc = float((pred == y).mean()) if len(y) else None
    lsb = agree_lite = None
    if litert:
        other = run_litert(tfl, x)
        diff = np.abs(raw.astype(np.int32) - other.astype(np.int32))
        lsb = int(diff.max()) if diff.size else 0
        agree_lite = float((other.argmax(axis=1) == pred).mean()) if len(pred) else None
    float_acc = agree_float = None
    if model is not None:
        fpred = np.asarray(model.predict(np.asarray(x, np.float32), verbose=0)).argmax(axis=1)
        agree_float = float((fpred == pred).mean()) if len(pred) else None
        if y is not None and len(y):
            float_acc = float((fpred == y).mean())
    return VerifyReport(int8_accuracy=acc, predictions=pred, raw_outputs=raw,
                        litert_max_lsb=lsb, litert_agreement=agree_lite,
                        float_agreement=agree_float, float_accuracy=float_acc,
                        arena_bytes=arena_bytes(tfl), flash_bytes=len(tfl), ops=ops(tfl),
                        io=io_details(tfl))


# ---------------------------------------------------------------- model report

def model_report(model, tfl=None) -> dict:
    """Parameters and multiply-accumulates of a Keras model, plus flash and arena of its
    int8 form when ``tfl`` is given.

    MACs count Conv2D, DepthwiseConv2D and Dense layers (the rest is negligible).
    """
    params = int(model.count_params())
    macs = 0
    for layer in _flat_layers(model):
        kind = type(layer).__name__
        try:
            out = layer.output_shape
        except AttributeError:
            continue
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            cin = layer.input_shape[-1]
            macs += int(np.prod(out[1:-1])) * kh * kw * cin * out[-1]
        elif kind == "DepthwiseConv2D":
            kh, kw = layer.kernel_size
            macs += int(np.prod(out[1:])) * kh * kw
        elif kind == "Dense":
            macs += int(layer.input_shape[-1]) * out[-1]
    info = {"params": params, "macs": macs}
    if tfl is not None:
        info.update(flash_bytes=len(tfl), arena_bytes=arena_bytes(tfl), ops=ops(tfl))
    return info


def _flat_layers(model):
    for layer in model.layers:
        inner = getattr(layer, "layer", None)  # tfmot's QuantizeWrapper
        if hasattr(layer, "layers"):
            yield from _flat_layers(layer)
        else:
            yield inner if inner is not None else layer
