"""What the feature-settings classes share: their JSON form (:class:`Settings`), and
the check of a ``settings`` argument. (Reading the JSON back is :mod:`tinykit.features.settings`.)"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import ParameterError

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
