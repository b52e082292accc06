"""Audio features with librosa: log-mel spectrograms and MFCC for keyword spotting.

    settings = AudioFeatures()                      # MFCC 49x10: 40 ms window, 20 ms stride
    x = mfcc(clips, settings)                       # (n, 49, 10) float32
    settings = fit_normalization(x, settings)       # per-coefficient mean/std from train
    x = audio_normalize(x, settings)
    settings.save("model_features.json")            # beside the model; load_settings() reads it

The numeric tables of the front end (:func:`window`, :func:`mel_filterbank`,
:func:`sparse_mel_filterbank`, :func:`dct_matrix`) are plain functions too;
``tinykit.deploy.audio_frontend`` writes them as a C header for on-device code.
Augmentation (noise, shift, SpecAugment) lives in :mod:`tinykit.features.augment`.

Frames follow TensorFlow's ``audio_spectrogram`` (and Hello Edge / MLPerf Tiny):
a 640-sample Hann window every 320 samples, zero-padded to a 1024-point FFT, so a
1 s clip gives 1 + (16000 - 640) // 320 = 49 frames. The magnitude of a DFT does not
depend on where the zero padding goes, so the device can put the 640 windowed
samples at the start of its 1024-sample FFT buffer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError, ParameterError
from . import _record

_CHUNK = 256  # clips per STFT batch: bounds memory (256 x 513 x 49 complex64 = 26 MB)


@dataclass(frozen=True)
class AudioFeatures(_record.Settings):
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
        amin: floor of the mel power before ``10 * log10``: 1e-8 (-80 dB; white noise of
            one least significant bit rms of 16-bit audio gives -79 dB). Speech Commands
            pads short recordings with exact zeros, which no microphone gives; at
            librosa's floor (1e-10, -100 dB) those frames sat below even 16-bit
            rounding noise. On 5 speaker-grouped folds, three cuts: +0.6, +0.8, +0.7
            points of int8 accuracy over 1e-10 (the padded clips 64-69% right ->
            71-73%), keyword streams unchanged on the whole (bench/kws.md).
        mean, std: per-coefficient normalisation (see :func:`fit_normalization`), or None.

    Raises:
        ParameterError: a value the front end cannot use (unknown kind, FFT shorter
            than the window, filterbank edges outside [0, sample_rate/2] ...).

    Example:
        >>> s = AudioFeatures()
        >>> s.shape, s.window_samples, s.stride_samples
        ((49, 10), 640, 320)
        >>> AudioFeatures(kind="log_mel").shape
        (49, 40)
    """

    TAG = "audio_features"

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
    amin: float = 1e-8
    mean: tuple | None = None
    std: tuple | None = None

    def __post_init__(self):
        if self.kind not in ("mfcc", "log_mel"):
            raise ParameterError(f"kind must be 'mfcc' or 'log_mel', got {self.kind!r}.")
        if not self.sample_rate > 0:
            raise ParameterError(f"sample_rate must be positive (Hz), got {self.sample_rate!r}.")
        if self.window_samples < 2 or self.stride_samples < 1:
            raise ParameterError(f"window_ms={self.window_ms} and stride_ms={self.stride_ms} "
                                 f"give {self.window_samples} and {self.stride_samples} "
                                 f"samples; use at least 2 and 1 samples.")
        if self.n_fft < self.window_samples:
            raise ParameterError(f"n_fft={self.n_fft} is shorter than the window "
                                 f"({self.window_samples} samples); use n_fft >= the window, "
                                 f"e.g. the next power of two.")
        if self.clip_samples < self.window_samples:
            raise ParameterError(f"a clip of {self.clip_seconds} s is shorter than one window "
                                 f"({self.window_ms} ms); use a longer clip_seconds.")
        if not self.n_mels >= 1:
            raise ParameterError(f"n_mels must be at least 1, got {self.n_mels!r}.")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ParameterError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                                 f"fmax={self.fmax}, sample_rate={self.sample_rate}.")
        if self.kind == "mfcc" and not 1 <= self.n_mfcc <= self.n_mels:
            raise ParameterError(f"n_mfcc must be in [1, n_mels={self.n_mels}], got "
                                 f"{self.n_mfcc}.")
        if not self.amin > 0:
            raise ParameterError(f"amin must be positive (the floor before log10), got "
                                 f"{self.amin!r}.")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None:
                v = tuple(float(a) for a in np.ravel(v))
                if len(v) != self.shape[1]:
                    raise ParameterError(f"{name} has {len(v)} values; expected one per "
                                         f"coefficient ({self.shape[1]}).")
                object.__setattr__(self, name, v)
        if (self.mean is None) != (self.std is None):
            raise ParameterError("give both mean and std, or neither.")
        if self.std is not None and min(self.std) <= 0:
            raise ParameterError(f"std values must be positive, got min {min(self.std)}.")

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


def _settings(settings, kind=None, **overrides) -> AudioFeatures:
    settings = _record.checked(settings, AudioFeatures)
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


def mel_filterbank(settings=None, *, warp=1.0) -> np.ndarray:
    """The mel filterbank, from :func:`librosa.filters.mel`.

    Args:
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).
        warp: every filter stretched along frequency by this factor (1.3: a filter
            at 1 kHz moves to 1.3 kHz), so that a voice whose formants sit that much
            higher gives what the plain bank gives the plain voice. For augmentation
            only (vocal tract length perturbation; ``audio_augment``'s ``warp``);
            boards use 1.

    Returns:
        float32 array (n_mels, n_fft // 2 + 1): ``mel = filterbank @ power``.

    Raises:
        ParameterError: ``settings`` is not an :class:`AudioFeatures`, or ``warp`` is
            not a positive number.

    Example:
        >>> mel_filterbank().shape
        (40, 513)
        >>> int(mel_filterbank(warp=1.1)[10].argmax()) > int(mel_filterbank()[10].argmax())
        True
    """
    import librosa
    s = _settings(settings)
    fb = librosa.filters.mel(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels,
                             fmin=s.fmin, fmax=s.fmax).astype(np.float32)
    if isinstance(warp, bool) or not isinstance(warp, (int, float)) or not warp > 0:
        raise ParameterError(f"warp={warp!r}: give the filters' stretch along frequency, a "
                             f"positive number (1: none).")
    if warp == 1:
        return fb
    bins = np.arange(fb.shape[1], dtype=np.float64)
    return np.stack([np.interp(bins / warp, bins, row, left=0.0, right=0.0)
                     for row in fb]).astype(np.float32)


def sparse_mel_filterbank(settings=None) -> tuple:
    """The mel filterbank without its zeros, the form on-device code uses.

    Band ``m`` has ``lengths[m]`` weights, ``weights[offset_m : offset_m + lengths[m]]``
    where ``offset_m = sum(lengths[:m])``, which apply to the FFT bins
    ``starts[m] .. starts[m] + lengths[m] - 1``.

    Args:
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).

    Returns:
        ``(starts, lengths, weights)``: int32 (n_mels,), int32 (n_mels,), float32 (total,).

    Raises:
        ParameterError: ``settings`` is not an :class:`AudioFeatures`.

    Example:
        >>> starts, lengths, weights = sparse_mel_filterbank()
        >>> len(starts), int(lengths.sum()) == len(weights)
        (40, True)
    """
    fb = mel_filterbank(settings)
    starts, lengths, weights = [], [], []
    for band in fb:
        nz = np.flatnonzero(band > 0)
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        starts.append(lo)
        lengths.append(hi - lo)
        weights.extend(band[lo:hi].tolist())
    return (np.asarray(starts, np.int32), np.asarray(lengths, np.int32),
            np.asarray(weights, np.float32))


def dct_matrix(settings=None) -> np.ndarray:
    """The orthonormal DCT-II matrix that turns log-mel bands into MFCC.

    Args:
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).

    Returns:
        float32 array (n_mfcc, n_mels): ``mfcc = dct @ log_mel``.

    Raises:
        ParameterError: ``settings`` is not an :class:`AudioFeatures`.

    Example:
        >>> dct_matrix().shape
        (10, 40)
    """
    import scipy.fft
    s = _settings(settings)
    dct = scipy.fft.dct(np.eye(s.n_mels), type=2, norm="ortho", axis=0)
    return dct[:s.n_mfcc].astype(np.float32)


def window(settings=None) -> np.ndarray:
    """The analysis window: periodic Hann of ``window_samples`` (librosa's "hann").

    Args:
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).

    Returns:
        float32 array (window_samples,).

    Raises:
        ParameterError: ``settings`` is not an :class:`AudioFeatures`.

    Example:
        >>> window().shape
        (640,)
    """
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


def _db(mel, s):
    """The front end's log: ``10 * log10(max(mel power, s.amin))``, float32."""
    return (10.0 * np.log10(np.maximum(mel, s.amin))).astype(np.float32)


def _log_mel(x, s, warp=None):
    """Log-mel dB (n, frames, n_mels) of clips x; ``warp``: None, or one stretch of the
    mel filters (:func:`mel_filterbank`) per clip."""
    power = _power(x, s)
    if warp is None:
        mel = power @ mel_filterbank(s).T
    else:
        warp = np.asarray(warp, np.float64)
        if warp.shape != (len(x),):
            raise ParameterError(f"warp must hold one stretch per clip ({len(x)}), got shape "
                                 f"{warp.shape}.")
        mel = np.empty(power.shape[:2] + (s.n_mels,), np.float32)
        for w in np.unique(warp):
            rows = warp == w
            mel[rows] = power[rows] @ mel_filterbank(s, warp=float(w)).T
    return _db(mel, s)


def log_mel(clips, settings=None, *, normalized=True, warp=None) -> np.ndarray:
    """Log-mel spectrograms: (n, 49, 40) float32 in dB for 1 s clips with the defaults.

    ``10 * log10(max(mel power, amin))`` of each frame's mel band energies, the same
    as ``librosa.power_to_db(librosa.feature.melspectrogram(...), amin=settings.amin,
    top_db=None)``.

    Args:
        clips: (n, samples) or (samples,) float32 audio at ``settings.sample_rate``.
        settings: :class:`AudioFeatures`; its kind is taken as "log_mel" (default
            ``AudioFeatures(kind="log_mel")``).
        normalized: apply the settings' mean/std when they hold them.
        warp: None, or for each clip a stretch of the mel filters (augmentation; see
            :func:`mel_filterbank`).

    Returns:
        float32 array (n, frames, n_mels).

    Raises:
        DatasetError: clips of the wrong length or shape.
        ParameterError: ``settings`` is not an :class:`AudioFeatures`, or ``warp`` is not
            one positive number per clip.

    Example:
        >>> x = log_mel(np.zeros((2, 16000), np.float32))
        >>> x.shape
        (2, 49, 40)
    """
    s = _settings(settings, "log_mel")
    out = _log_mel(_clips(clips, s), s, warp)
    return audio_normalize(out, s) if normalized and s.mean is not None else out


def mfcc(clips, settings=None, *, normalized=True, warp=None) -> np.ndarray:
    """MFCC: (n, 49, 10) float32 for 1 s clips with the defaults (Hello Edge's front end).

    The orthonormal DCT-II of :func:`log_mel`'s dB values, keeping ``n_mfcc``
    coefficients (what ``librosa.feature.mfcc(S=log_mel_db, n_mfcc=10)`` gives).

    Args:
        clips: (n, samples) or (samples,) float32 audio.
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``, kind "mfcc").
        normalized: apply the settings' mean/std when they hold them.
        warp: None, or for each clip a stretch of the mel filters (augmentation; see
            :func:`mel_filterbank`).

    Returns:
        float32 array (n, frames, n_mfcc).

    Raises:
        DatasetError: clips of the wrong length or shape.
        ParameterError: ``settings`` is not an :class:`AudioFeatures`, or ``warp`` is not
            one positive number per clip.

    Example:
        >>> x = mfcc(np.zeros((2, 16000), np.float32))
        >>> x.shape
        (2, 49, 10)
    """
    s = _settings(settings, "mfcc")
    lm = _log_mel(_clips(clips, s), s, warp)
    out = (lm @ dct_matrix(s).T).astype(np.float32)
    return audio_normalize(out, s) if normalized and s.mean is not None else out


def extract(clips, settings=None, *, normalized=True, warp=None) -> np.ndarray:
    """Features of the settings' kind: :func:`mfcc` or :func:`log_mel`.

    Args:
        clips: (n, samples) or (samples,) float32 audio.
        settings: :class:`AudioFeatures` (default ``AudioFeatures()``).
        normalized: apply the settings' mean/std when they hold them.
        warp: None, or for each clip a stretch of the mel filters (augmentation; see
            :func:`mel_filterbank`).

    Returns:
        float32 array (n, *settings.shape).

    Raises:
        DatasetError: clips of the wrong length or shape.
        ParameterError: ``settings`` is not an :class:`AudioFeatures`, or ``warp`` is not
            one positive number per clip.

    Example:
        >>> extract(np.zeros((1, 16000), np.float32), AudioFeatures(kind="log_mel")).shape
        (1, 49, 40)
    """
    s = _settings(settings)
    return (mfcc if s.kind == "mfcc" else log_mel)(clips, s, normalized=normalized, warp=warp)


def fit_normalization(features, settings=None) -> AudioFeatures:
    """Settings holding the per-coefficient mean and std of (training) features.

    Args:
        features: (n, frames, coefficients) features of ``settings``, not normalised
            (``extract(clips, settings, normalized=False)``).
        settings: :class:`AudioFeatures` the features were computed with (default
            ``AudioFeatures()``).

    Returns:
        A copy of ``settings`` with ``mean`` and ``std`` (std floored at 1e-3).

    Raises:
        DatasetError: the features do not have the settings' shape.
        ParameterError: ``settings`` is not an :class:`AudioFeatures`.

    Example:
        >>> x = mfcc(np.random.default_rng(0).normal(0, 0.1, (4, 16000)))
        >>> fit_normalization(x, AudioFeatures()).mean is not None
        True
    """
    s = _settings(settings)
    x = np.asarray(features, np.float64)
    if x.ndim != 3 or x.shape[1:] != s.shape:
        raise DatasetError(f"expected features of shape (n, {s.shape[0]}, {s.shape[1]}) for "
                           f"these settings, got {x.shape}; compute them with "
                           f"extract(clips, settings, normalized=False).")
    mean = x.mean(axis=(0, 1))
    std = np.maximum(x.std(axis=(0, 1)), 1e-3)
    return dataclasses.replace(s, mean=tuple(mean.tolist()), std=tuple(std.tolist()))


def audio_normalize(features, settings) -> np.ndarray:
    """``(features - mean) / std`` per coefficient, with the settings' statistics.

    Args:
        features: (..., coefficients) features computed with ``settings``.
        settings: :class:`AudioFeatures` holding mean and std (:func:`fit_normalization`).

    Returns:
        float32 array of the same shape.

    Raises:
        ParameterError: the settings hold no mean/std, or are not an :class:`AudioFeatures`.
        DatasetError: the last axis is not one value per coefficient.

    Example:
        >>> s = AudioFeatures(mean=(1.0,) * 10, std=(2.0,) * 10)
        >>> float(audio_normalize(np.full((1, 49, 10), 3.0), s)[0, 0, 0])
        1.0
    """
    s = _settings(settings)
    if s.mean is None:
        raise ParameterError("these settings hold no mean/std; call fit_normalization(x_train, "
                             "settings) first and pass the settings it returns.")
    x = np.asarray(features, np.float32)
    if x.ndim == 0 or x.shape[-1] != len(s.mean):
        raise DatasetError(f"features of shape {x.shape} do not have {len(s.mean)} "
                           f"coefficients in the last axis, as these settings do.")
    return ((x - np.asarray(s.mean, np.float32)) / np.asarray(s.std, np.float32)).astype(np.float32)
