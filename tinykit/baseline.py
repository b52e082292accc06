"""A classical baseline for gestures: summary features per channel and a random forest,
converted to C with emlearn.

The comparison the field makes before reaching for a CNN: per channel mean, variance,
minimum and maximum of the raw window (24 numbers for 6 IMU channels), a small tree
ensemble (scikit-learn), and emlearn's C for the trees. The C features
(``tk_summary.c`` of tinykit's runtime) compute the same float32 values as
:func:`summary_features`, so the board predicts what Python predicts::

    trees = tinykit.baseline.fit_trees(ds.x_train, ds.y_train)
    accuracy = (trees.predict(ds.x_test) == ds.y_test).mean()
    device = tinykit.baseline.run_emulated(trees, ds.x_test)   # QEMU mps2-an386
    device.predictions, device.instructions, device.flash_bytes, device.ram_bytes
"""
from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError, ParameterError

#: What :func:`summary_features` computes per channel, in the order of its columns.
FEATURES = ("mean", "var", "min", "max")

#: Options of the tree ensemble (scikit-learn's ``RandomForestClassifier``). Trees are
#: grown until their leaves are pure, so the forest's soft vote (scikit-learn) and
#: emlearn's majority vote are the same vote.
TREE_DEFAULTS = dict(n_estimators=10, max_features="sqrt")


def summary_features(x) -> np.ndarray:
    """Per channel mean, variance, minimum and maximum of every window.

    Computed in float32 with sums in time order, exactly as ``tk_summary_features``
    does on the device (``tinykit/deploy/cruntime/tk_summary.c``).

    Args:
        x: windows (n, time, channels) in sensor units, e.g. ``ds.x_train``.

    Returns:
        float32 (n, 4 * channels): the means of every channel, then their variances,
        minima and maxima (see :data:`FEATURES`).

    Raises:
        ParameterError: ``x`` is not (n, time, channels) with time and channels >= 1.

    Example:
        >>> summary_features(np.ones((2, 119, 6))).shape
        (2, 24)
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] < 1:
        raise ParameterError(f"expected windows shaped (n, time, channels), got {x.shape}; "
                             f"pass ds.x_train (raw sensor units, not normalized).")
    n, samples, channels = x.shape
    total = np.zeros((n, channels), np.float32)
    for t in range(samples):            # in time order, as the C loop adds
        total += x[:, t]
    mean = total / np.float32(samples)
    squares = np.zeros((n, channels), np.float32)
    for t in range(samples):
        d = x[:, t] - mean
        squares += d * d
    var = squares / np.float32(samples)
    return np.concatenate([mean, var, x.min(axis=1), x.max(axis=1)], axis=1)


def _import_emlearn():
    """emlearn, imported without its side effect: its ``bayes`` module calls
    ``numpy.seterr(all="raise")`` on import, which would make every later underflow in
    the user's numpy code an exception. ``np.errstate`` puts the error state back."""
    with np.errstate():
        import emlearn
        import emlearn.common  # noqa: F401  (imports emlearn.bayes too)
    return emlearn


@dataclass
class Trees:
    """A tree ensemble on summary features (from :func:`fit_trees`).

    ``estimator`` is the scikit-learn forest; :meth:`predict` takes raw windows,
    :meth:`c_sources` gives the C a firmware compiles, :meth:`host_predict` runs
    emlearn's C on this computer.
    """
    estimator: object
    samples: int
    channels: int
    labels: list = field(default_factory=list)

    @property
    def num_features(self) -> int:
        return len(FEATURES) * self.channels

    @property
    def nodes(self) -> int:
        """Decision nodes and leaves of all trees."""
        return int(sum(e.tree_.node_count for e in self.estimator.estimators_))

    def _check(self, x):
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (self.samples, self.channels):
            raise ModelError(f"the trees were fitted on windows of {self.samples}x"
                             f"{self.channels}, got {x.shape[1:] if x.ndim == 3 else x.shape}.")
        return x

    def predict(self, x) -> np.ndarray:
        """Label indices of the windows ``x`` (n, time, channels) (scikit-learn)."""
        return self.estimator.predict(summary_features(self._check(x))).astype(np.int64)

    def _emlearn(self):
        emlearn = _import_emlearn()
        return emlearn.convert(self.estimator, method="inline", dtype="float")

    def host_predict(self, x) -> np.ndarray:
        """The same predictions from emlearn's C, compiled for this computer by emlearn's
        own test harness (in a temporary folder; the features from
        :func:`summary_features`, passed as emlearn does: text with 8 decimals)."""
        _import_emlearn()
        from emlearn.common import CompiledClassifier
        features = summary_features(self._check(x))
        with tempfile.TemporaryDirectory(prefix="tinykit-emlearn-") as tmp:
            program = CompiledClassifier(self._emlearn().save(name="tk_trees"), name="tk_trees",
                                         call="tk_trees_predict(values, length)", temp_dir=tmp)
            return np.asarray(program.predict(features), np.int64)

    def c_sources(self, name="tk_trees") -> dict:
        """``{"tk_trees.h": ..., "tk_trees.c": ...}``: ``int32_t <name>_predict(const
        float *features, int32_t n)`` (emlearn's inline C) and the window's geometry
        (``TK_TREES_SAMPLES``, ``TK_TREES_CHANNELS``, ``TK_TREES_FEATURES``,
        ``TK_TREES_INPUT_SIZE``)."""
        from .deploy import codegen
        codegen.identifier(name)
        what = (f"a random forest of {len(self.estimator.estimators_)} trees ({self.nodes} "
                f"nodes) on {self.num_features} summary features, converted by emlearn")
        gen = "tinykit.baseline.Trees.c_sources"
        trees_c = self._emlearn().save(name=name)
        # emlearn's own predict_proba is not used on the device; its functions stay
        # file-local helpers but for <name>_predict, declared in the header.
        trees_c = re.sub(r"^int " + name + r"_predict_proba\(", "static int " + name
                         + "_predict_proba(", trees_c, flags=re.M)
        header = codegen.header(
            f"{name}.h", [codegen.define("TK_TREES_SAMPLES", self.samples),
                          codegen.define("TK_TREES_CHANNELS", self.channels),
                          codegen.define("TK_TREES_FEATURES", self.num_features),
                          codegen.define("TK_TREES_INPUT_SIZE", self.samples * self.channels),
                          f"// The label index of a window's TK_TREES_FEATURES summary "
                          f"features (tk_summary_features).\n"
                          f"int32_t {name}_predict(const float *features, "
                          f"int32_t features_length);"],
            generator=gen, inputs=what)
        source = codegen.source(["// emlearn's C, as emlearn writes it:", trees_c],
                                generator=gen, inputs=what,
                                includes=("stdint.h", f'"{name}.h"'))
        return {f"{name}.h": header, f"{name}.c": source}


def fit_trees(x, y, *, labels=None, seed=0, **options) -> Trees:
    """Fit a random forest on the summary features of the windows ``x``.

    Args:
        x: raw windows (n, time, channels), e.g. ``ds.x_train``.
        y: label indices.
        labels: label names, kept for reports.
        seed: the forest's ``random_state``.
        **options: any option of scikit-learn's ``RandomForestClassifier``
            (defaults: :data:`TREE_DEFAULTS`).

    Raises:
        ParameterError: ``x`` and ``y`` of different lengths, or no window.

    Example:
        >>> trees = fit_trees(ds.x_train, ds.y_train)  # doctest: +SKIP
        >>> (trees.predict(ds.x_test) == ds.y_test).mean()  # doctest: +SKIP
        0.95
    """
    from sklearn.ensemble import RandomForestClassifier
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) == 0 or len(x) != len(y):
        raise ParameterError(f"fit_trees needs as many labels as windows, got {len(x)} "
                             f"windows and {len(y)} labels.")
    forest = RandomForestClassifier(random_state=seed, **{**TREE_DEFAULTS, **options})
    forest.fit(summary_features(x), y)
    return Trees(forest, samples=x.shape[1], channels=x.shape[2], labels=list(labels or []))


def fold_accuracies(ds, k=5, *, seed=0, **options) -> list:
    """Accuracy of :func:`fit_trees` on each of the ``k`` grouped folds of ``ds``
    (:func:`tinykit.datasets.grouped_folds`: the folds the CNN is cross-validated on).

    Example:
        >>> np.mean(fold_accuracies(load("magic_wand", drop_still=True)))  # doctest: +SKIP
        0.94
    """
    from .datasets import grouped_folds
    scores = []
    for fold in grouped_folds(ds, k, seed=seed):
        d = fold.dataset
        trees = fit_trees(d.x_train, d.y_train, seed=seed, **options)
        scores.append(float((trees.predict(d.x_test) == d.y_test).mean()))
    return scores


@dataclass
class TreesRun:
    """What the emulated board computed with the trees (:func:`run_emulated`).

    ``instructions`` per window count features and trees together (QEMU -icount,
    exact); ``flash_bytes`` is the code and constants of ``tk_summary_features`` and
    the trees, ``ram_bytes`` the feature buffer plus the stack those two functions use
    at most (gcc's ``-fstack-usage``), both from the ARM build; ``text_bytes``,
    ``data_bytes`` and ``bss_bytes`` are the whole firmware's (startup, UART, the
    compiled-in windows included), as :class:`tinykit.deploy.emulated.DeviceRun` has them.
    """
    predictions: np.ndarray
    instructions: np.ndarray
    flash_bytes: int
    ram_bytes: int
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    elf: Path
    seconds: float


def _stack_bytes(folder, functions) -> int:
    """Deepest stack of ``functions`` from the ``.su`` files gcc wrote in ``folder``
    (each function's own frame; the trees' helpers are inlined into ``*_predict``)."""
    frames = {}
    for su in Path(folder).rglob("*.su"):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                frames[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
    missing = [f for f in functions if f not in frames]
    if missing:
        raise ModelError(f"no stack usage for {missing} in the build ({folder}).")
    return max(frames[f] for f in functions)


def run_emulated(trees, x, *, build_dir=None, timeout=120) -> TreesRun:
    """Run features and trees on the emulated board (QEMU mps2-an386) for every window.

    Builds the board's ``trees`` firmware with the trees (:meth:`Trees.c_sources`) and
    ``x`` compiled in (in ``build_dir``, default the per-user cache, as
    :func:`tinykit.deploy.emulated.build`), boots it with instruction counting and
    reads one label per window.

    Raises:
        ToolNotFoundError: ``arm-none-eabi-gcc`` or ``qemu-system-arm`` is missing.
        DeployError / DeviceError: the build failed, or the firmware did not finish.

    Example:
        >>> device = run_emulated(trees, ds.x_test)  # doctest: +SKIP
        >>> (device.predictions == trees.predict(ds.x_test)).all()  # doctest: +SKIP
        True
    """
    from .deploy import codegen, emulated
    x = trees._check(x)
    start = time.perf_counter()
    what = f"{len(x)} windows of {trees.samples}x{trees.channels}"
    gen = "tinykit.baseline.run_emulated"
    sources = dict(trees.c_sources())
    sources["tk_inputs.c"] = codegen.source(
        [codegen.constant("uint32_t", "tk_input_count", len(x)),
         codegen.array("float", "tk_inputs", x.reshape(-1), size=max(1, x.size))],
        generator=gen, inputs=what, includes=("stdint.h", '"tk_inputs.h"'))
    sources["tk_inputs.h"] = codegen.header(
        "tk_inputs.h", ["// tk_input_count windows of TK_TREES_INPUT_SIZE floats, one "
                        "after the other.", codegen.extern("uint32_t", "tk_input_count", dims=0),
                        codegen.extern("float", "tk_inputs")],
        generator=gen, inputs=what)
    config = {"TK_ICOUNT_SHIFT": emulated.icount_shift()}
    elf = emulated.build("trees", sources, config=config, build_dir=build_dir)
    with emulated.boot(elf, icount=True) as machine:
        lines = machine.read_until("done", timeout)
    labels, instructions, _ = emulated.read_outputs(lines, 1)
    functions = ("tk_summary_features", "tk_trees_predict")
    flash = emulated.symbol_bytes(elf, functions)
    ram = emulated.symbol_bytes(elf, {"tk_trees_features"}) + _stack_bytes(elf.parent, functions)
    text, data, bss = emulated._sizes(elf)
    return TreesRun(predictions=labels[:, 0].astype(np.int64), instructions=instructions,
                    flash_bytes=flash, ram_bytes=ram, text_bytes=text, data_bytes=data,
                    bss_bytes=bss, elf=elf,
                    seconds=time.perf_counter() - start)
