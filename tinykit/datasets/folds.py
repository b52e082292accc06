"""Grouped k-fold splits: honest estimates on people and recordings a model has not seen.

A split of a few hundred clips says little, and one that puts a speaker's clips on
both sides says too much. :func:`grouped_folds` cuts a data set into ``k`` folds that
never share a group (a speaker for Speech Commands; a recording file for IMU data
where a label has several, else each gesture), balanced in size and, as far as the
groups allow, in labels::

    for fold in tinykit.datasets.grouped_folds(ds, k=5):
        ...   # fold.dataset: train on k-1 folds, test on this one; fold.groups_test

``tinykit.recipes.cross_validate`` trains and scores a recipe on every fold. Once the
folds have chosen the recipe, :func:`pooled` gives the final model every item to train
on (and, optionally, another folder's items to be tested on).
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ParameterError
from .imu import ImuDataset
from .speech_commands import SpeechCommands, speaker_of


@dataclass
class Fold:
    """One fold: ``dataset`` has this fold's items as its test split and every other
    fold's as its training split; ``groups_test`` names the group of each test item."""
    index: int
    dataset: object
    groups_test: list


def groups_of(ds, k=5) -> tuple:
    """``(items, labels, groups)`` of every item of ``ds`` (all splits pooled).

    Speech Commands: a clip's group is its speaker (a clip without one, such as a
    generated ``_silence_`` window, is a group of its own). IMU data: a gesture's group
    is its recording file when every label has gestures from at least ``k`` files (so
    each fold can test every label on recordings it did not train on), else the
    gesture itself: magic_wand keeps one file per label and split, so its folds are
    stratified by gesture.
    """
    if isinstance(ds, SpeechCommands):
        items = list(ds.files_train) + list(ds.files_val) + list(ds.files_test)
        labels = np.concatenate([ds.y_train, ds.y_val, ds.y_test]).astype(np.int64)
        groups = [speaker_of(Path(str(s).split("@")[0]).name) or f"clip:{s}" for s in items]
        return items, labels, groups
    if isinstance(ds, ImuDataset):
        items = [("train", i) for i in range(len(ds.y_train))]
        items += [("test", i) for i in range(len(ds.y_test))]
        labels = np.concatenate([ds.y_train, ds.y_test]).astype(np.int64)
        sources = list(ds.sources_train) + list(ds.sources_test)
        files = [str(s).rsplit(":", 1)[0] if s else f"gesture:{n}"
                 for n, s in enumerate(sources)] if len(sources) == len(items) else []
        per_label = {}
        for lab, f in zip(labels, files):
            per_label.setdefault(int(lab), set()).add(f)
        by_file = bool(files) and all(len(v) >= k for v in per_label.values())
        groups = files if by_file else [str(s) if s else f"gesture:{n}"
                                        for n, s in enumerate(sources or [None] * len(items))]
        return items, labels, groups
    raise ParameterError(f"grouped folds take an ImuDataset or SpeechCommands, got "
                         f"{type(ds).__name__}; load one with tinykit.datasets.load().")


def group_name(group) -> str:
    """A group as a person reads it: a speaker id as it is; a recording by its folder and
    file name (and the gesture's line), e.g. ``test/Revelio.csv:121``: train/ and test/
    hold files of one name."""
    return "/".join(str(group).replace("\\", "/").split("/")[-2:])


def assign_folds(labels, groups, k=5, seed=0) -> np.ndarray:
    """The fold (0..k-1) of every item: a group's items share a fold; groups go, largest
    first (ties in a seeded random order), to the fold holding the fewest items of the
    group's commonest label, then the fewest items.

    Raises:
        ParameterError: ``k`` below 2. DatasetError: fewer groups than folds.
    """
    if int(k) != k or k < 2:
        raise ParameterError(f"k={k!r}: cross-validation needs at least 2 folds.")
    k = int(k)
    labels = np.asarray(labels)
    members = {}
    for n, g in enumerate(groups):
        members.setdefault(g, []).append(n)
    if len(members) < k:
        raise DatasetError(f"{len(members)} groups (speakers or recordings) cannot fill "
                           f"{k} folds: use fewer folds or more data.")
    order = list(members)
    np.random.default_rng(seed).shuffle(order)
    order.sort(key=lambda g: -len(members[g]))       # stable: ties keep the shuffle
    classes = int(labels.max()) + 1 if len(labels) else 1
    per_label = np.zeros((k, classes), np.int64)
    fold_of = np.empty(len(labels), np.int64)
    for g in order:
        idx = members[g]
        lab = Counter(labels[idx].tolist()).most_common(1)[0][0]
        f = min(range(k), key=lambda j: (per_label[j, lab], per_label[j].sum(), j))
        fold_of[idx] = f
        np.add.at(per_label[f], labels[idx], 1)
    return fold_of


def _subset(ds, items, labels, train, test):
    if isinstance(ds, SpeechCommands):
        pick = lambda idx: [items[i] for i in idx]                   # noqa: E731
        return dataclasses.replace(
            ds, files_train=pick(train), y_train=labels[train], files_val=[],
            y_val=np.zeros(0, np.int64), files_test=pick(test), y_test=labels[test])
    x = np.concatenate([ds.x_train, ds.x_test])
    sources = list(ds.sources_train) + list(ds.sources_test)
    src = (lambda idx: [sources[i] for i in idx]) if len(sources) == len(x) else (lambda idx: [])
    return dataclasses.replace(ds, x_train=x[train], y_train=labels[train], x_test=x[test],
                               y_test=labels[test], sources_train=src(train),
                               sources_test=src(test))


def grouped_folds(ds, k=5, *, seed=0) -> list:
    """``k`` :class:`Fold` s of ``ds`` that never share a group (see :func:`groups_of`).

    Every item of the data set (train, validation and test pooled) is tested once. The
    fold data sets have no validation split.

    Example:
        >>> ds = tinykit.datasets.load("magic_wand")  # doctest: +SKIP
        >>> [len(f.dataset.y_test) for f in grouped_folds(ds, 5)]  # doctest: +SKIP
        [25, 25, 25, 25, 25]
    """
    items, labels, groups = groups_of(ds, k)
    fold_of = assign_folds(labels, groups, k, seed)
    folds = []
    for f in range(k):
        test = np.flatnonzero(fold_of == f)
        train = np.flatnonzero(fold_of != f)
        sub = _subset(ds, items, labels, train, test)
        sub = dataclasses.replace(sub, split=f"grouped fold {f + 1} of {k}",
                                  notes=list(ds.notes) + [f"fold {f + 1} of {k}, seed {seed}"])
        folds.append(Fold(f, sub, [groups[i] for i in test]))
    return folds


def pooled(ds, test=None):
    """Every item of ``ds`` (train, validation and test) as the training split: what the
    final model learns from, once grouped folds have chosen the recipe.

    Args:
        ds: a :class:`SpeechCommands` or :class:`ImuDataset`.
        test: optional data set of the same kind and labels (e.g. clips of other
            speakers); every item of it becomes the test split. Without it the test
            split is empty (nothing is left to test on).

    Raises:
        DatasetError: ``test`` has other labels or is of another kind.

    Example:
        >>> final = pooled(tinykit.datasets.load("speech_commands"))  # doctest: +SKIP
        >>> len(final.files_train), len(final.files_test)  # doctest: +SKIP
        (300, 0)
    """
    items, labels, _ = groups_of(ds, 2)
    if test is not None:
        if type(test) is not type(ds):
            raise DatasetError(f"test is a {type(test).__name__}, the training data a "
                               f"{type(ds).__name__}; give both of one kind.")
        if list(test.labels) != list(ds.labels):
            raise DatasetError(f"the test data's labels {list(test.labels)} differ from the "
                               f"training data's {list(ds.labels)}; load both with the same "
                               f"words (and _silence_/_unknown_ settings).")
    train = np.arange(len(items))
    if isinstance(ds, SpeechCommands):
        out = _subset(ds, items, labels, train, train[:0])
        if test is not None:
            t_items, t_labels, _ = groups_of(test, 2)
            out = dataclasses.replace(out, files_test=list(t_items), y_test=t_labels)
    else:
        out = _subset(ds, items, labels, train, train[:0])
        if test is not None:
            out = dataclasses.replace(
                out, x_test=np.concatenate([test.x_train, test.x_test]),
                y_test=np.concatenate([test.y_train, test.y_test]).astype(np.int64),
                sources_test=list(test.sources_train) + list(test.sources_test))
    note = ("every item trained on" + ("" if test is None else
                                       f"; tested on {getattr(test, 'name', 'other data')}"))
    return dataclasses.replace(out, split="pooled", notes=list(ds.notes) + [note])
