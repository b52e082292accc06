"""IMU gesture data sets: a folder of IMU_Capture CSV files, one label each."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .imu_csv import IMU_COLUMNS, read_imu_csv


@dataclass
class ImuDataset:
    """Gestures with labels, split into train and test.

    ``x_*`` are float32 arrays (n, samples_per_gesture, channels) in sensor units
    (g and degrees/s for IMU_Capture); ``y_*`` are int label indices into ``labels``.
    ``sources_*`` give "file:line" of each gesture, so a bad one can be found.
    ``still`` maps "train"/"test" to the sources of recordings with no movement after
    the trigger (:func:`still_gestures`), and ``"dropped"`` to whether they were taken
    out (``load_imu(..., drop_still=True)``) or are still in ``x_*``.
    """
    name: str
    labels: list
    columns: tuple
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sources_train: list = field(default_factory=list)
    sources_test: list = field(default_factory=list)
    sample_rate: float = 119.0
    path: Path | None = None
    split: str = "given"
    notes: list = field(default_factory=list)
    still: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def samples_per_gesture(self) -> int:
        return self.x_train.shape[1]

    def __repr__(self):
        counts = ", ".join(f"{lab}: {int((self.y_train == i).sum())}/{int((self.y_test == i).sum())}"
                           for i, lab in enumerate(self.labels))
        return (f"ImuDataset({self.name!r}, {len(self.y_train)} train / {len(self.y_test)} test "
                f"gestures of {self.samples_per_gesture}x{len(self.columns)}, split={self.split}; "
                f"train/test per label: {counts}{self._still_text()})")

    def _still_text(self):
        n = len(self.still.get("train", [])) + len(self.still.get("test", []))
        if not n:
            return ""
        what = "dropped" if self.still.get("dropped") else "kept; drop_still=True drops them"
        return (f"; {n} still recordings ({len(self.still['train'])} train, "
                f"{len(self.still['test'])} test) {what}")


def _label_files(folder: Path):
    """Map label -> list of CSV files, from `Label.csv` files or `Label/` folders."""
    found = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() == ".csv":
            found.setdefault(entry.stem, []).append(entry)
        elif entry.is_dir() and entry.name not in ("train", "test"):
            files = sorted(p for p in entry.rglob("*.csv") if not p.name.startswith("."))
            if files:
                found.setdefault(entry.name, []).extend(files)
    return found


def _read_folder(folder, samples_per_gesture, columns, notes):
    per_label = {}
    for label, files in _label_files(folder).items():
        arrays, sources = [], []
        for f in files:
            imu = read_imu_csv(f, samples_per_gesture, columns)
            notes.extend(imu.skipped)
            arrays.append(imu.gestures)
            sources.extend(f"{f}:{line}" for line in imu.first_lines)
        per_label[label] = (np.concatenate(arrays), sources)
    return per_label


def _stratified_split(per_label, labels, test_fraction, seed):
    xtr, ytr, str_, xte, yte, ste = [], [], [], [], [], []
    for i, label in enumerate(labels):
        x, src = per_label[label]
        # Deterministic per label: the order depends on the seed and the label name only.
        rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        order = rng.permutation(len(x))
        n_test = int(round(len(x) * test_fraction)) if len(x) > 1 else 0
        n_test = min(max(n_test, 1 if len(x) > 1 else 0), len(x) - 1)
        for j, k in enumerate(order):
            (xte if j < n_test else xtr).append(x[k])
            (yte if j < n_test else ytr).append(i)
            (ste if j < n_test else str_).append(src[k])
    return xtr, ytr, str_, xte, yte, ste


def load_imu(path, samples_per_gesture=119, columns=IMU_COLUMNS, test_fraction=0.2,
             seed=0, sample_rate=119.0, name=None, drop_still=False) -> ImuDataset:
    """Load a folder of IMU_Capture CSV files as a labelled gesture data set.

    Layouts accepted (label names come from file or folder names, so any gesture
    vocabulary works with no code change):

    - ``path/train/`` and ``path/test/``: the split is used as given;
    - otherwise ``path/<Label>.csv`` or ``path/<Label>/*.csv``: a deterministic
      stratified split with ``test_fraction`` of each label held out (``seed`` picks it).

    Args:
        path: the data set folder.
        samples_per_gesture: rows per gesture (IMU_Capture's ``numSamples``, 119).
        columns: expected CSV header.
        test_fraction: share of each label held out when there is no ``test/`` folder.
        seed: seed of that split.
        drop_still: leave out recordings with no movement after the trigger
            (:func:`still_gestures`: a knock started the capture). Either way
            ``ds.still`` lists them and ``repr(ds)`` says how many there are.

    Raises:
        DatasetError: missing folder, no CSV files, a label in test but not in train,
            or any malformed file (see :func:`read_imu_csv`).

    Example:
        >>> ds = load_imu("datasets/magic_wand")  # doctest: +SKIP
        >>> ds.labels[:2], ds.x_train.shape  # doctest: +SKIP
        (['AlohomoraCharm', 'ArrestoMomentumCharm'], (100, 119, 6))
        >>> load_imu("datasets/magic_wand", drop_still=True).x_train.shape  # doctest: +SKIP
        (85, 119, 6)
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such folder. Expected a folder of IMU_Capture CSV "
                           f"files (one per label, or a folder per label).")
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be between 0 and 1, got {test_fraction}.")
    notes = []
    if (path / "train").is_dir() and (path / "test").is_dir():
        train = _read_folder(path / "train", samples_per_gesture, columns, notes)
        test = _read_folder(path / "test", samples_per_gesture, columns, notes)
        if not train:
            raise DatasetError(f"{path / 'train'}: no CSV files found.")
        extra = sorted(set(test) - set(train))
        if extra:
            raise DatasetError(f"{path / 'test'}: labels {extra} have no training data in "
                               f"{path / 'train'}.")
        labels = sorted(train)
        xtr, ytr, str_, xte, yte, ste = [], [], [], [], [], []
        for i, label in enumerate(labels):
            xtr.extend(train[label][0]); str_.extend(train[label][1]); ytr.extend([i] * len(train[label][0]))
            if label in test:
                xte.extend(test[label][0]); ste.extend(test[label][1]); yte.extend([i] * len(test[label][0]))
        split = "given"
    else:
        per_label = _read_folder(path, samples_per_gesture, columns, notes)
        if not per_label:
            raise DatasetError(f"{path}: no CSV files found. Expected <Label>.csv files or "
                               f"<Label>/ folders of IMU_Capture output.")
        labels = sorted(per_label)
        xtr, ytr, str_, xte, yte, ste = _stratified_split(per_label, labels, test_fraction, seed)
        split = f"stratified test_fraction={test_fraction} seed={seed}"
    empty = [lab for i, lab in enumerate(labels) if i not in ytr]
    if empty:
        raise DatasetError(f"{path}: labels {empty} have no complete gesture to train on.")
    shape = (0, samples_per_gesture, len(columns))
    ds = ImuDataset(
        name=name or path.name, labels=labels, columns=tuple(columns),
        x_train=np.stack(xtr).astype(np.float32),
        y_train=np.asarray(ytr, np.int64),
        x_test=np.stack(xte).astype(np.float32) if xte else np.zeros(shape, np.float32),
        y_test=np.asarray(yte, np.int64), sources_train=str_, sources_test=ste,
        sample_rate=sample_rate, path=path, split=split, notes=notes)
    return _mark_still(ds, drop_still) if samples_per_gesture > STILL_SKIP else ds


def _mark_still(ds, drop):
    """Fill ``ds.still`` (and with ``drop``, take those recordings out of ``ds``)."""
    still = {"train": still_gestures(ds.x_train), "test": still_gestures(ds.x_test)}
    ds.still = {part: [getattr(ds, f"sources_{part}")[i] for i in idx]
                for part, idx in still.items()}
    ds.still["dropped"] = bool(drop)
    n = len(still["train"]) + len(still["test"])
    if n and drop:
        for part, idx in still.items():
            keep = np.setdiff1d(np.arange(len(getattr(ds, f"y_{part}"))), idx)
            sources = getattr(ds, f"sources_{part}")
            setattr(ds, f"x_{part}", getattr(ds, f"x_{part}")[keep])
            setattr(ds, f"y_{part}", getattr(ds, f"y_{part}")[keep])
            setattr(ds, f"sources_{part}", [sources[i] for i in keep])
        empty = [lab for i, lab in enumerate(ds.labels) if i not in ds.y_train]
        if empty:
            raise DatasetError(f"{ds.path}: labels {empty} have only still recordings (no "
                               f"movement after the trigger); load with drop_still=False "
                               f"or record them again.")
    if n:
        ds.notes.append(f"{n} still recordings ({len(still['train'])} train, "
                        f"{len(still['test'])} test) "
                        + ("dropped" if drop else "kept (drop_still=True drops them)"))
    return ds


#: Samples after the trigger that :func:`still_gestures` ignores by default.
STILL_SKIP = 20


def still_gestures(x, gyro_threshold=60.0, skip=STILL_SKIP, gyro_columns=slice(3, 6)):
    """Indices of recordings where the device barely moved after the trigger.

    IMU_Capture starts recording when the acceleration crosses its threshold; a knock
    or a twitch starts it too, and the 119 samples then show a device at rest. Such
    recordings carry no gesture: worth finding before training (and when reading test
    results). A gesture counts as still when, after its first ``skip`` samples, no
    gyroscope reading exceeds ``gyro_threshold`` degrees/s.

    Args:
        x: raw gestures (n, time, channels) in sensor units, e.g. ``ds.x_train``.

    Returns:
        int array of indices into ``x``.

    Example:
        >>> ds = load_imu("datasets/magic_wand")  # doctest: +SKIP
        >>> [ds.sources_train[i] for i in still_gestures(ds.x_train)][:1]  # doctest: +SKIP
        ['datasets/magic_wand/train/AlohomoraCharm.csv:2']
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] <= skip:
        raise DatasetError(f"expected gestures shaped (n, time > {skip}, channels), got {x.shape}.")
    peak = np.abs(x[:, skip:, gyro_columns]).max(axis=(1, 2))
    return np.flatnonzero(peak < gyro_threshold)
