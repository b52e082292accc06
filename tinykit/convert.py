"""int8 conversion, the int8 model object, and verification on TFLite Micro.

    tfl = to_int8(model, representative=x_train)   # an Int8Model: .tflite bytes that know
    tfl.ops, tfl.arena_bytes, tfl.input.scale      #   their ops, arena and quantization
    raw = tfl.run(x_test, on="tflm")               # or "litert", "c", "emulated"
    report = verify(tfl, x_test, y_test)           # TFLM accuracy, arena, ops, LiteRT check

The TFLM Python interpreter runs the same kernels as the board, so its accuracy and
its arena size are what the device will see.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import ConversionError, ModelError, ParameterError

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def to_int8(model, representative, *, max_samples=300, seed=0, source="") -> "Int8Model":
    """Convert a (QAT or float) tf_keras model into a full-integer int8 .tflite model.

    Inputs, outputs, weights and activations are all int8, as TFLite Micro kernels on
    Cortex-M expect. ``representative`` calibrates the ranges QAT did not learn (and
    all of them for a float model, i.e. post-training quantization).

    Args:
        model: a tf_keras model, usually the result of ``tinykit.train.fit(..., qat=True)``.
        representative: float32 inputs like the training data (a few hundred suffice).
        max_samples: at most this many representative inputs are used.
        source: a few words on where the model came from (written into generated files).

    Returns:
        An :class:`Int8Model`: the .tflite flatbuffer (``bytes``) that also runs, and
        knows its ops, arena and quantization.

    Dense layers get one weight scale (per tensor), convolutions one per output channel:
    the CMSIS-NN FULLY_CONNECTED of the Arduino TFLM library applies one, so the board
    computes what TFLM's interpreter computes. A MEAN op (GlobalAveragePooling2D) is
    warned about: that library's MEAN is not exact; AveragePooling2D is.

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
    # One weight scale per FULLY_CONNECTED (as tfmot's QAT already gives): the CMSIS-NN
    # FULLY_CONNECTED of the Arduino TFLM library applies a single output multiplier,
    # so per-channel dense weights would make the board differ from TFLM's interpreter.
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    try:
        from ._quiet import captured  # the converter prints from C++; shown if it fails
        with captured():
            flatbuffer = bytes(converter.convert())
    except Exception as e:  # the converter raises many types with long MLIR dumps
        first = "\n".join(str(e).strip().splitlines()[:3])
        raise ConversionError(f"int8 conversion failed: {first}\nEvery op must have an int8 "
                              f"TFLite builtin kernel; see tinykit.models for layers that "
                              f"convert.") from None
    tfl = Int8Model(flatbuffer, source=source or f"{model.name} (tf_keras, int8)")
    if "MEAN" in tfl.ops:
        import warnings
        warnings.warn("the int8 model has a MEAN op (from GlobalAveragePooling2D or a "
                      "reduce_mean), which the Arduino TFLM library (Chirale_TensorFlowLite "
                      "2.0.0) computes 1 step off TFLM's interpreter on some outputs (it "
                      "requantizes in float). For a board that computes what verify() "
                      "measured, pool with AveragePooling2D(pool_size=<the feature map's "
                      "height and width>) and Flatten, as tinykit.models do: AVERAGE_POOL_2D "
                      "is exact.", stacklevel=2)
    return tfl


# ---------------------------------------------------------------- the int8 model

BACKENDS = ("tflm", "litert", "c", "emulated")


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


@dataclass(frozen=True)
class TensorInfo:
    """Shape, data type and quantization (``real = scale * (q - zero_point)``) of a
    model input or output."""
    shape: tuple
    dtype: str
    scale: float
    zero_point: int


class Int8Model(bytes):
    """An int8 .tflite model: the flatbuffer's bytes, and what tinykit knows of it.

    :func:`to_int8` returns one. Being ``bytes``, it can be written to a file or passed
    wherever the flatbuffer is expected; as a model it knows its ops, its tensor arena
    and its input/output quantization (each found once, then kept), and runs on every
    backend tinykit has through one method, :meth:`run`. The TFLite Micro interpreter
    is built once per model and reused.

    Example:
        >>> tfl = to_int8(model, representative=x_train)  # doctest: +SKIP
        >>> tfl.ops, tfl.arena_bytes  # doctest: +SKIP
        (['RESHAPE', 'CONV_2D', 'MAX_POOL_2D', 'FULLY_CONNECTED', 'SOFTMAX'], 6096)
        >>> raw = tfl.run(x_test)                    # int8 outputs on TFLite Micro  # doctest: +SKIP
        >>> same = tfl.run(x_test, on="emulated")    # on QEMU's Cortex-M4F  # doctest: +SKIP
    """

    def __new__(cls, data, source=""):
        if isinstance(data, Int8Model) and not source:
            return data
        data = bytes(data)
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ModelError(f"these {len(data)} bytes are not a .tflite flatbuffer (no "
                             f"'TFL3' identifier); pass the result of to_int8(...) or "
                             f"Path(file).read_bytes() of a .tflite file.")
        self = super().__new__(cls, data)
        self.source = source or getattr(data, "source", "") or "int8 TFLite model"
        return self

    @classmethod
    def load(cls, path, source=""):
        """Read a .tflite file."""
        from pathlib import Path
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such .tflite file.")
        return cls(path.read_bytes(), source=source or path.name)

    def save(self, path):
        """Write the flatbuffer to ``path`` (a .tflite file); returns the path."""
        from pathlib import Path
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(self))
        return path

    def __repr__(self):
        i, o = self.input, self.output
        return (f"Int8Model({len(self):,} bytes, {self.source}; input {i.shape} {i.dtype}, "
                f"output {o.shape} {o.dtype}; ops {', '.join(self.ops)})")

    def __reduce__(self):
        return (Int8Model, (bytes(self), self.source))

    # -- what the model is
    @property
    def flash_bytes(self) -> int:
        """Bytes of the flatbuffer (what the model takes in flash)."""
        return len(self)

    @cached_property
    def _litert(self):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        try:
            interp = Interpreter(model_content=bytes(self), experimental_op_resolver_type=
                                 OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            interp.allocate_tensors()
        except Exception as e:
            raise ConversionError(f"LiteRT rejected the model: "
                                  f"{str(e).strip().splitlines()[0]}") from None
        return interp

    @cached_property
    def _tflm(self):
        from tflite_micro.python.tflite_micro import runtime
        try:
            return runtime.Interpreter.from_bytes(bytes(self))
        except Exception as e:
            raise ConversionError(f"the TFLite Micro interpreter rejected the model: "
                                  f"{str(e).strip().splitlines()[0]}") from None

    @staticmethod
    def _info(detail) -> TensorInfo:
        scale, zero = detail["quantization"]
        return TensorInfo(tuple(int(n) for n in detail["shape"]),
                          np.dtype(detail["dtype"]).name, float(scale), int(zero))

    @cached_property
    def input(self) -> TensorInfo:
        """The input tensor: shape (batch 1 first), dtype, scale, zero point."""
        return self._info(self._litert.get_input_details()[0])

    @cached_property
    def output(self) -> TensorInfo:
        """The output tensor: shape, dtype, scale, zero point."""
        return self._info(self._litert.get_output_details()[0])

    @cached_property
    def ops(self) -> list:
        """The TFLite builtin operators the model uses, in order of first use."""
        names = []
        for op in self._litert._get_ops_details():
            if op["op_name"] not in names:
                names.append(op["op_name"])
        return names

    @cached_property
    def arena_bytes(self) -> int:
        """The tensor arena the model needs, measured by the TFLM interpreter's
        allocator (the "Arena allocation total N bytes" of ``print_allocations()``)."""
        from tflite_micro.python.tflite_micro import runtime
        interp = runtime.Interpreter.from_bytes(bytes(self))
        interp.set_input(np.zeros(self.input.shape, self.input.dtype), 0)
        interp.invoke()
        with _CaptureFd2() as cap:
            interp.print_allocations()
        found = re.search(r"Arena allocation total (\d+) bytes", cap.text)
        if not found:
            raise ConversionError("the TFLM interpreter did not report its arena allocation; "
                                  f"it printed: {cap.text[:300]!r}")
        return int(found.group(1))

    # -- running it
    def _check(self, x):
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != self.input.shape[1:]:
            raise ModelError(f"inputs have shape {x.shape[1:]} per example, the model expects "
                             f"{self.input.shape[1:]}.")
        return x

    def quantize(self, x) -> np.ndarray:
        """Float inputs as the int8 values the model reads (its input scale and zero
        point), as a board does before ``Invoke()``."""
        x, i = self._check(x), self.input
        if i.dtype != "int8":
            return x.astype(i.dtype)
        return np.clip(np.round(x / i.scale) + i.zero_point, -128, 127).astype(np.int8)

    def dequantize(self, raw) -> np.ndarray:
        """Raw int8 outputs as floats (probabilities for a softmax model)."""
        o = self.output
        return ((np.asarray(raw, np.float32) - o.zero_point) * o.scale).astype(np.float32)

    def _each(self, q, step):
        rows = [step(item[None]) for item in q]
        return np.stack(rows) if rows else np.zeros((0,) + self.output.shape[1:], np.int8)

    def run(self, x, *, on="tflm", **options) -> np.ndarray:
        """Raw (int8) outputs for float inputs ``x``, one row per input.

        Args:
            x: float inputs shaped like the Keras model's (quantized here with the
                model's input scale and zero point, as on the device).
            on: ``"tflm"`` (TFLite Micro interpreter: the board's kernels),
                ``"litert"`` (LiteRT reference kernels), ``"c"`` (tinykit's plain-C
                kernels compiled for this machine) or ``"emulated"`` (the C model
                cross-compiled into the device-check harness on QEMU's Cortex-M4F,
                ``mps2-an386``, the inputs sent over its UART:
                :func:`tinykit.deploy.emulated.run`).
            options: passed to the backend (``build_dir``, ``kernels``; ``timeout``,
                ``board`` for "emulated").

        Raises:
            ModelError: inputs of the wrong shape. ParameterError: an unknown backend.
            ToolNotFoundError / DeviceError: the compiler or emulator is missing or the
            device failed.
        """
        if on not in BACKENDS:
            raise ParameterError(f"on={on!r}: the model runs on {', '.join(BACKENDS)}.")
        if on in ("tflm", "litert") and options:
            raise ParameterError(f"on={on!r} takes no options, got {sorted(options)}.")
        q = self.quantize(x)
        if on == "tflm":
            interp = self._tflm

            def step(item):
                interp.set_input(item, 0)
                interp.invoke()
                return np.array(interp.get_output(0))[0]
            return self._each(q, step)
        if on == "litert":
            interp = self._litert
            inp, out = interp.get_input_details()[0], interp.get_output_details()[0]

            def step(item):
                interp.set_tensor(inp["index"], item)
                interp.invoke()
                return interp.get_tensor(out["index"])[0].copy()
            return self._each(q, step)
        if on == "c":
            from .deploy import cmodel
            return cmodel.run_host(self, x, **options)
        from .deploy import emulated
        return emulated.run(self, x, **options).outputs

    def predict(self, x, *, on="tflm", **options) -> np.ndarray:
        """Dequantized outputs (probabilities for a softmax model) on a backend."""
        return self.dequantize(self.run(x, on=on, **options))


def as_model(tfl) -> Int8Model:
    """``tfl`` as an :class:`Int8Model` (the same object when it already is one)."""
    if isinstance(tfl, Int8Model):
        return tfl
    if not isinstance(tfl, (bytes, bytearray, memoryview)):
        raise ModelError(f"expected an int8 .tflite model (from to_int8, or the bytes of a "
                         f".tflite file), got {type(tfl).__name__}.")
    return Int8Model(tfl)


def run_tflm(tfl, x) -> np.ndarray:
    """Raw (int8) outputs on the TFLite Micro interpreter: ``as_model(tfl).run(x)``."""
    return as_model(tfl).run(x, on="tflm")


def quantize_inputs(tfl, x) -> np.ndarray:
    """Float inputs as the model's int8 input values: ``as_model(tfl).quantize(x)``."""
    return as_model(tfl).quantize(x)


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
    input: TensorInfo | None = None
    output: TensorInfo | None = None

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
        tfl: the :class:`Int8Model` from :func:`to_int8` (or .tflite bytes).
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
    m = as_model(tfl)
    raw = m.run(x)
    pred = raw.argmax(axis=1)
    acc = None
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(pred):
            raise ModelError(f"{len(pred)} inputs but {len(y)} labels.")
        acc = float((pred == y).mean()) if len(y) else None
    lsb = agree_lite = None
    if litert:
        other = m.run(x, on="litert")
        diff = np.abs(raw.astype(np.int32) - other.astype(np.int32))
        lsb = int(diff.max()) if diff.size else 0
        agree_lite = float((other.argmax(axis=1) == pred).mean()) if len(pred) else None
    float_acc = agree_float = None
    if model is not None and len(pred):
        fpred = np.asarray(model.predict(np.asarray(x, np.float32), verbose=0)).argmax(axis=1)
        agree_float = float((fpred == pred).mean()) if len(pred) else None
        if y is not None and len(y):
            float_acc = float((fpred == y).mean())
    return VerifyReport(int8_accuracy=acc, predictions=pred, raw_outputs=raw,
                        litert_max_lsb=lsb, litert_agreement=agree_lite,
                        float_agreement=agree_float, float_accuracy=float_acc,
                        arena_bytes=m.arena_bytes, flash_bytes=m.flash_bytes, ops=m.ops,
                        input=m.input, output=m.output)


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
        m = as_model(tfl)
        info.update(flash_bytes=m.flash_bytes, arena_bytes=m.arena_bytes, ops=m.ops)
    return info


def _flat_layers(model):
    for layer in model.layers:
        inner = getattr(layer, "layer", None)  # tfmot's QuantizeWrapper
        if hasattr(layer, "layers"):
            yield from _flat_layers(layer)
        else:
            yield inner if inner is not None else layer
