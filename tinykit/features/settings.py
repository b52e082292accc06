"""Reading feature settings back: one loader for :class:`AudioFeatures` and
:class:`ImuFeatures`, which write JSON tagged with their kind::

    settings.save("model_features.json")            # beside the model
    settings = load_settings("model_features.json")  # AudioFeatures or ImuFeatures
"""
from __future__ import annotations

from . import _record
from .audio import AudioFeatures
from .imu import ImuFeatures

_KINDS = {"audio_features": AudioFeatures, "imu_features": ImuFeatures}


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
    return _record.from_json(text, _KINDS)


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
    return _record.from_file(path, _KINDS, writer="settings.save(path)")
