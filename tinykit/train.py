"""Training: float training, then quantization-aware fine-tuning, with progress shown.

    model = tinykit.train.fit(model, x, y, qat=True, epochs=60, augment=imu_augment)

``fit`` returns the trained model (wrapped for QAT when ``qat=True``); the learning
curves of both phases are in ``model.tinykit_history`` (see :func:`history`).
"""
from __future__ import annotations

import numbers
import os
import time

import numpy as np

from . import _quiet
from .errors import ModelError

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

#: Training steps per call into TensorFlow (Keras' ``steps_per_execution``).
STEPS_PER_EXECUTION = 16


def fast_mode() -> bool:
    """True when ``TINYKIT_FAST=1``: notebooks and demos then train for a few epochs."""
    return os.environ.get("TINYKIT_FAST", "") not in ("", "0", "false", "no")


def _check_keras(model):
    from .models._keras import keras
    if not isinstance(model, keras.Model):
        kind = f"{type(model).__module__}.{type(model).__name__}"
        raise ModelError(
            f"expected a tf_keras model, got {kind}. tensorflow-model-optimization's QAT "
            f"only accepts tf_keras (legacy Keras 2) models: build the model with "
            f"`import tf_keras as keras` (tinykit.models does) and set "
            f"TF_USE_LEGACY_KERAS=1 before TensorFlow is imported.")


def _check_data(x, y, num_outputs, what="training", input_shape=None):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        raise ModelError(f"{what} inputs have shape {tuple(x.shape[1:])} per example, the "
                         f"model expects {tuple(input_shape)}; build the model with "
                         f"input_shape=x.shape[1:].")
    if len(x) != len(y):
        raise ModelError(f"{what} data: {len(x)} inputs but {len(y)} labels.")
    if len(x) == 0:
        raise ModelError(f"{what} data is empty.")
    if not np.all(np.isfinite(x)):
        raise ModelError(f"{what} inputs contain NaN or infinity; check the features.")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ModelError(f"{what} labels must be a 1-D array of integer class indices, "
                         f"got dtype {y.dtype} and shape {y.shape}.")
    if y.min() < 0 or y.max() >= num_outputs:
        raise ModelError(f"{what} labels range over [{y.min()}, {y.max()}] but the model has "
                         f"{num_outputs} outputs.")
    return x, y.astype(np.int64)


def _progress_callback(keras, total_epochs, desc, verbose):
    """A Keras callback drawing one tqdm bar over epochs (a widget in Jupyter)."""
    from tqdm.auto import tqdm

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total_epochs, desc=desc, unit="epoch", leave=True,
                            disable=not verbose)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()
                                  if k in ("loss", "accuracy", "val_loss", "val_accuracy")})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return Progress()


def _example_weights(class_weight, y, classes):
    """Each example's loss weight from ``{class: weight}``, or None (all 1)."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise ModelError(f"class_weight must be a dict {{class: weight}}, got "
                         f"{type(class_weight).__name__}.")
    table = np.ones(classes, np.float32)
    for k, v in class_weight.items():
        if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and
                0 <= k < classes):
            raise ModelError(f"class_weight names class {k!r}; the model's classes are "
                             f"0..{classes - 1}.")
        if not (isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0):
            raise ModelError(f"class_weight[{k}] must be a positive number, got {v!r}.")
        table[k] = v
    return table[y]


def _sequence(keras, x, y, batch_size, augment, rng, mixup=0.0, teacher=None, distill=0.0,
              weights=None):
    """Batches of (x, y), re-augmented at every epoch when ``augment`` is given.

    The next epoch's augmented examples are made in a worker thread while Keras trains
    on this epoch's (NumPy and the FFT release the GIL), from a generator of their own,
    so a run is as repeatable as before. With a ``teacher`` (y one-hot), the targets
    are ``(1 - distill) * y + distill * teacher(x)`` on the epoch's augmented inputs.
    With ``mixup`` (y one-hot), each batch is mixed with itself in a shuffled order,
    weights drawn from Beta(mixup, mixup). With ``weights`` (one per example), batches
    carry them as Keras sample weights (a mixed example keeps its first example's).
    """
    from concurrent.futures import ThreadPoolExecutor
    aug_rng = np.random.default_rng(rng.integers(2 ** 63))

    class Batches(keras.utils.Sequence):
        def __init__(self):
            super().__init__()
            self.pool = ThreadPoolExecutor(1) if augment is not None else None
            self.next = self.pool.submit(augment, x, seed=aug_rng) if self.pool else None
            if self.pool is None:    # the same inputs, and targets, at every epoch
                self._take(x)
            self.on_epoch_end()

        def __len__(self):
            return int(np.ceil(len(x) / batch_size))

        def _take(self, xe):
            """This epoch's inputs, and their targets (moved towards the teacher's)."""
            self.xe, self.ye = xe, y
            if teacher is not None:
                soft = teacher.predict(xe, batch_size=512, verbose=0).astype(np.float32)
                self.ye = (1 - distill) * y + distill * soft

        def on_epoch_end(self):
            self.order = rng.permutation(len(x))
            if self.pool is not None:
                self._take(self.next.result())
                self.next = self.pool.submit(augment, x, seed=aug_rng)

        def close(self):
            if self.pool is not None:
                self.next.cancel()
                self.pool.shutdown(wait=True)
                self.pool = None

        def __getitem__(self, i):
            idx = self.order[i * batch_size:(i + 1) * batch_size]
            xb, yb = self.xe[idx], self.ye[idx]
            if mixup:
                lam = rng.beta(mixup, mixup, size=len(idx)).astype(np.float32)
                lam = np.maximum(lam, 1 - lam)       # the first example dominates
                other = rng.permutation(len(idx))
                xl = lam.reshape((-1,) + (1,) * (xb.ndim - 1))
                xb = xl * xb + (1 - xl) * xb[other]
                yb = lam[:, None] * yb + (1 - lam[:, None]) * yb[other]
            return (xb, yb) if weights is None else (xb, yb, weights[idx])

    return Batches()


def _moving_average(keras, decay):
    """A Keras callback keeping an exponential moving average of the model's float
    weights (BatchNorm's statistics and QAT's ranges too) after every step, and putting
    it in the model when training ends. The decay starts low, ``(1 + t) / (10 + t)`` at
    step t, up to ``decay``, so that the average soon forgets the starting weights."""

    class Average(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = 0
            # np.array: QAT's ranges come as NumPy scalars, which cannot change in place
            self.shadow = [np.array(w, np.float64) if w.dtype.kind == "f" else None
                           for w in self.model.get_weights()]

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            d = min(decay, (1 + self.steps) / (10 + self.steps))
            for s, w in zip(self.shadow, self.model.get_weights()):
                if s is not None:
                    s *= d
                    s += (1 - d) * w

        def on_train_end(self, logs=None):
            now = self.model.get_weights()
            self.model.set_weights([w if s is None else s.astype(np.asarray(w).dtype)
                                    for s, w in zip(self.shadow, now)])

    return Average()


def _adapt_batchnorm(model, steps):
    """Lower BatchNorm momentum when training is short.

    BatchNorm's running mean and variance start at 0 and 1 and move towards the data's
    by ``1 - momentum`` per step. With Keras' 0.99 and a few hundred steps (a small
    data set) they are still far off when training ends, and the trained model
    predicts one class at inference. The momentum is set so that the statistics
    follow the weights during training, not only at its end: the starting values weigh
    less than 1% after the first quarter of the steps (``1 - 20 / steps``, at most 0.99).
    """
    target = float(np.clip(1.0 - 20.0 / max(steps, 1), 0.5, 0.99))
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)  # QAT wrappers
        if type(inner).__name__.startswith("BatchNormalization") and inner.momentum > target:
            inner.momentum = target


def _run_phase(model, x, y, *, epochs, lr, batch_size, augment, rng, validation_data,
               desc, verbose, label_smoothing=0.0, mixup=0.0, teacher=None, distill=0.0,
               weights=None, average=0.0, focal=0.0):
    from .models._keras import keras
    steps = epochs * int(np.ceil(len(x) / batch_size))
    if desc == "float":  # QAT starts from statistics that have already converged
        _adapt_batchnorm(model, steps)
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps, 1),
                                                      alpha=0.05)
    soft = bool(label_smoothing or mixup or focal or teacher is not None)
    if soft:  # one-hot targets (smoothed, mixed by mixup, moved towards the teacher's)
        classes = model.output_shape[-1]
        y = np.eye(classes, dtype=np.float32)[y]
        if validation_data is not None:
            validation_data = (validation_data[0],
                               np.eye(classes, dtype=np.float32)[validation_data[1]])
        loss = (keras.losses.CategoricalFocalCrossentropy(
                    alpha=1.0, gamma=focal, label_smoothing=label_smoothing) if focal else
                keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing))
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    # several steps per call into TensorFlow: the same steps, less Python between them
    # (the moving average needs a callback after every step)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["accuracy"],
                  steps_per_execution=1 if average else STEPS_PER_EXECUTION)
    batches = _sequence(keras, x, y, batch_size, augment, rng, mixup=mixup, teacher=teacher,
                        distill=distill, weights=weights)
    try:
        with _quiet.tensorflow_errors_only():  # no tf.function retracing warnings
            hist = model.fit(batches, epochs=epochs, validation_data=validation_data,
                             verbose=0, shuffle=False,
                             callbacks=[_progress_callback(keras, epochs, desc, verbose)] +
                             ([_moving_average(keras, average)] if average else []))
    finally:
        batches.close()
    return hist.history


def fit(model, x, y, *, qat=True, epochs=60, qat_epochs=None, batch_size=32,
        learning_rate=3e-3, qat_learning_rate=None, augment=None, repeat=1,
        validation_data=None, label_smoothing=0.0, mixup=0.0, teacher=None, distill=0.5,
        class_weight=None, average=0.0, focal=0.0, seed=0, verbose=True):
    """Train a tf_keras classifier, then fine-tune it with quantization-aware training.

    Phase 1 trains the float model for ``epochs`` with Adam and a cosine learning-rate
    schedule. With ``qat=True``, phase 2 wraps the model with
    ``tfmot.quantization.keras.quantize_model`` (fake int8 quantization of weights and
    activations, BatchNorm folded into the convolutions) and fine-tunes it for
    ``qat_epochs`` at a lower rate, so the int8 model loses (almost) nothing. When phase 1
    has few steps (a small data set), BatchNorm's momentum is lowered so that its running
    statistics keep up with the weights (otherwise the model can predict one class).

    Args:
        model: an uncompiled or compiled tf_keras model ending in a softmax.
        x, y: inputs (float32) and integer class labels.
        qat: run the quantization-aware phase.
        epochs: float epochs; ``TINYKIT_FAST=1`` caps them at 3 (same code path).
        qat_epochs: QAT epochs (default: a quarter of ``epochs``, at least 1).
        batch_size, learning_rate: the usual; ``qat_learning_rate`` defaults to a
            tenth of ``learning_rate``.
        augment: ``f(x, seed=rng) -> x`` applied afresh at every epoch
            (e.g. :func:`tinykit.features.imu_augment`).
        repeat: present each training example this many times per epoch (useful with
            ``augment`` on tiny data sets).
        validation_data: optional ``(x_val, y_val)`` shown in the learning curves.
        label_smoothing: move this share of each target's probability evenly onto all
            classes (0 to 1; 0.1 is usual): a less overconfident model.
        mixup: train on pairs of examples mixed with weights from Beta(mixup, mixup),
            targets mixed alike (0: off; 0.2-0.4 is usual).
        teacher: a trained model with the same inputs and outputs (e.g. a wider float
            model) to distil: the targets move ``distill`` of the way from the labels
            to its probabilities on each epoch's (augmented) inputs.
        distill: the teacher's share of the targets, in [0, 1].
        class_weight: ``{class: weight}`` (classes not named weigh 1): each example's
            loss is multiplied by its class's weight, e.g. ``{unknown: 2.0}`` for a
            model that should say "none of these" more readily.
        average: 0 (off), or the decay of an exponential moving average of the weights
            (e.g. 0.999, about the last 1,000 steps) kept through each phase and taken as
            the phase's result: a model from a flatter region than the last step's.
        focal: 0 (cross-entropy), or the exponent gamma of the focal loss (Lin et al.
            2017; 2 is usual): each example's cross-entropy times (1 - p)^gamma, p the
            probability given to its label, so examples the model already gets right
            weigh less and the confusable ones more.
        seed: seeds NumPy, Python and TensorFlow for a repeatable run.
        verbose: show a progress bar per phase.

    Returns:
        The trained model: the QAT-wrapped model when ``qat=True``, ready for
        :func:`tinykit.convert.to_int8`. Learning curves: :func:`history`.

    Raises:
        ModelError: not a tf_keras model, labels out of range, NaN inputs, a class
            weight that is not a positive number of a class of the model, or a layer QAT
            cannot quantize (the message names it).

    Example:
        >>> model = fit(gesture_cnn((119, 6), 5), x, y, qat=True)  # doctest: +SKIP
    """
    from .models._keras import keras
    _check_keras(model)
    shape = model.input_shape[1:]
    x, y = _check_data(x, y, model.output_shape[-1], input_shape=shape)
    if validation_data is not None:
        validation_data = _check_data(*validation_data, model.output_shape[-1], "validation",
                                      input_shape=shape)
    if not (isinstance(label_smoothing, (int, float)) and 0 <= label_smoothing < 1):
        raise ModelError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}.")
    if not (isinstance(mixup, (int, float)) and mixup >= 0):
        raise ModelError(f"mixup must be a Beta parameter >= 0 (0: off), got {mixup!r}.")
    if teacher is not None:
        _check_keras(teacher)
        if teacher.input_shape[1:] != shape or teacher.output_shape != model.output_shape:
            raise ModelError(f"the teacher maps {teacher.input_shape[1:]} to "
                             f"{teacher.output_shape[1:]}, the model {shape} to "
                             f"{model.output_shape[1:]}: they must agree.")
        if not (isinstance(distill, (int, float)) and 0 <= distill <= 1):
            raise ModelError(f"distill must be in [0, 1], got {distill!r}.")
    weights = _example_weights(class_weight, y, model.output_shape[-1])
    if isinstance(focal, bool) or not (isinstance(focal, numbers.Real) and focal >= 0):
        raise ModelError(f"focal must be the focal loss' gamma >= 0 (0: cross-entropy), "
                         f"got {focal!r}.")
    if not (isinstance(average, numbers.Real) and 0 <= average < 1):
        raise ModelError(f"average must be a decay in [0, 1) (0: off), got {average!r}.")
    if fast_mode():
        epochs = min(epochs, 3)
        qat_epochs = 1
    if qat_epochs is None:
        qat_epochs = max(1, epochs // 4)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    if repeat > 1:
        x, y = np.repeat(x, repeat, axis=0), np.repeat(y, repeat, axis=0)
        weights = None if weights is None else np.repeat(weights, repeat)
    start = time.perf_counter()
    common = dict(batch_size=batch_size, augment=augment, rng=rng,
                  validation_data=validation_data, verbose=verbose,
                  label_smoothing=label_smoothing, mixup=mixup, teacher=teacher,
                  distill=distill, weights=weights, average=average, focal=focal)
    curves = _run_phase(model, x, y, epochs=epochs, lr=learning_rate, desc="float", **common)
    qat_start = len(curves.get("loss", []))
    if qat and qat_epochs > 0:
        model = quantize(model)
        more = _run_phase(model, x, y, epochs=qat_epochs,
                          lr=qat_learning_rate or learning_rate / 10, desc="QAT", **common)
        for k, v in more.items():
            curves.setdefault(k, []).extend(v)
    model.tinykit_history = {"curves": curves, "qat_start_epoch": qat_start if qat else None,
                             "seconds": time.perf_counter() - start}
    return model


def quantize(model):
    """Wrap a float tf_keras model for quantization-aware training (tfmot).

    Raises:
        ModelError: tfmot cannot quantize a layer (e.g. Conv1D: use Conv2D with a
            (k, 1) kernel, as tinykit.models do), or the model is not tf_keras.
    """
    import tensorflow_model_optimization as tfmot
    _check_keras(model)
    try:
        return tfmot.quantization.keras.quantize_model(model)
    except (ValueError, RuntimeError, TypeError) as e:
        hint = (" Conv1D is not supported by QAT: use Conv2D with a (k, 1) kernel on a "
                "(time, 1, channels) input." if "Conv1D" in str(e) else "")
        raise ModelError(f"tensorflow-model-optimization cannot quantize this model: "
                         f"{str(e).splitlines()[0]}{hint}") from None


def history(model) -> dict:
    """The learning curves recorded by :func:`fit`: ``{"curves": {...}, "qat_start_epoch": n}``."""
    h = getattr(model, "tinykit_history", None)
    if h is None:
        raise ModelError("this model was not trained with tinykit.train.fit, so it has no "
                         "recorded history.")
    return h
