"""Export a model with everything a device needs, and generate board projects.

    files = export(tfl, "build/kws", labels=ds.labels, features=settings)
    project = generate(tfl, board="nano33ble", app="gesture", labels=ds.labels,
                       features=imu_settings)
    project = generate(tfl, board="nano33ble", app="keyword", labels=ds.labels,
                       features=audio_settings, settings={"threshold": 0.5})
"""
from __future__ import annotations

import json
import string
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DeployError
from . import codegen
from .boards import board as get_board


@dataclass
class Project:
    """A generated project folder and what went into it."""
    path: Path
    board: str
    app: str
    files: list = field(default_factory=list)
    arena_bytes: int = 0     # the tensor arena the sketch gets (tflm.arena_size)
    flash_bytes: int = 0

    @property
    def main_file(self) -> Path:
        return self.files[0]

    def __repr__(self):
        return (f"Project({self.app!r} for {self.board!r} at {self.path}: "
                f"{', '.join(p.name for p in self.files)})")


def _check_labels(model, labels):
    labels = [str(s) for s in labels]
    n_out = int(model.output.shape[-1])
    if len(labels) != n_out:
        raise DeployError(f"{len(labels)} labels given but the model has {n_out} outputs.")
    return labels


def export(model, out, *, labels, features=None, name="model", detector=None) -> list:
    """Write the model and everything that travels with it into the folder ``out``.

    Files: ``<name>.tflite``; ``model_data.h``/``model_data.cc`` (the model as a const,
    16-byte aligned array ``g_model``); ``op_resolver.h`` (exactly the model's ops);
    ``labels.txt``; with ``features``, ``<name>_features.json`` (the feature settings,
    reloadable with ``tinykit.features``) and, for audio features, ``audio_features.h``
    (window, mel filterbank, DCT and normalisation as C constants); with ``detector``,
    ``<name>_detector.json`` (the keyword detector's operating point,
    ``tinykit.streaming.load_detector`` reads it).

    Args:
        model: the int8 model (``tinykit.convert.to_int8``; .tflite bytes work too).
        out: the folder (created).
        labels: class names, in output order.
        features: the feature settings the model was trained with
            (``tinykit.features.AudioFeatures`` or ``ImuFeatures``).
        name: base name of the .tflite and settings files.
        detector: the keyword detector's settings (``tinykit.streaming.KeywordDetector``).

    Returns:
        The paths written.

    Raises:
        DeployError: labels that do not match the model's outputs.

    Example:
        >>> export(tfl, "build/kws", labels=ds.labels, features=settings)  # doctest: +SKIP
        [PosixPath('build/kws/model.tflite'), PosixPath('build/kws/model_data.h'), ...]
    """
    from ..convert import as_model
    model = as_model(model)
    labels = _check_labels(model, labels)
    out = Path(out)
    codegen.identifier(name.replace("-", "_"))
    files = codegen.model_sources(model, "g_model", model.source)
    files["op_resolver.h"] = codegen.op_resolver_header(model.ops, model.source)
    files["labels.txt"] = "\n".join(labels) + "\n"
    paths = [model.save(out / f"{name}.tflite")] + codegen.write(out, files)
    if features is not None:
        paths.append(features.save(out / f"{name}_features.json"))
        from ..features import AudioFeatures
        if isinstance(features, AudioFeatures):
            from .audio_frontend import write_feature_tables
            paths.append(write_feature_tables(out / "audio_features.h", features))
    if detector is not None:
        paths.append(detector.save(out / f"{name}_detector.json"))
    return paths


def _template_values(model, b, labels, source):
    from .. import __version__
    from .tflm import arena_size
    return {
        "banner": codegen.banner("tinykit.deploy.generate",
                                 f"{source} for the {b.title}").rstrip("\n"),
        "version": __version__, "board_title": b.title, "model_source": source,
        "labels": codegen.c_string_list(labels), "labels_comment": ", ".join(labels),
        "num_labels": str(len(labels)), "model_array": "g_model",
        "input_scale": codegen.c_float(model.input.scale),
        "input_zero_point": str(model.input.zero_point),
        "output_scale": codegen.c_float(model.output.scale),
        "output_zero_point": str(model.output.zero_point),
        "arena_measured": str(model.arena_bytes),
        "arena_size": str(arena_size(model)),
        "libraries": ", ".join(b.extra.get("libraries", [])) or "none",
    }


def _feature_values(features):
    """Template values of feature settings: each field as a C literal; for a list
    field also ``num_<field>`` (its length) and ``<field>_comment`` (plain text)."""
    values = {}
    for key, value in features.to_dict().items():
        if value is None or key in ("tinykit", "version"):   # the JSON file's own header
            continue
        values[key] = codegen.literal(value)
        if isinstance(value, (list, tuple)):
            values[f"num_{key}"] = str(len(value))
            values[f"{key}_comment"] = ",".join(str(v) for v in value)
    return values


def _check_sample_rate(b, features):
    """Warn when the board's IMU samples at another rate than the training data: the
    app takes ``samples`` readings as they come, so a gesture lasts longer or shorter.
    Audio features (no ``samples``) are the microphone's, not the IMU's: not checked."""
    rate, trained = b.extra.get("imu_rate_hz"), getattr(features, "sample_rate", None)
    samples = getattr(features, "samples", 0)
    if rate and trained and samples and abs(rate / trained - 1) > 0.05:
        warnings.warn(f"the model was trained on {trained:g} Hz recordings; the IMU of the "
                      f"{b.title} samples at {rate:g} Hz, so a {samples}-sample window lasts "
                      f"{samples / rate:.2f} s instead of {samples / trained:.2f} s. Record "
                      f"training data on this board (tinykit capture) for the best accuracy.",
                      stacklevel=3)


# The parts of tinykit's C runtime an app's template can ask for (board.toml
# ``[app_sources]``), and the runtime files each needs beside its generated ones.
_RUNTIME_PARTS = {"audio_frontend": ("tk_frontend.c", "tk_frontend.h", "tk_kernels.h"),
                  "detect": ("tk_detect.c", "tk_detect.h", "tk_kernels.h"),
                  "sample_ring": ("tk_sample_ring.c", "tk_sample_ring.h", "tk_kernels.h")}
_DETECTOR_SETTINGS = ("every", "threshold", "window", "suppress", "ignore", "min_runs",
                      "margin", "thresholds")


def _app_sources(b, app, model, features, labels, extra):
    """The C files the app's parts need (``[app_sources]`` of board.toml) and their
    template values; takes the detector's settings out of ``extra``."""
    from .._resources import runtime_dir
    parts = list(b.extra.get("app_sources", {}).get(app, ()))
    files, values = {}, {}
    for part in parts:
        if part not in _RUNTIME_PARTS:
            raise DeployError(f"{b.folder / 'board.toml'}: [app_sources] {app} names "
                              f"{part!r}; tinykit has {sorted(_RUNTIME_PARTS)}.")
        if part == "audio_frontend":
            from ..features import AudioFeatures
            from .audio_frontend import frontend_sources
            if not isinstance(features, AudioFeatures):
                raise DeployError(f"the {app!r} app of {b.name} computes audio features on "
                                  f"the board: pass features= the AudioFeatures the model "
                                  f"was trained with (got {type(features).__name__}).")
            files.update(frontend_sources(features, model))
        elif part == "detect":
            from .listen import detector_values
            picked = {k: extra.pop(k) for k in _DETECTOR_SETTINGS if k in extra}
            values.update(detector_values(features, labels, **picked))
        files.update({n: (runtime_dir() / n).read_text() for n in _RUNTIME_PARTS[part]})
    return files, values


def generate(model, board="nano33ble", app="gesture", out="build", *, labels, features=None,
             settings=None, name=None) -> Project:
    """Write a ready-to-build project for ``board`` running the int8 model.

    The project folder ``out/<name>/`` holds the app (e.g. ``<name>.ino``) filled from
    the board's template, the files of :func:`export` and ``tinykit.json`` (labels,
    quantization and settings, for the record). The template's values come from the
    model (quantization, measured arena), the board, the labels and the feature
    settings (e.g. ``ImuFeatures``: sensor ranges, samples per gesture, trigger
    threshold); ``settings`` adds or overrides app values. An app whose board.toml
    ``[app_sources]`` names parts of tinykit's C runtime gets their files too: the
    ``keyword`` app the C audio front end for the model
    (:func:`tinykit.deploy.audio_frontend.frontend_sources`), the microphone's ring of
    samples (``tk_sample_ring.c``) and the keyword detector (``tk_detect.c``), whose
    settings ``every``, ``threshold``, ``window``, ``suppress``, ``ignore``, ``min_runs``,
    ``margin`` and ``thresholds`` (see :func:`tinykit.deploy.listen.listen`, same
    defaults) ``settings`` may give.

    Args:
        model: the int8 model (``tinykit.convert.to_int8``; .tflite bytes work too).
        board: a name from ``tinykit.deploy.boards()`` or a Board.
        app: which template of the board (``"gesture"``, ``"keyword"``).
        out: parent folder of the project.
        labels: class names, in output order.
        features: the feature settings the model was trained with.
        settings: extra values the template names (a dict), or the keyword detector's
            saved operating point (``tinykit.streaming.KeywordDetector``, e.g.
            ``load_detector("ds_cnn_detector.json")``): its values fill the detector's
            settings and it is saved in the project beside the model.
        name: project (and sketch) name; default ``f"{app}_{board}"``.

    Returns:
        A :class:`Project`.

    Raises:
        DeployError: unknown board or app, a model too big for the board (its flash,
            arena and ops against the board's, see ``Board.check_fit``), labels that
            do not match the model's outputs, a value the template needs that nothing
            gives, or a setting the template does not use; for the keyword app,
            features that are not AudioFeatures.
        ParameterError: detector settings out of range (see
            :func:`tinykit.deploy.listen.detector_values`), a model whose input is not
            the audio features' int8 shape.

    Example:
        >>> project = generate(tfl, "nano33ble", "gesture", labels=ds.labels,
        ...                    features=tinykit.features.ImuFeatures())  # doctest: +SKIP
        >>> project = generate(tfl, "nano33ble", "keyword", labels=ds.labels,
        ...                    features=settings, settings={"threshold": 0.5})  # doctest: +SKIP
        >>> project = generate(tfl, "nano33ble", "keyword", labels=ds.labels,
        ...                    features=settings, settings={"threshold": 0.5, "min_runs": 2,
        ...                    "margin": 0.2, "thresholds": {"no": 0.7}})  # doctest: +SKIP
    """
    from ..convert import as_model
    model = as_model(model)
    b = get_board(board)
    template = b.template(app)
    labels = _check_labels(model, labels)
    from .tflm import arena_size
    arena = arena_size(model)
    b.check_fit(model.flash_bytes, arena, model.ops)
    name = name or f"{app}_{b.name}"
    folder = Path(out) / name
    text = b.template_text(app)
    tmpl = string.Template(text)
    needed = set(tmpl.get_identifiers())
    values = _template_values(model, b, labels, model.source)
    given = _feature_values(features) if features is not None else {}
    _check_sample_rate(b, features)
    from ..streaming import KeywordDetector
    detector = settings if isinstance(settings, KeywordDetector) else None
    extra = dict(detector.device_options() if detector else settings or {})
    app_files, app_values = _app_sources(b, app, model, features, labels, extra)
    unused = sorted(set(extra) - needed)
    if unused:
        raise DeployError(f"the {app!r} template of {b.name} does not use the setting(s) "
                          f"{unused}; it takes {sorted(needed - set(values))}.")
    given.update(app_values)
    given.update({k: codegen.literal(v) for k, v in extra.items()})
    values.update(given)
    missing = sorted(needed - set(values))
    if missing:
        raise DeployError(f"the {app!r} template of {b.name} ({template.name}) needs "
                          f"{missing}: pass features= (the feature settings the model was "
                          f"trained with) or settings={{{missing[0]!r}: ...}}.")
    main = folder / (f"{name}.ino" if template.name.endswith(".ino.tmpl")
                     else template.name.removesuffix(".tmpl"))
    folder.mkdir(parents=True, exist_ok=True)
    main.write_text(tmpl.substitute(values))
    files = ([main] + export(model, folder, labels=labels, features=features, detector=detector)
             + codegen.write(folder, app_files))
    from .. import __version__
    meta = {"generator": f"tinykit {__version__}", "board": b.name, "app": app,
            "labels": labels, "ops": model.ops, "flash_bytes": model.flash_bytes,
            "arena_bytes": model.arena_bytes, "arena_size": arena,
            "input": vars(model.input) | {"shape": list(model.input.shape)},
            "output": vars(model.output) | {"shape": list(model.output.shape)},
            "values": {k: given[k] for k in sorted(given)}}
    (folder / "tinykit.json").write_text(json.dumps(meta, indent=2) + "\n")
    return Project(path=folder, board=b.name, app=app, files=files + [folder / "tinykit.json"],
                   arena_bytes=arena, flash_bytes=model.flash_bytes)
