"""Audio features with librosa: log-mel spectrograms and MFCC for keyword spotting.

    settings = AudioFeatures()                      # MFCC 49x10: 40 ms window, 20 ms stride
    x = mfcc(clips, settings)                       # (n, 49, 10) float32
    settings = fit_normalization(x, settings)       # per-coefficient mean/std from train
    x = normalize(x, settings)
    settings.save("model_features.json")            # beside the model; load_settings() reads it
    header = c_tables(settings)                     # window, mel filterbank, DCT as C constants

Augmentation (noise, shift, SpecAugment) lives in ``audio_augment`` and is re-exported here.

Frames follow TensorFlow's ``audio_spectrogram`` (and Hello Edge / MLPerf Tiny):
a 640-sample Hann window every 320 samples, zero-padded to a 1024-point FFT, so a
1 s clip gives 1 + (16000 - 640) // 320 = 49 frames. The magnitude of a DFT does not
depend on where the zero padding goes, so the device can put the 640 windowed
samples at the start of its 1024-sample FFT buffer.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .audio_augment import kws_augment, mix_noise, spec_augment, time_shift  # noqa: F401 (re-exported)

_CHUNK = 256  # clips per STFT batch: bounds memory (256 x 513 x 49 complex64 = 26 MB)


@dataclass(frozen=True)
class AudioFeatures:
    """Settings of the audio front end: saved beside a trained model, used on device.

    Attributes:
        kind: "mfcc" (``n_mfcc`` coefficients per frame) or "log_mel" (``n_mels``).
        sample_rate: Hz.
        clip_seconds: clip length the model sees.
        window_ms, stride_ms: frame length and hop, milliseconds.
        n_fft: FFT size (>= the window; the window is zero-padded to it).
        n_mels: mel bands (Slaney mel scale and area normalisation, librosa's default).
        fmin, fmax: edges of the mel filterbank, Hz.
        n_mfcc: DCT-II (orthonormal) coefficients kept, for ``kind="mfcc"``.
        amin: floor of the mel power before ``10 * log10``.
        mean, std: per-coefficient normalisation (see :func:`fit_normalization`), or None.

    Example:
        >>> s = AudioFeatures()
        >>> s.shape, s.window_samples, s.stride_samples
        ((49, 10), 640, 320)
        >>> AudioFeatures(kind="log_mel").shape
        (49, 40)
    """
    kind: str = "mfcc"
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    window_ms: float = 40.0
    stride_ms: float = 20.0
    n_fft: int = 1024
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float = 4000.0
    n_mfcc: int = 10
    amin: float = 1e-10
    mean: tuple | None = None
    std: tuple | None = None

    def __post_init__(self):
        if self.kind not in ("mfcc", "log_mel"):
            raise DatasetError(f"kind must be 'mfcc' or 'log_mel', got {self.kind!r}.")
        if self.window_samples < 2 or self.stride_samples < 1:
            raise DatasetError(f"window_ms={self.window_ms} and stride_ms={self.stride_ms} "
                               f"give {self.window_samples} and {self.stride_samples} samples; "
                               f"both must be positive.")
        if self.n_fft < self.window_samples:
            raise DatasetError(f"n_fft={self.n_fft} is shorter than the window "
                               f"({self.window_samples} samples); use n_fft >= the window, "
                               f"e.g. the next power of two.")
        if self.clip_samples < self.window_samples:
            raise DatasetError(f"a clip of {self.clip_seconds} s is shorter than one window.")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise DatasetError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                               f"fmax={self.fmax}, sample_rate={self.sample_rate}.")
        if self.kind == "mfcc" and not 1 <= self.n_mfcc <= self.n_mels:
            raise DatasetError(f"n_mfcc must be in [1, n_mels={self.n_mels}], got {self.n_mfcc}.")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None:
                v = tuple(float(a) for a in np.ravel(v))
                if len(v) != self.shape[1]:
                    raise DatasetError(f"{name} has {len(v)} values; expected one per "
                                       f"coefficient ({self.shape[1]}).")
                object.__setattr__(self, name, v)
        if (self.mean is None) != (self.std is None):
            raise DatasetError("give both mean and std, or neither.")
        if self.std is not None and min(self.std) <= 0:
            raise DatasetError("std values must be positive.")

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def window_samples(self) -> int:
        return int(round(self.window_ms * self.sample_rate / 1000))

    @property
    def stride_samples(self) -> int:
        return int(round(self.stride_ms * self.sample_rate / 1000))

    @property
    def num_frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.stride_samples

    @property
    def num_coefficients(self) -> int:
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def shape(self) -> tuple:
        """(frames, coefficients) of one clip's features."""
        return (self.num_frames, self.num_coefficients)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("mean", "std"):
            d[k] = list(d[k]) if d[k] is not None else None
        return {"tinykit": "audio_features", "version": 1, **d}

    def to_json(self) -> str:
        """The settings as JSON text (see :func:`settings_from_json`)."""
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path) -> Path:
        """Write the settings as JSON, e.g. beside ``model.tflite``.

        Example:
            >>> AudioFeatures().save("kws_features.json")  # doctest: +SKIP
        """
        path = Path(path)
        path.write_text(self.to_json() + "\n")
        return path


def settings_from_json(text) -> AudioFeatures:
    """Rebuild :class:`AudioFeatures` from :meth:`AudioFeatures.to_json` text.

    Example:
        >>> s = AudioFeatures(kind="log_mel")
        >>> settings_from_json(s.to_json()) == s
        True
    """
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"feature settings are not valid JSON: {exc}.") from exc
    if not isinstance(d, dict) or d.get("tinykit") != "audio_features":
        raise DatasetError("this JSON is not tinykit audio feature settings (no "
                           "\"tinykit\": \"audio_features\" entry); write it with "
                           "AudioFeatures.save().")
    fields = {f.name for f in dataclasses.fields(AudioFeatures)}
    unknown = sorted(set(d) - fields - {"tinykit", "version"})
    if unknown:
        raise DatasetError(f"feature settings have unknown entries {unknown}; written by a "
                           f"newer tinykit?")
    for k in ("mean", "std"):
        if d.get(k) is not None:
            d[k] = tuple(d[k])
    return AudioFeatures(**{k: v for k, v in d.items() if k in fields})


def load_settings(path) -> AudioFeatures:
    """Read settings written by :meth:`AudioFeatures.save`.

    Example:
        >>> settings = load_settings("kws_features.json")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such feature-settings file.")
    try:
        return settings_from_json(path.read_text())
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None


def _settings(settings, kind=None, **overrides) -> AudioFeatures:
    if settings is None:
        settings = AudioFeatures()
    if not isinstance(settings, AudioFeatures):
        raise DatasetError(f"settings must be an AudioFeatures, got {type(settings).__name__}.")
    if kind is not None and settings.kind != kind:
        overrides.setdefault("kind", kind)
        overrides.setdefault("mean", None)
        overrides.setdefault("std", None)
    return dataclasses.replace(settings, **overrides) if overrides else settings


def _clips(clips, settings):
    x = np.asarray(clips, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise DatasetError(f"expected clips as a (n, samples) array, got shape {x.shape}.")
    if x.shape[1] != settings.clip_samples:
        raise DatasetError(f"clips have {x.shape[1]} samples; these settings expect "
                           f"{settings.clip_samples} ({settings.clip_seconds} s at "
                           f"{settings.sample_rate} Hz). Read them with read_wav/read_wavs, "
                           f"which pad or trim to 1 s.")
    return x


def mel_filterbank(settings=None) -> np.ndarray:
    """The (n_mels, n_fft // 2 + 1) mel filterbank, from :func:`librosa.filters.mel`."""
    import librosa
    s = _settings(settings)
    return librosa.filters.mel(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels,
                               fmin=s.fmin, fmax=s.fmax).astype(np.float32)


def dct_matrix(settings=None) -> np.ndarray:
    """The (n_mfcc, n_mels) orthonormal DCT-II matrix: ``mfcc = dct @ log_mel``."""
    import scipy.fft
    s = _settings(settings)
    return scipy.fft.dct(np.eye(s.n_mels), type=2, norm="ortho", axis=0)[:s.n_mfcc].astype(np.float32)


def window(settings=None) -> np.ndarray:
    """The analysis window: periodic Hann of ``window_samples`` (librosa's "hann")."""
    import scipy.signal
    s = _settings(settings)
    return scipy.signal.get_window("hann", s.window_samples, fftbins=True).astype(np.float32)


def _padded(x, s):
    left = (s.n_fft - s.window_samples) // 2
    right = s.n_fft - s.window_samples - left
    return np.pad(x, ((0, 0), (left, right)))


def _power(x, s):
    """Power spectrogram (n, frames, bins) of clips x (n, samples), via librosa.stft."""
    import librosa
    out = np.empty((len(x), s.num_frames, s.n_fft // 2 + 1), np.float32)
    for i in range(0, len(x), _CHUNK):
        spec = librosa.stft(_padded(x[i:i + _CHUNK], s), n_fft=s.n_fft,
                            hop_length=s.stride_samples, win_length=s.window_samples,
                            window="hann", center=False)
        out[i:i + _CHUNK] = np.swapaxes(np.abs(spec) ** 2, 1, 2)[:, :s.num_frames]
    return out


def _log_mel(x, s):
    mel = _power(x, s) @ mel_filterbank(s).T  # (n, frames, n_mels)
    return (10.0 * np.log10(np.maximum(mel, s.amin))).astype(np.float32)


def log_mel(clips, settings=None, normalized=True) -> np.ndarray:
    """Log-mel spectrograms: (n, 49, 40) float32 in dB for 1 s clips with the defaults.

    ``10 * log10(max(mel power, amin))`` of each frame's mel band energies, the same
    as ``librosa.power_to_db(librosa.feature.melspectrogram(...), top_db=None)``.

    Args:
        clips: (n, samples) or (samples,) float32 audio at ``settings.sample_rate``.
        settings: :class:`AudioFeatures`; its kind is taken as "log_mel" (default
            ``AudioFeatures(kind="log_mel")``).
        normalized: apply the settings' mean/std when they hold them.

    Raises:
        DatasetError: clips of the wrong length or shape.

    Example:
        >>> x = log_mel(np.zeros((2, 16000), np.float32))
        >>> x.shape
        (2, 49, 40)
    """
    s = _settings(settings, "log_mel")
    out = _log_mel(_clips(clips, s), s)
    return normalize(out, s) if normalized and s.mean is not None else out


def mfcc(clips, settings=None, normalized=True) -> np.ndarray:
    """MFCC: (n, 49, 10) float32 for 1 s clips with the defaults (Hello Edge's front end).

    The orthonormal DCT-II of :func:`log_mel`'s dB values, keeping ``n_mfcc``
    coefficients (what ``librosa.feature.mfcc(S=log_mel_db, n_mfcc=10)`` gives).

    Args:
        clips: (n, samples) or (samples,) float32 audio.
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``, kind "mfcc").
        normalized: apply the settings' mean/std when they hold them.

    Example:
        >>> x = mfcc(np.zeros((2, 16000), np.float32))
        >>> x.shape
        (2, 49, 10)
    """
    s = _settings(settings, "mfcc")
    lm = _log_mel(_clips(clips, s), s)
    out = (lm @ dct_matrix(s).T).astype(np.float32)
    return normalize(out, s) if normalized and s.mean is not None else out


def extract(clips, settings=None, normalized=True) -> np.ndarray:
    """Features of the settings' kind: :func:`mfcc` or :func:`log_mel`.

    Example:
        >>> extract(np.zeros((1, 16000), np.float32), AudioFeatures(kind="log_mel")).shape
        (1, 49, 40)
    """
    s = _settings(settings)
    return (mfcc if s.kind == "mfcc" else log_mel)(clips, s, normalized)


def fit_normalization(features, settings) -> AudioFeatures:
    """Settings holding the per-coefficient mean and std of (training) features.

    Example:
        >>> x = mfcc(clips_train)  # doctest: +SKIP
        >>> settings = fit_normalization(x, AudioFeatures())  # doctest: +SKIP
        >>> x = normalize(x, settings)  # doctest: +SKIP
    """
    s = _settings(settings)
    x = np.asarray(features, np.float64)
    if x.ndim != 3 or x.shape[1:] != s.shape:
        raise DatasetError(f"expected features of shape (n, {s.shape[0]}, {s.shape[1]}) for "
                           f"these settings, got {x.shape}.")
    mean = x.mean(axis=(0, 1))
    std = np.maximum(x.std(axis=(0, 1)), 1e-3)
    return dataclasses.replace(s, mean=tuple(mean.tolist()), std=tuple(std.tolist()))


def normalize(features, settings) -> np.ndarray:
    """``(features - mean) / std`` per coefficient, with the settings' statistics."""
    s = _settings(settings)
    if s.mean is None:
        raise DatasetError("these settings hold no mean/std; call fit_normalization(x_train, "
                           "settings) first.")
    x = np.asarray(features, np.float32)
    return ((x - np.asarray(s.mean, np.float32)) / np.asarray(s.std, np.float32)).astype(np.float32)


def _sparse_filterbank(s):
    fb = mel_filterbank(s)
    starts, lengths, weights = [], [], []
    for band in fb:
        nz = np.flatnonzero(band > 0)
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        starts.append(lo)
        lengths.append(hi - lo)
        weights.extend(band[lo:hi].tolist())
    return (np.asarray(starts, np.int32), np.asarray(lengths, np.int32),
            np.asarray(weights, np.float32))


def _c_floats(values, per_line=8):
    vals = [f"{float(v):.9g}f".replace("inff", "INFINITY") for v in np.ravel(values)]
    for i, v in enumerate(vals):
        if "." not in v and "e" not in v:
            vals[i] = v[:-1] + ".0f"
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return "    " + ",\n    ".join(lines)


def _c_ints(values, per_line=12):
    vals = [str(int(v)) for v in np.ravel(values)]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return "    " + ",\n    ".join(lines)


def c_tables(settings=None, prefix="tk") -> str:
    """The feature front end's constants as a C header, for on-device feature code.

    Holds the frame geometry, the Hann window, the mel filterbank in sparse form
    (for band ``m``: weights ``mel_weights[offset_m .. offset_m + mel_length[m])`` apply to
    FFT bins ``mel_start[m] ..``, where ``offset_m`` is the sum of earlier lengths),
    the DCT-II matrix (MFCC) and the normalisation, if any. The device computes::

        power[k] = |rfft(window * frame, n_fft)[k]|^2
        mel[m]   = sum_j weights[offset_m + j] * power[mel_start[m] + j]
        logmel[m] = 10 * log10(max(mel[m], amin))
        mfcc[c]  = sum_m dct[c][m] * logmel[m]
        feature  = (value - mean[c]) / std[c]

    Args:
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).
        prefix: prefix of the C names (``tk_window``, ``TK_NUM_FRAMES``...).

    Returns:
        The header text, starting with a "generated by tinykit ... do not edit" comment.

    Example:
        >>> text = c_tables(AudioFeatures())
        >>> text.splitlines()[0].startswith("// Generated by tinykit")
        True
    """
    from .. import __version__
    s = _settings(settings)
    P, p = prefix.upper(), prefix.lower()
    starts, lengths, weights = _sparse_filterbank(s)
    desc = ", ".join(f"{f.name}={getattr(s, f.name)!r}" for f in dataclasses.fields(s)
                     if f.name not in ("mean", "std"))
    guard = f"{P}_AUDIO_FEATURES_H_"
    out = [
        f"// Generated by tinykit {__version__} (tinykit.features.c_tables) from",
        f"// AudioFeatures({desc}).",
        "// Do not edit: change the settings in Python and generate this file again.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        f"#define {P}_FEATURE_KIND_{s.kind.upper()} 1",
        f"#define {P}_SAMPLE_RATE {s.sample_rate}",
        f"#define {P}_CLIP_SAMPLES {s.clip_samples}",
        f"#define {P}_WINDOW_SAMPLES {s.window_samples}",
        f"#define {P}_STRIDE_SAMPLES {s.stride_samples}",
        f"#define {P}_FFT_SIZE {s.n_fft}",
        f"#define {P}_NUM_BINS {s.n_fft // 2 + 1}",
        f"#define {P}_NUM_FRAMES {s.num_frames}",
        f"#define {P}_NUM_MELS {s.n_mels}",
        f"#define {P}_NUM_MFCC {s.n_mfcc}",
        f"#define {P}_NUM_FEATURES {s.num_coefficients}",
        f"#define {P}_MEL_WEIGHTS {len(weights)}",
        f"#define {P}_LOG_AMIN {s.amin!r}f",
        f"#define {P}_NORMALIZED {0 if s.mean is None else 1}",
        "",
        "// Periodic Hann window applied to each frame before the FFT.",
        f"static const float {p}_window[{P}_WINDOW_SAMPLES] = {{",
        _c_floats(window(s)),
        "};",
        "",
        "// Mel filterbank (Slaney scale and norm, librosa.filters.mel), sparse by band.",
        f"static const int16_t {p}_mel_start[{P}_NUM_MELS] = {{",
        _c_ints(starts),
        "};",
        f"static const int16_t {p}_mel_length[{P}_NUM_MELS] = {{",
        _c_ints(lengths),
        "};",
        f"static const float {p}_mel_weights[{P}_MEL_WEIGHTS] = {{",
        _c_floats(weights),
        "};",
    ]
    if s.kind == "mfcc":
        out += ["",
                "// Orthonormal DCT-II, row c gives MFCC c from the log-mel bands.",
                f"static const float {p}_dct[{P}_NUM_MFCC][{P}_NUM_MELS] = {{"]
        out += ["  {\n" + _c_floats(row) + "\n  }," for row in dct_matrix(s)]
        out += ["};"]
    if s.mean is not None:
        out += ["",
                "// Normalisation: feature = (value - mean) / std, per coefficient.",
                f"static const float {p}_mean[{P}_NUM_FEATURES] = {{",
                _c_floats(s.mean), "};",
                f"static const float {p}_std[{P}_NUM_FEATURES] = {{",
                _c_floats(s.std), "};"]
    out += ["", f"#endif  // {guard}", ""]
    return "\n".join(out)


def write_c_tables(path, settings=None, prefix="tk") -> Path:
    """Write :func:`c_tables` to ``path`` (e.g. ``audio_features.h``)."""
    path = Path(path)
    path.write_text(c_tables(settings, prefix))
    return path
