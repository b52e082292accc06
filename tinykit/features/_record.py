"""What the feature-settings classes share: their JSON form (:class:`Settings`), and
the check of a ``settings`` argument. (Reading the JSON back is :mod:`tinykit.features.settings`.)"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import DatasetError, ParameterError

VERSION = 1


class Settings:
    """Base of the feature-settings dataclasses (``AudioFeatures``, ``ImuFeatures``): the
    JSON form that travels beside the model. ``TAG`` names the kind in the file."""

    TAG = ""

    def to_dict(self) -> dict:
        """The settings as plain JSON values, tagged ``{"tinykit": TAG, "version": 1}``."""
        d = {k: list(v) if isinstance(v, tuple) else v
             for k, v in dataclasses.asdict(self).items()}
        return {"tinykit": self.TAG, "version": VERSION, **d}

    def to_json(self) -> str:
        """The settings as JSON text (``tinykit.features.settings_from_json`` reads it)."""
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path) -> Path:
        """Write the settings as JSON, e.g. beside ``model.tflite``; returns the path.

        Example:
            >>> ImuFeatures().save("gesture_features.json")  # doctest: +SKIP
        """
        path = Path(path)
        path.write_text(self.to_json() + "\n")
        return path


def checked(settings, cls):
    """``settings``, or ``cls()`` when it is None; ParameterError for anything else."""
    if settings is None:
        return cls()
    if not isinstance(settings, cls):
        raise ParameterError(f"settings must be a tinykit.features.{cls.__name__}, got "
                             f"{type(settings).__name__}; build one with {cls.__name__}(...) "
                             f"or read the model's with tinykit.features.load_settings(path).")
    return settings


def from_json(text, kinds, what="feature settings", writer="AudioFeatures.save() or "
              "ImuFeatures.save()"):
    """Rebuild a :class:`Settings` dataclass from its JSON text; ``kinds`` maps each
    ``TAG`` to its class. DatasetError for text that is not one of them (``what`` and
    ``writer`` name them in the message)."""
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise DatasetError(f"{what} are not valid JSON: {exc}.") from exc
    tag = d.get("tinykit") if isinstance(d, dict) else None
    if tag not in kinds:
        raise DatasetError(f"this JSON is not tinykit {what} (expected a \"tinykit\" entry "
                           f"of {sorted(kinds)}, found {tag!r}); write it with {writer}.")
    version = d.get("version", VERSION)
    if not isinstance(version, int) or version > VERSION:
        raise DatasetError(f"{what} of version {version!r}; this tinykit reads "
                           f"version {VERSION}. Update tinykit.")
    cls = kinds[tag]
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


def from_file(path, kinds, what="feature settings", writer="settings.save(path)"):
    """:func:`from_json` of a file; DatasetError naming the file when it is missing or wrong."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such {what.replace(' ', '-')} file; write one with "
                           f"{writer}.")
    try:
        return from_json(path.read_text(), kinds, what, writer)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None
