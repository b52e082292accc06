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

from . import convert, datasets, deploy, features, models, streaming, train
from .deploy.listen import EVERY, MARGIN, MIN_RUNS, SUPPRESS, THRESHOLD, WINDOW
from .errors import ParameterError, ToolNotFoundError

#: Training defaults of the gesture recipe, measured with bench/gesture.py on magic_wand.
#: The model's shape comes from its builder (``gesture_cnn``: filters (16, 24, 32),
#: kernel_size 5, dropout 0.25), unless the call overrides it.
GESTURE_DEFAULTS = dict(epochs=60, repeat=8, batch_size=32, learning_rate=3e-3,
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


def gesture(data="magic_wand", *, model="gesture_cnn", seed=0, out=None, board="nano33ble",
            emulate=False, verbose=True, **overrides) -> GestureResult:
    """Train, quantize, verify and (with ``out``) export the gesture classifier.

    Args:
        data: a bundled data set name, a folder of IMU_Capture CSV files or a loaded
            data set (e.g. ``datasets.load("magic_wand", drop_still=True)``).
        model: a gesture model of ``tinykit.models.build``: ``"gesture_cnn"`` or the
            smaller ``"gesture_small"``.
        seed: seed of training (and of the split when the data has no test/ folder).
        out: folder for the generated board project (none when ``None``).
        board: board to generate the project for.
        emulate: also run the int8 model on the emulated board (QEMU mps2-an386) on the
            test split, and keep what it computed in ``result.device``.
        **overrides: any key of :data:`GESTURE_DEFAULTS`, or an option of the model's
            builder (``filters=``, ``kernel_size=``, ``dense_units=``, ``dropout=``).

    Raises:
        ModelError: an option neither the recipe nor the model takes.

    Example:
        >>> result = gesture("magic_wand", out="build")  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    cfg = {**GESTURE_DEFAULTS, **overrides}
    shape = {k: v for k, v in overrides.items() if k not in GESTURE_DEFAULTS}
    start = time.perf_counter()
    ds = datasets.load(data, seed=seed) if not isinstance(data, datasets.ImuDataset) else data
    imu = features.ImuFeatures(samples=ds.samples_per_gesture, channels=tuple(ds.columns),
                               sample_rate=ds.sample_rate)
    x_train, x_test = features.imu_normalize(ds.x_train, imu), features.imu_normalize(ds.x_test, imu)
    augment = partial(features.imu_augment, **cfg["augment"]) if cfg["augment"] else None
    name = model
    model = models.build(name, x_train.shape[1:], ds.num_classes, seed=seed, **shape)
    model = train.fit(model, x_train, ds.y_train, qat=True, epochs=cfg["epochs"],
                      repeat=cfg["repeat"], batch_size=cfg["batch_size"],
                      learning_rate=cfg["learning_rate"], augment=augment,
                      validation_data=(x_test, ds.y_test) if len(x_test) else None,
                      seed=seed, verbose=verbose)
    tfl = convert.to_int8(model, representative=x_train,
                          source=f"{name} trained on {ds.name} ({len(ds.y_train)} gestures)")
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
                         seconds=time.perf_counter() - start, settings={**cfg, "model": name})


#: Defaults of the keyword-spotting recipe (DS-CNN on 49x10 MFCC, QAT), each chosen on 5
#: speaker-grouped folds of the 2,887 Speech Commands clips of ../shared/data and on the
#: held-out folds' keyword streams (bench/kws.py): 150 + 15 epochs; speed (±10%),
#: loudness (±12 dB) and microphone-response (±10 dB) changes drawn from 10 variants per
#: clip; ``_unknown_`` weighing twice in the loss; other words said by espeak-ng as
#: ``_unknown_``, 0.35 times as many as the recordings (for the streams: +1.8 to +4.4
#: points of keywords within 10 false alarms per hour on three cuts of the folds, at -0.3
#: to -1.8 points of clip accuracy); the log floor of the front end's own default (-80 dB,
#: ``features.AudioFeatures.amin``). Every fold, cut and change tried, kept or not, with
#: its figures: bench/kws.md.
KWS_DEFAULTS = dict(epochs=150, qat_epochs=15, batch_size=64, learning_rate=3e-3, filters=64,
                    blocks=4, dropout=0.2, l2=1e-4, kind="mfcc", fmin=20.0, fmax=4000.0,
                    n_mfcc=10, amin=features.AudioFeatures.amin, first_strides=(2, 2),
                    augment=True, noise_level=0.1, noise_probability=0.8, max_shift=0.1,
                    time_masks=2, time_width=6, freq_masks=2, freq_width=2, speed=0.1,
                    gain_db=12.0, reverb=0.0, eq_db=10.0, variants=10, label_smoothing=0.0,
                    mixup=0.0, negatives=0.0, teacher=0, distill=0.5, unknown_weight=2.0,
                    average=0.0, focal=0.0, spoken_unknown=0.35, spoken_phrases=0.0, warp=0.0)


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
                 "float accuracy (before QAT)  " + ("-" if self.float_accuracy is None
                                                     else f"{100 * self.float_accuracy:.1f}%"),
                 self.report.summary(),
                 f"training {self.train_seconds:.0f} s, pipeline {self.seconds:.0f} s"]
        if self.device is not None:
            lines.append(device_summary(self.device, self.report, self.y_test))
        return "\n".join(lines)


def kws(data="speech_commands", *, model="ds_cnn", seed=0, out=None, emulate=False,
        prepared=None, all_clips=False, verbose=True, **overrides) -> KwsResult:
    """Train a keyword spotter with QAT, convert it to int8 and check it on TFLM.

    Features (MFCC 49x10 by default) are normalised with training statistics; every
    epoch sees freshly augmented clips (speed, microphone response and loudness
    changes, time shift, background noise, SpecAugment masks), ``spoken_unknown`` times
    as many clips of other words said by espeak-ng (:func:`tinykit.datasets.speak`; a share
    ``spoken_phrases`` of them words run together and cut at the edges) join
    ``_unknown_``, and ``_unknown_`` weighs ``unknown_weight`` in the loss (both for
    fewer false alarms on other words); then quantization-aware fine-tuning, int8 conversion
    and verification on the TFLite Micro interpreter (accuracy on the speaker-disjoint
    test split, arena).

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
        all_clips: train on every clip of the data set (:func:`tinykit.datasets.pooled`):
            the final model, once grouped folds (:func:`cross_validate`) have chosen the
            recipe. Nothing is left to test on, so the accuracies are None; to test the
            final model on other speakers, pass ``datasets.pooled(ds, test=other)``.
        **overrides: any key of :data:`KWS_DEFAULTS`.

    Example:
        >>> result = kws("speech_commands", out="build/kws")  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    unknown = sorted(set(overrides) - set(KWS_DEFAULTS))
    if unknown:
        raise ParameterError(f"kws() has no setting {', '.join(unknown)}; the settings are "
                             f"{', '.join(KWS_DEFAULTS)}.")
    cfg = {**KWS_DEFAULTS, **overrides}
    strides = cfg["first_strides"]
    if (np.ndim(strides) != 1 or len(strides) != 2
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in strides)):
        raise ParameterError(f"first_strides={strides!r}: give two positive whole numbers "
                             f"(time, frequency), e.g. first_strides=(2, 2).")
    start = time.perf_counter()
    if prepared is None:
        ds = datasets.load(data, seed=seed) if isinstance(data, (str, Path)) else data
        if all_clips:
            ds = datasets.pooled(ds)
        clips = {s: ds.audio(s) for s in ("train", "val", "test")}
        if cfg["spoken_unknown"] and ("_unknown_" in ds.labels or "spoken_unknown" in overrides):
            clips["train"] = _with_spoken(ds, *clips["train"], cfg["spoken_unknown"],
                                          phrases=cfg["spoken_phrases"], seed=seed,
                                          verbose=verbose)
        settings = features.AudioFeatures(kind=cfg["kind"], fmin=cfg["fmin"],
                                          fmax=cfg["fmax"], n_mfcc=cfg["n_mfcc"],
                                          amin=cfg["amin"])
        settings = features.fit_normalization(
            features.extract(clips["train"][0], settings, normalized=False), settings)
        feats = {s: (features.extract(x, settings), y) for s, (x, y) in clips.items()}
    else:
        ds, clips, feats, settings = prepared
    (xtr, ytr), (xv, yv), (xte, yte) = feats["train"], feats["val"], feats["test"]
    x_fit, y_fit, augment = xtr, ytr, None
    if cfg["augment"]:
        x_clips, slots = clips["train"][0], None
        if cfg["negatives"]:
            x_clips, slots, x_fit, y_fit = _negative_slots(ds, x_clips, xtr, ytr,
                                                           cfg["negatives"])
        augment = features.audio_augment(
            x_clips, settings, noise=ds.noise, level=cfg["noise_level"],
            probability=cfg["noise_probability"], max_shift=cfg["max_shift"],
            time_masks=cfg["time_masks"], time_width=cfg["time_width"],
            freq_masks=cfg["freq_masks"], freq_width=cfg["freq_width"], speed=cfg["speed"],
            gain_db=cfg["gain_db"], reverb=cfg["reverb"], eq_db=cfg["eq_db"],
            warp=cfg["warp"], variants=cfg["variants"], negatives=slots)
    elif cfg["negatives"]:
        raise ParameterError("negatives= are made afresh by the augmentation: set "
                             "augment=True, or negatives=0.")
    options = {} if model != "ds_cnn" else {
        "filters": cfg["filters"], "blocks": cfg["blocks"], "dropout": cfg["dropout"],
        "l2": cfg["l2"], "first_strides": tuple(int(s) for s in strides)}
    teacher = None
    if cfg["teacher"]:
        teacher = train.fit(
            models.build("ds_cnn", settings.shape, ds.num_classes, seed=seed + 1,
                         **{**options, "filters": cfg["teacher"]}),
            x_fit, y_fit, qat=False, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
            learning_rate=cfg["learning_rate"], augment=augment, seed=seed + 1,
            verbose=verbose)
    class_weight = None
    if cfg["unknown_weight"] != 1.0 and "_unknown_" in ds.labels:
        class_weight = {ds.labels.index("_unknown_"): cfg["unknown_weight"]}
    net = models.build(model, settings.shape, ds.num_classes, seed=seed, **options)
    qat = train.fit(net, x_fit, y_fit, qat=True, epochs=cfg["epochs"],
                    qat_epochs=cfg["qat_epochs"], batch_size=cfg["batch_size"],
                    learning_rate=cfg["learning_rate"],
                    augment=augment, validation_data=(xv, yv) if len(yv) else None,
                    label_smoothing=cfg["label_smoothing"], mixup=cfg["mixup"],
                    teacher=teacher, distill=cfg["distill"], class_weight=class_weight,
                    average=cfg["average"], focal=cfg["focal"], seed=seed,
                    verbose=verbose)
    train_seconds = time.perf_counter() - start
    # quantize_model clones the model: `net` keeps the float weights of phase 1.
    float_acc = (float((net.predict(xte, verbose=0).argmax(axis=1) == yte).mean())
                 if len(yte) else None)
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


def _with_spoken(ds, x, y, share, *, seed, verbose, phrases=0.0):
    """The training clips and labels with ``share`` x as many clips of other words
    (:data:`tinykit.datasets.spoken.OTHER_WORDS`) said by espeak-ng, as ``_unknown_``; a
    share ``phrases`` of them are words run together and cut at the clip's edges."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0:
        raise ParameterError(f"spoken_unknown={share!r}: give the spoken words' share of the "
                             f"training clips, a number >= 0 (0.35: a third as many).")
    if "_unknown_" not in ds.labels:
        raise ParameterError(f"spoken_unknown= clips are trained as _unknown_, which is not a "
                             f"label of this data set ({', '.join(ds.labels)}); use "
                             f"spoken_unknown=0.")
    others = [w for w in datasets.spoken.OTHER_WORDS if w not in ds.labels]
    said = datasets.speak(others, int(round(share * len(y))), seed=seed, phrases=phrases,
                          progress=verbose)
    unknown = np.full(len(said.words), ds.labels.index("_unknown_"), np.asarray(y).dtype)
    return np.concatenate([x, said.audio]), np.concatenate([y, unknown])


def _negative_slots(ds, clips, x, y, share):
    """The training clips, features and labels with ``share`` x as many slots for hard
    negatives (labelled ``_unknown_``), and the ``negatives`` array of ``audio_augment``."""
    if "_unknown_" not in ds.labels:
        raise ParameterError(f"negatives= are trained as _unknown_, which is not a label of "
                             f"this data set ({', '.join(ds.labels)}); use negatives=0.")
    n = int(round(share * len(y)))
    unknown = ds.labels.index("_unknown_")
    slots = np.concatenate([np.asarray(y, np.int64), np.full(n, -1)])
    clips = np.concatenate([clips, np.zeros((n, clips.shape[1]), np.float32)])
    x = np.concatenate([x, np.repeat(x[:1] * 0, n, axis=0)])
    y = np.concatenate([y, np.full(n, unknown, dtype=np.asarray(y).dtype)])
    return clips, slots, x, y


@dataclass
class CrossValidation:
    """What :func:`cross_validate` measured: int8 accuracy (TFLM) per fold, and per group
    (speaker or recording) over the folds it was tested in. With several cuts of the data
    into folds, ``accuracies`` holds every cut's folds in turn (cut-major)."""
    recipe: str
    folds: int
    accuracies: list
    float_accuracies: list
    per_group: dict
    seconds: float
    flash_bytes: int = 0
    arena_bytes: int = 0
    extras: list = field(default_factory=list)
    cuts: int = 1

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies))

    @property
    def cut_means(self) -> list:
        """The mean accuracy of each cut's folds: how much the cut alone moves the
        estimate."""
        return [float(np.mean(self.accuracies[c * self.folds:(c + 1) * self.folds]))
                for c in range(self.cuts)]

    @property
    def fold_labels(self) -> list:
        """Each fold's name, in the order of ``accuracies``: "1", "2" ... or, with
        several cuts, cut.fold ("1.1", "1.2" ... "2.1" ...)."""
        n = len(self.accuracies)
        if self.cuts == 1:
            return [str(i + 1) for i in range(n)]
        return [f"{i // self.folds + 1}.{i % self.folds + 1}" for i in range(n)]

    @property
    def split(self) -> str:
        """How the data was cut, in words: "5 grouped folds", "3 cuts x 5 grouped folds"
        (the summary's, the plot's and bench/kws.py's)."""
        over = f"{self.folds} grouped folds"
        return over if self.cuts == 1 else f"{self.cuts} cuts x {over}"

    def worst(self, n=5) -> list:
        """The ``n`` groups surest to be weak: ``(group, accuracy, items)``.

        Groups are ranked by the upper end of the 95% Wilson interval of their accuracy,
        then by accuracy: a speaker with 3 of 10 clips right (accuracy at most 60%, 95%
        interval) comes before one whose single clip was missed (at most 79%), so groups
        of one item, such as Speech Commands' ``_silence_`` clips, do not fill the table
        by chance.

        Example:
            >>> cv = CrossValidation("kws", 2, [0.5, 0.9], [None, None],
            ...                      {"a": (0, 1), "b": (3, 10), "c": (9, 10)}, 1.0)
            >>> [g for g, _, _ in cv.worst(2)]
            ['b', 'a']
        """
        z2 = 1.96 ** 2

        def upper(p, t):
            return (p + z2 / (2 * t) + np.sqrt(z2 / t * (p * (1 - p) + z2 / (4 * t)))) \
                / (1 + z2 / t)
        rows = [(g, c / t, t) for g, (c, t) in self.per_group.items() if t]
        return sorted(rows, key=lambda r: (upper(r[1], r[2]), r[1]))[:n]

    def summary(self) -> str:
        lines = [f"{self.recipe}: int8 accuracy over {self.split} "
                 f"{100 * self.mean:.1f}% ± {100 * self.std:.1f} (folds: "
                 + ", ".join(f"{100 * a:.1f}%" for a in self.accuracies)
                 + f"); float {100 * float(np.mean(self.float_accuracies)):.1f}%; "
                 f"{self.flash_bytes:,} B flash, {self.arena_bytes:,} B arena; "
                 f"{self.seconds:.0f} s"]
        if self.cuts > 1:
            means = self.cut_means
            lines.append("  each cut's mean: " + ", ".join(f"{100 * m:.1f}%" for m in means)
                         + f" (range {100 * (max(means) - min(means)):.1f} points)")
        lines += [f"  worst: {datasets.folds.group_name(g)} {100 * a:.0f}% of {t}"
                  for g, a, t in self.worst() if a < 1]
        return "\n".join(lines)


def cross_validate(recipe, data, *, folds=5, seed=0, cuts=1, each=None, verbose=False,
                   **overrides):
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
        cuts: how many different cuts of the data into ``folds`` folds to train and
            score (seeds ``seed``, ``seed + 1`` ...; each also seeds its trainings), at
            ``cuts`` times the cost. On a few thousand clips the cut alone moves the
            mean by a point or two; the mean over several cuts is steadier, and
            ``.cut_means`` shows their spread.
        each: optional ``each(fold, result)`` called after every fold is trained (e.g. to
            score the held-out speakers' streams); what it returns is kept, in fold
            order (cut after cut), in ``.extras``.
        **overrides: options of the recipe (``epochs=``, ``model=`` ...).

    Returns:
        A :class:`CrossValidation` (``.mean``, ``.std`` over every fold of every cut,
        ``.cut_means``, ``.worst()``, ``.summary()``; ``flash_bytes`` and
        ``arena_bytes``: the largest of the folds' int8 models).

    Example:
        >>> cv = cross_validate("gesture", "magic_wand", folds=5)  # doctest: +SKIP
        >>> print(cv.summary())  # doctest: +SKIP
        >>> cross_validate("kws", ds, cuts=3).cut_means  # 15 trainings  # doctest: +SKIP
    """
    runs = {"gesture": gesture, "kws": kws}
    if recipe not in runs:
        raise ParameterError(f"recipe={recipe!r}: cross_validate runs {sorted(runs)}.")
    if isinstance(cuts, bool) or not isinstance(cuts, (int, np.integer)) or cuts < 1:
        raise ParameterError(f"cuts={cuts!r}: give how many cuts into folds to score (1 or "
                             f"more).")
    start = time.perf_counter()
    ds = datasets.load(data, seed=seed) if isinstance(data, (str, Path)) else data
    accuracies, float_accuracies, per_group, flash, arena, extras = [], [], {}, 0, 0, []
    every = [(seed + c, fold) for c in range(cuts)
             for fold in datasets.grouped_folds(ds, folds, seed=seed + c)]
    for cut_seed, fold in every:
        result = runs[recipe](fold.dataset, seed=cut_seed, verbose=verbose, **overrides)
        if each is not None:
            extras.append(each(fold, result))
        report = result.report
        flash, arena = max(flash, report.flash_bytes), max(arena, report.arena_bytes)
        accuracies.append(report.int8_accuracy)
        float_accuracies.append(report.float_accuracy)
        if len(report.predictions) == len(fold.groups_test):
            correct = report.predictions == np.asarray(fold.dataset.y_test)
            for g, ok in zip(fold.groups_test, correct):
                c, t = per_group.get(g, (0, 0))
                per_group[g] = (c + int(ok), t + 1)
    return CrossValidation(recipe, folds, accuracies, float_accuracies, per_group,
                           time.perf_counter() - start, flash, arena, extras, int(cuts))


# -- keyword spotting on the emulated board -----------------------------------------
@dataclass
class KwsOnDevice:
    """A stream played to the emulated board's listen firmware and to the host's detector
    (:func:`kws_on_device`), side by side.

    Attributes:
        host: :func:`tinykit.streaming.detect`'s detections (TFLM, same int8 model).
        device: the board's :class:`tinykit.deploy.listen.Listening` (its detections in
            ``device.detections``, its instruction counts).
        truth: the keywords of the stream, ``(label, start_s, end_s)``.
        host_scores, device_scores: :func:`tinykit.streaming.evaluate` of each.
        same: the board reported the host's keywords, in order, within one hop.
        frontend_ram_bytes: RAM of the audio front end's buffers in the firmware.
        hop: seconds per hop.
    """
    host: list
    device: object
    truth: list
    host_scores: dict
    device_scores: dict
    same: bool
    frontend_ram_bytes: int
    hop: float

    def table(self) -> str:
        """Hits, misses and false alarms of the host and of the device, one row each."""
        rows = [f"{'':22} {'hits':>5} {'misses':>7} {'false alarms':>13}"]
        for name, s in (("host (TFLM)", self.host_scores),
                        ("device (emulated M4F)", self.device_scores)):
            rows.append(f"{name:22} {s['hits']:5} {s['misses']:7} {s['false_alarms']:13}")
        return "\n".join(rows)

    def cost(self, clock_hz=64e6) -> list:
        """``[(part, instructions per second of audio, share of clock_hz)]`` for the
        front end, the model and both, as counted on the board (QEMU -icount)."""
        rate = self.device.per_second()
        every = self.device.every
        return [(name, rate[key], rate[key] / float(clock_hz)) for name, key in (
            ("front end (every hop)", "frontend"),
            (f"model (every {every} hops, {every * self.hop:g} s)", "model"),
            ("total", "total"))]

    def cost_table(self, clock_hz=64e6) -> str:
        """:meth:`cost` as text, with the front end's RAM."""
        mhz = f"{clock_hz / 1e6:g} MHz"
        rows = [f"{'':28} {'M instructions / s of audio':>27} {'share of ' + mhz:>16}"]
        rows += [f"{name:28} {n / 1e6:27.2f} {share:16.1%}"
                 for name, n, share in self.cost(clock_hz)]
        rows.append(f"{'front-end buffers (RAM)':28} {self.frontend_ram_bytes:>27,} bytes")
        return "\n".join(rows)

    def summary(self) -> str:
        """The stream, both lists of detections, whether they agree, and :meth:`table`."""
        def words(found):
            return ", ".join(f"{d.label}@{d.time:.2f}" for d in found) or "none"
        every = self.device.every
        agree = ("the same keywords, within one hop" if self.same
                 else "NOT the host's keywords")
        return (f"{self.device.seconds:.1f} s of audio with {len(self.truth)} keywords, the "
                f"model every {every} hops ({every * self.hop:g} s):\n"
                f"  host (TFLM):           {words(self.host)}\n"
                f"  device (emulated M4F): {words(self.device.detections)}: {agree}\n"
                f"{self.table()}")


def keyword_stream(kws_result, clips=20, *, seed=0, **options):
    """A stream of ``clips`` keyword test clips (no silence, no unknown; drawn at random
    with ``seed``) of a :func:`kws` result over its data set's noise: ``(audio, truth)``
    as :func:`tinykit.streaming.make_stream` (``options`` go to it)."""
    ds, clip_sets = kws_result.dataset, kws_result.prepared[1]
    x, y = clip_sets["test"]
    keep = [i for i, k in enumerate(y) if ds.labels[k] not in streaming.IGNORED]
    keep = np.sort(np.random.default_rng(seed).permutation(keep)[:clips])
    return streaming.make_stream(x[keep], y[keep], ds.labels, noise=ds.noise, seed=seed,
                                 **options)


def kws_streams(x, y, labels, *, noise=(), seed=0):
    """The two streams a keyword spotter is judged on, from the clips ``x`` (labels
    ``y``) of speakers it was not trained on: their keywords 1-2 s apart over ``noise``
    (:func:`tinykit.streaming.make_stream`), and a stream that holds no keyword, their
    ``_unknown_`` words and ``_silence_`` clips then stretches of each noise recording
    (:func:`tinykit.streaming.keyword_free_stream`).

    Returns:
        ``[(audio, truth), (keyword_free_audio, [])]``, for :func:`kws_posteriors`.

    Example:
        >>> x, y = result.prepared[1]["val"]  # doctest: +SKIP
        >>> streams = kws_streams(x, y, ds.labels, noise=ds.noise)  # doctest: +SKIP
    """
    x, y = np.asarray(x, np.float32), np.asarray(y)
    keyword = np.array([labels[int(k)] not in streaming.IGNORED for k in y], bool)
    audio, truth = streaming.make_stream(x[keyword], y[keyword], labels, noise=noise, seed=seed)
    quiet, none = streaming.keyword_free_stream(x[~keyword], noise=noise, seed=seed + 1)
    return [(audio, truth), (quiet, none)]


def kws_posteriors(model, settings, streams, *, detector=None, on=None):
    """:func:`tinykit.streaming.posteriors` of ``model`` over each of ``streams``
    (``[(audio, truth)]``, e.g. :func:`kws_streams`) at the ``detector``'s stride (default
    ``KeywordDetector()``): the ``(times, probs, truth)`` that
    :func:`tinykit.streaming.choose_detector` and ``KeywordDetector.sweep`` score.
    The int8 model runs ``on`` ``"tflm"`` or ``"c"`` (bit for bit the same); by default
    on ``"c"`` where this machine has a C compiler.

    Example:
        >>> posts = kws_posteriors(result.tflite, result.settings, streams)  # doctest: +SKIP
        >>> detector, point, tried = streaming.choose_detector(posts, ds.labels)  # doctest: +SKIP
        >>> rows = detector.sweep(posts, ds.labels, streaming.THRESHOLDS)  # doctest: +SKIP
    """
    stride = (detector or streaming.KeywordDetector()).options(settings)["stride"]
    if on is None:
        from .deploy.cmodel import host_compiler
        try:
            on = host_compiler() and "c"
        except ToolNotFoundError:
            on = "tflm"
    return [(*streaming.posteriors(audio, model, settings, stride=stride, on=on), truth)
            for audio, truth in streams]


def kws_on_device(model, settings, labels, audio, truth=(), *, every=EVERY,
                  threshold=THRESHOLD, window=WINDOW, suppress=SUPPRESS, min_runs=MIN_RUNS,
                  margin=MARGIN, thresholds=None, build_dir=None, timeout=60.0,
                  progress=False) -> KwsOnDevice:
    """Play ``audio`` to the emulated board's listen firmware and to the host's detector.

    The board (QEMU ``mps2-an386``, counting instructions) computes the features with
    the C front end as the audio arrives and runs the int8 model every ``every`` hops;
    the host runs :func:`tinykit.streaming.detect` on the same int16 samples with the
    same model (TFLM) and settings (``stride = every * hop``).

    Args:
        model: the int8 model; ``settings``: its AudioFeatures; ``labels``: class names.
        audio: mono samples (floats in [-1, 1] or int16) at ``settings.sample_rate``.
        truth: the keywords in it, ``(label, start_s, end_s)``; those that do not end
            within the audio are left out of the scores.
        every, threshold, window, suppress, min_runs, margin, thresholds: the
            detector's settings (:func:`tinykit.streaming.detect`'s; ``stride = every *
            hop``), e.g. ``**KeywordDetector(...).device_options()``.
        build_dir: where the firmware is built (default: tinykit's cache).
        timeout: seconds the board may take to answer one hop.
        progress: a progress bar over the audio sent.

    Returns:
        A :class:`KwsOnDevice`.

    Raises:
        ParameterError, DeviceError: see :func:`tinykit.deploy.listen.listen`.

    Example:
        >>> part = stream[:16000 * 20]  # doctest: +SKIP
        >>> both = kws_on_device(tfl, settings, ds.labels, part, truth)  # doctest: +SKIP
        >>> print(both.table())  # doctest: +SKIP
    """
    from .deploy import emulated, listen
    pcm = listen.as_int16(audio)
    hop = settings.stride_samples / settings.sample_rate
    detector = dict(threshold=threshold, window=window, suppress=suppress, min_runs=min_runs,
                    margin=margin, thresholds=thresholds)
    with listen.boot_listen(model, settings, build_dir=build_dir) as board:
        heard = listen.listen(board.url, model, settings, labels, pcm, every=every,
                              timeout=timeout, progress=progress, **detector)
        ram = emulated.symbol_bytes(board.elf, prefix="tk_audio_frontend_", ram=True)
    host = streaming.detect(pcm / 32768.0, model, settings, labels, stride=every * hop,
                            **detector)
    seconds = len(pcm) / settings.sample_rate
    truth = [t for t in truth if t[2] <= seconds]
    device = heard.detections
    same = len(device) == len(host) and all(
        d.label == h.label and abs(d.time - h.time) <= hop + 1e-9 for d, h in zip(device, host))
    return KwsOnDevice(host=host, device=heard, truth=truth,
                       host_scores=streaming.evaluate(host, truth, duration=seconds),
                       device_scores=streaming.evaluate(device, truth, duration=seconds),
                       same=bool(same), frontend_ram_bytes=ram, hop=hop)
