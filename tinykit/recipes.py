"""Worked examples as one call each: what the demo, the benchmarks and the notebooks run.

Each recipe chains the plain step functions (load -> features -> model -> fit -> int8
-> verify -> generate) with defaults tuned on the bundled data, and returns every
intermediate result, so a notebook can plot any of them.
"""
from __future__ import annotations

import time
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import convert, datasets, deploy, features, models, train

#: Defaults of the gesture recipe, measured with bench/gesture.py on magic_wand.
GESTURE_DEFAULTS = dict(epochs=60, repeat=8, batch_size=32, learning_rate=3e-3,
                        filters=(16, 24, 32), kernel_size=5, dropout=0.25,
                        augment=dict(noise=0.01, scale=0.1, shift=8, rotate=5.0, speed=0.15))


@dataclass
class GestureResult:
    """Everything the gesture recipe produced."""
    dataset: object
    x_train: np.ndarray
    x_test: np.ndarray
    model: object
    tflite: bytes
    report: object
    model_info: dict
    project: object = None
    device: object = None
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"data set: {self.dataset!r}",
                 f"params: {self.model_info['params']:,}  MACs: {self.model_info['macs']:,}",
                 self.report.summary(),
                 f"pipeline time: {self.seconds:.1f} s"]
        if self.project is not None:
            lines.append(f"sketch: {self.project.main_file}")
        if self.device is not None:
            lines.append(device_summary(self.device, self.report, self.dataset.y_test))
        return "\n".join(lines)


def device_summary(device, report, y):
    """One line comparing the emulated board's outputs with the TFLM interpreter's."""
    same = int((device.outputs == report.raw_outputs).all(axis=1).sum())
    acc = float((device.outputs.argmax(axis=1) == np.asarray(y)).mean()) if len(y) else 0.0
    lsb = int(np.abs(device.outputs.astype(int) - report.raw_outputs.astype(int)).max()) \
        if len(y) else 0
    return (f"emulated board (QEMU mps2-an386, Cortex-M4F): {same}/{len(y)} outputs identical "
            f"to TFLM (max {lsb} LSB apart), accuracy {100 * acc:.1f}%, firmware "
            f"{device.text_bytes:,} B flash / {device.ram_bytes:,} B RAM (its "
            f"{device.stack_bytes:,} B of stack measured)")


def gesture(data="magic_wand", *, seed=0, out=None, board="nano33ble", emulate=False,
            verbose=True, **overrides) -> GestureResult:
    """Train, quantize, verify and (with ``out``) export the gesture classifier.

    Args:
        data: a bundled data set name or a folder of IMU_Capture CSV files.
        seed: seed of training (and of the split when the data has no test/ folder).
        out: folder for the generated board project (none when ``None``).
        board: board to generate the project for.
        emulate: also run the int8 model on the emulated board (QEMU mps2-an386) on the
            test split, and keep what it computed in ``result.device``.
        **overrides: any key of :data:`GESTURE_DEFAULTS`.

    Example:
        >>> result = gesture("magic_wand", out="build")  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    cfg = {**GESTURE_DEFAULTS, **overrides}
    start = time.perf_counter()
    ds = datasets.load(data, seed=seed) if not isinstance(data, datasets.ImuDataset) else data
    imu = features.ImuFeatures(samples=ds.samples_per_gesture, channels=tuple(ds.columns),
                               sample_rate=ds.sample_rate)
    x_train, x_test = features.imu_normalize(ds.x_train, imu), features.imu_normalize(ds.x_test, imu)
    augment = partial(features.imu_augment, **cfg["augment"]) if cfg["augment"] else None
    model = models.build("gesture_cnn", x_train.shape[1:], ds.num_classes, seed=seed,
                         filters=cfg["filters"], kernel_size=cfg["kernel_size"],
                         dropout=cfg["dropout"])
    model = train.fit(model, x_train, ds.y_train, qat=True, epochs=cfg["epochs"],
                      repeat=cfg["repeat"], batch_size=cfg["batch_size"],
                      learning_rate=cfg["learning_rate"], augment=augment,
                      validation_data=(x_test, ds.y_test) if len(x_test) else None,
                      seed=seed, verbose=verbose)
    tfl = convert.to_int8(model, representative=x_train,
                          source=f"gesture_cnn trained on {ds.name} ({len(ds.y_train)} gestures)")
    report = convert.verify(tfl, x_test, ds.y_test, model=model)
    info = convert.model_report(model, tfl)
    project = None
    if out is not None:
        project = deploy.generate(tfl, board=board, app="gesture", out=out, labels=ds.labels,
                                  features=imu)
    device = None
    if emulate:
        from .deploy import emulated
        device = emulated.run(tfl, x_test,
                              build_dir=None if out is None else Path(out) / "mps2-an386")
    return GestureResult(dataset=ds, x_train=x_train, x_test=x_test, model=model, tflite=tfl,
                         report=report, model_info=info, project=project, device=device,
                         seconds=time.perf_counter() - start, settings=cfg)


#: Defaults of the keyword-spotting recipe (DS-CNN on 49x10 MFCC, QAT).
#: Measured with bench/kws.py on 2,263 Speech Commands clips (90 epochs beat 60 by ~3 points).
KWS_DEFAULTS = dict(epochs=90, qat_epochs=10, batch_size=64, learning_rate=3e-3, filters=64,
                    dropout=0.2, l2=1e-4, kind="mfcc", fmax=4000.0, augment=True,
                    noise_level=0.1, noise_probability=0.8, max_shift=0.1, time_masks=2,
                    time_width=6, freq_masks=2, freq_width=2)


@dataclass
class KwsResult:
    """Everything the keyword-spotting recipe produced (one model)."""
    name: str
    dataset: object
    settings: object
    model: object
    float_model: object
    tflite: bytes
    report: object
    model_info: dict
    x_test: np.ndarray
    y_test: np.ndarray
    float_accuracy: float
    train_seconds: float
    seconds: float
    files: list = field(default_factory=list)
    device: object = None
    prepared: tuple = ()

    def summary(self) -> str:
        lines = [f"{self.name}: {self.model_info['params']:,} params, "
                 f"{self.model_info['macs']:,} MACs, features {self.settings.kind} "
                 f"{self.settings.shape[0]}x{self.settings.shape[1]}",
                 f"float accuracy (before QAT)  {100 * self.float_accuracy:.1f}%",
                 self.report.summary(),
                 f"training {self.train_seconds:.0f} s, pipeline {self.seconds:.0f} s"]
        if self.device is not None:
            lines.append(device_summary(self.device, self.report, self.y_test))
        return "\n".join(lines)


def kws(data="speech_commands", *, model="ds_cnn", seed=0, out=None, emulate=False,
        prepared=None, verbose=True, **overrides) -> KwsResult:
    """Train a keyword spotter with QAT, convert it to int8 and check it on TFLM.

    Features (MFCC 49x10 by default) are normalised with training statistics; every
    epoch sees freshly augmented clips (time shift, background noise, SpecAugment
    masks); then quantization-aware fine-tuning, int8 conversion and verification on
    the TFLite Micro interpreter (accuracy on the speaker-disjoint test split, arena).

    Args:
        data: a Speech Commands folder or the bundled ``"speech_commands"`` sample.
        model: a name of ``tinykit.models.build``: ``"ds_cnn"`` or ``"tiny_conv"``
            (micro_speech's baseline).
        seed: seed of the split and of training.
        out: folder for ``tinykit.deploy.export``: the .tflite, ``model_data.h/.cc``,
            ``op_resolver.h``, labels, the feature settings as JSON and
            ``audio_features.h`` (window, mel filterbank, DCT, normalisation in C).
        emulate: also run the int8 model on the emulated board on the test clips.
        prepared: ``(dataset, clips, features, settings)`` from an earlier result's
            ``prepared``, to train several models on the same features.
        **overrides: any key of :data:`KWS_DEFAULTS`.

    Example:
        >>> result = kws("speech_commands", out="build/kws")  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    cfg = {**KWS_DEFAULTS, **overrides}
    start = time.perf_counter()
    if prepared is None:
        ds = datasets.load(data, seed=seed) if isinstance(data, (str, Path)) else data
        clips = {s: ds.audio(s) for s in ("train", "val", "test")}
        settings = features.AudioFeatures(kind=cfg["kind"], fmax=cfg["fmax"])
        settings = features.fit_normalization(
            features.extract(clips["train"][0], settings, normalized=False), settings)
        feats = {s: (features.extract(x, settings), y) for s, (x, y) in clips.items()}
    else:
        ds, clips, feats, settings = prepared
    (xtr, ytr), (xv, yv), (xte, yte) = feats["train"], feats["val"], feats["test"]
    augment = None
    if cfg["augment"]:
        augment = features.audio_augment(
            clips["train"][0], settings, noise=ds.noise, level=cfg["noise_level"],
            probability=cfg["noise_probability"], max_shift=cfg["max_shift"],
            time_masks=cfg["time_masks"], time_width=cfg["time_width"],
            freq_masks=cfg["freq_masks"], freq_width=cfg["freq_width"])
    options = ({"filters": cfg["filters"], "dropout": cfg["dropout"], "l2": cfg["l2"]}
               if model == "ds_cnn" else {})
    net = models.build(model, settings.shape, ds.num_classes, seed=seed, **options)
    qat = train.fit(net, xtr, ytr, qat=True, epochs=cfg["epochs"], qat_epochs=cfg["qat_epochs"],
                    batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
                    augment=augment, validation_data=(xv, yv) if len(yv) else None,
                    seed=seed, verbose=verbose)
    train_seconds = time.perf_counter() - start
    # quantize_model clones the model: `net` keeps the float weights of phase 1.
    float_acc = float((net.predict(xte, verbose=0).argmax(axis=1) == yte).mean())
    tfl = convert.to_int8(qat, representative=xtr, seed=seed, source=f"{model} keyword spotter")
    report = convert.verify(tfl, xte, yte, model=qat)
    info = convert.model_report(net)
    files = []
    if out is not None:
        files = deploy.export(tfl, out, labels=ds.labels, features=settings, name=model)
    device = None
    if emulate:
        from .deploy import emulated
        device = emulated.run(tfl, xte, build_dir=None if out is None else Path(out) / "mps2-an386")
    return KwsResult(name=model, dataset=ds, settings=settings, model=qat, float_model=net,
                     tflite=tfl, report=report, model_info=info, x_test=xte, y_test=yte,
                     float_accuracy=float_acc, train_seconds=train_seconds,
                     seconds=time.perf_counter() - start, files=files, device=device,
                     prepared=(ds, clips, feats, settings))


@dataclass
class CrossValidation:
    """What :func:`cross_validate` measured: int8 accuracy (TFLM) per fold, and per group
    (speaker or recording) over the folds it was tested in."""
    recipe: str
    folds: int
    accuracies: list
    float_accuracies: list
    per_group: dict
    seconds: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies))

    def worst(self, n=5) -> list:
        """The ``n`` groups with the lowest accuracy: ``(group, accuracy, items)``."""
        rows = [(g, c / t, t) for g, (c, t) in self.per_group.items() if t]
        return sorted(rows, key=lambda r: (r[1], -r[2]))[:n]

    def summary(self) -> str:
        lines = [f"{self.recipe}: int8 accuracy over {self.folds} grouped folds "
                 f"{100 * self.mean:.1f}% ± {100 * self.std:.1f} (folds: "
                 + ", ".join(f"{100 * a:.1f}%" for a in self.accuracies)
                 + f"); float {100 * float(np.mean(self.float_accuracies)):.1f}%; "
                 f"{self.seconds:.0f} s"]
        lines += [f"  worst: {g} {100 * a:.0f}% of {t}" for g, a, t in self.worst()]
        return "\n".join(lines)


def cross_validate(recipe, data, *, folds=5, seed=0, verbose=False, **overrides):
    """Train and score ``recipe`` on grouped folds: the honest estimate of accuracy.

    The data set (all splits pooled) is cut by :func:`tinykit.datasets.grouped_folds`
    into ``folds`` parts that never share a speaker (Speech Commands) or a recording
    file (IMU data where labels have several); each fold is tested once by a model
    trained on the others, with int8 accuracy measured on TFLite Micro.

    Args:
        recipe: ``"gesture"`` or ``"kws"`` (this module's recipes).
        data: a data set name, folder or loaded data set.
        folds: how many folds.
        seed: seed of the fold assignment and of training.
        **overrides: options of the recipe (``epochs=``, ``model=`` ...).

    Returns:
        A :class:`CrossValidation` (``.mean``, ``.std``, ``.worst()``, ``.summary()``).

    Example:
        >>> cv = cross_validate("gesture", "magic_wand", folds=5)  # doctest: +SKIP
        >>> print(cv.summary())  # doctest: +SKIP
    """
    runs = {"gesture": gesture, "kws": kws}
    if recipe not in runs:
        from .errors import ParameterError
        raise ParameterError(f"recipe={recipe!r}: cross_validate runs {sorted(runs)}.")
    start = time.perf_counter()
    ds = datasets.load(data, seed=seed) if isinstance(data, (str, Path)) else data
    accuracies, float_accuracies, per_group = [], [], {}
    for fold in datasets.grouped_folds(ds, folds, seed=seed):
        result = runs[recipe](fold.dataset, seed=seed, verbose=verbose, **overrides)
        report = result.report
        accuracies.append(report.int8_accuracy)
        float_accuracies.append(report.float_accuracy)
        if len(report.predictions) == len(fold.groups_test):
            correct = report.predictions == np.asarray(fold.dataset.y_test)
            for g, ok in zip(fold.groups_test, correct):
                c, t = per_group.get(g, (0, 0))
                per_group[g] = (c + int(ok), t + 1)
    return CrossValidation(recipe, folds, accuracies, float_accuracies, per_group,
                           time.perf_counter() - start)
