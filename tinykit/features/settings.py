"""Reading feature settings back: one loader for :class:`AudioFeatures` and
:class:`ImuFeatures`, which write JSON tagged with their kind::

    settings.save("model_features.json")            # beside the model
    settings = load_settings("model_features.json")  # AudioFeatures or ImuFeatures
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import DatasetError, ParameterError
from .audio import AudioFeatures
from .imu import ImuFeatures

_KINDS = {"audio_features": AudioFeatures, "imu_features": ImuFeatures}
_VERSION = 1


def settings_from_json(text):
    """Rebuild settings from the text of :meth:`AudioFeatures.to_json` or
    :meth:`ImuFeatures.to_json`.

    Args:
        text: JSON text with a ``"tinykit": "audio_features"`` or ``"imu_features"`` entry.

    Returns:
        :class:`AudioFeatures` or :class:`ImuFeatures`, as the text says.

    Raises:
        DatasetError: not JSON, not tinykit feature settings, entries this version does
            not know, or values the settings class rejects.

    Example:
        >>> s = AudioFeatures(kind="log_mel")
        >>> settings_from_json(s.to_json()) == s
        True
        >>> settings_from_json(ImuFeatures(samples=60).to_json()).shape
        (60, 6)
    """
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise DatasetError(f"feature settings are not valid JSON: {exc}.") from exc
    tag = d.get("tinykit") if isinstance(d, dict) else None
    if tag not in _KINDS:
        raise DatasetError(f"this JSON is not tinykit feature settings (expected a "
                           f"\"tinykit\" entry of {sorted(_KINDS)}, found {tag!r}); write it "
                           f"with AudioFeatures.save() or ImuFeatures.save().")
    version = d.get("version", _VERSION)
    if not isinstance(version, int) or version > _VERSION:
        raise DatasetError(f"feature settings of version {version!r}; this tinykit reads "
                           f"version {_VERSION}. Update tinykit.")
    cls = _KINDS[tag]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields) - {"tinykit", "version"})
    if unknown:
        raise DatasetError(f"{tag} settings have unknown entries {unknown}; written by a "
                           f"newer tinykit?")
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in fields}
    try:
        return cls(**values)
    except (ParameterError, TypeError) as exc:
        raise DatasetError(f"{tag} settings hold values {cls.__name__} rejects: {exc}") from None


def load_settings(path):
    """Read settings written by :meth:`AudioFeatures.save` or :meth:`ImuFeatures.save`.

    Args:
        path: the JSON file (e.g. ``ds_cnn_features.json`` beside the model).

    Returns:
        :class:`AudioFeatures` or :class:`ImuFeatures`, as the file says.

    Raises:
        DatasetError: no such file, or its text is not feature settings
            (see :func:`settings_from_json`).

    Example:
        >>> settings = load_settings("kws_features.json")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such feature-settings file; write one with "
                           f"settings.save(path).")
    try:
        return settings_from_json(path.read_text())
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None
