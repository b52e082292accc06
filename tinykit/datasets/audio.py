"""Audio in: read WAV files as 1 s mono float32 clips at 16 kHz.

``read_wav`` reads one file (soundfile), mixes it to mono, resamples it with
librosa when its rate differs and pads or trims it to a fixed length. Anything that
cannot be read as audio raises :class:`~tinykit.errors.DatasetError` naming the
file. ``read_wavs`` reads many files, reports and skips the bad ones.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DatasetError

SAMPLE_RATE = 16000


def fit_length(audio, length):
    """Zero-pad at the end, or trim the end, so the last axis has ``length`` samples.

    Example:
        >>> fit_length(np.ones(3, np.float32), 5)
        array([1., 1., 1., 0., 0.], dtype=float32)
    """
    audio = np.asarray(audio)
    n = audio.shape[-1]
    if n >= length:
        return audio[..., :length]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, length - n)]
    return np.pad(audio, pad)


def read_wav(path, sample_rate=SAMPLE_RATE, duration=1.0, start=0, gain=1.0):
    """Read a WAV (or FLAC) file as a mono float32 clip of ``duration`` seconds at ``sample_rate``.

    Stereo and multichannel files are mixed to mono (mean of the channels); other
    sample rates are resampled with :func:`librosa.resample`; 8-, 16-, 24- and
    32-bit PCM and float files all come back in [-1, 1]. Short clips are zero-padded
    at the end, long ones trimmed. ``duration=None`` keeps the whole file.

    Args:
        path: the file.
        sample_rate: rate of the returned clip, Hz.
        duration: length of the returned clip, seconds (None: the whole file).
        start: first sample to keep, counted at ``sample_rate`` (used to cut 1 s
            windows out of long background-noise recordings).
        gain: factor applied to the samples.

    Returns:
        float32 array of ``round(duration * sample_rate)`` samples.

    Raises:
        DatasetError: the file is missing, empty, not audio, truncated, or holds
            NaN/infinite samples. The message names the file.

    Example:
        >>> clip = read_wav("datasets/speech_commands/yes/4845bb10_nohash_0.flac")  # doctest: +SKIP
        >>> clip.shape, clip.dtype  # doctest: +SKIP
        ((16000,), dtype('float32'))
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such audio file.")
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: the file is empty (0 bytes); expected a WAV file. "
                           f"Delete it or record it again.")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise DatasetError(f"{path}: cannot be read as audio ({exc}). Expected a WAV file "
                           f"(PCM 8/16/24/32-bit or float); re-export it or delete it.") from exc
    if data.shape[0] == 0:
        raise DatasetError(f"{path}: holds no audio samples (header only, or truncated). "
                           f"Re-record or delete it.")
    if not np.all(np.isfinite(data)):
        raise DatasetError(f"{path}: holds NaN or infinite samples; re-export it as PCM.")
    audio = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sample_rate:
        import librosa
        audio = librosa.resample(audio, orig_sr=rate, target_sr=sample_rate).astype(np.float32)
    if start:
        audio = audio[int(start):]
    if duration is not None:
        audio = fit_length(audio, int(round(duration * sample_rate)))
    if gain != 1.0:
        audio = audio * np.float32(gain)
    return np.ascontiguousarray(audio, dtype=np.float32)


@dataclass
class Clips:
    """Clips read by :func:`read_wavs`: ``audio`` (n, samples) float32, ``sources``
    (the n sources that were read, in order), ``kept`` (their indices in the
    requested list) and ``skipped`` ("source: reason" of each bad file)."""
    audio: np.ndarray
    sources: list
    kept: np.ndarray
    skipped: list = field(default_factory=list)

    def __len__(self):
        return len(self.sources)


def parse_source(source):
    """Split a clip source "path" or "path@start*gain" into (path, start, gain).

    Generated ``_silence_`` clips are 1 s windows of background noise, written as
    ``"<noise.wav>@<first sample>*<gain>"``.

    Example:
        >>> parse_source("noise.wav@16000*0.5")
        ('noise.wav', 16000, 0.5)
    """
    source = str(source)
    head, sep, tail = source.rpartition("@")
    if sep and head.lower().endswith((".wav", ".flac")):
        start, _, gain = tail.partition("*")
        try:
            return head, int(start), float(gain or 1.0)
        except ValueError:
            pass
    return source, 0, 1.0


_CACHE: dict = {}
_CACHE_LIMIT = 200_000  # clips (~12.8 GB at 1 s); only what a process reads


def _read_cached(source, sample_rate, duration, cache):
    path, start, gain = parse_source(source)
    if not cache:
        return read_wav(path, sample_rate, duration, start, gain)
    st = os.stat(path) if os.path.exists(path) else None
    key = (os.path.abspath(path), start, gain, sample_rate, duration,
           st.st_mtime_ns if st else None, st.st_size if st else None)
    hit = _CACHE.get(key)
    if hit is None:
        hit = read_wav(path, sample_rate, duration, start, gain)
        hit.setflags(write=False)
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[key] = hit
    return hit


def read_wavs(sources, sample_rate=SAMPLE_RATE, duration=1.0, on_error="skip",
              cache=True, progress=False):
    """Read many clips; report and skip the ones that cannot be read.

    Args:
        sources: file paths (or "path@start*gain" noise windows, see
            :func:`parse_source`).
        sample_rate, duration: as in :func:`read_wav`.
        on_error: "skip" (default: warn once with the list of bad files and go on)
            or "raise" (stop at the first bad file).
        cache: keep decoded clips in memory, so a second call (another feature
            setting, another epoch of augmentation) costs no disk access.
        progress: show a tqdm progress bar.

    Returns:
        :class:`Clips`.

    Raises:
        DatasetError: with ``on_error="raise"``, for the first bad file; always when
            ``on_error`` is not "skip"/"raise".

    Example:
        >>> clips = read_wavs(ds.files_train)  # doctest: +SKIP
        >>> clips.audio.shape  # doctest: +SKIP
        (2263, 16000)
    """
    if on_error not in ("skip", "raise"):
        raise DatasetError(f"on_error must be 'skip' or 'raise', got {on_error!r}.")
    sources = [str(s) for s in sources]
    n = int(round(duration * sample_rate))
    audio = np.zeros((len(sources), n), np.float32)
    kept, read, skipped = [], [], []
    it = sources
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(sources, desc="reading audio", unit="clip")
    for i, src in enumerate(it):
        try:
            audio[len(kept)] = _read_cached(src, sample_rate, duration, cache)
        except DatasetError as exc:
            if on_error == "raise":
                raise
            skipped.append(str(exc))
            continue
        kept.append(i)
        read.append(src)
    if skipped:
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        warnings.warn(f"skipped {len(skipped)} of {len(sources)} audio files that cannot be "
                      f"read: {'; '.join(skipped[:3])}{more}. See Clips.skipped.", stacklevel=2)
    return Clips(audio=audio[:len(kept)], sources=read, kept=np.asarray(kept, np.int64),
                 skipped=skipped)


def clear_cache():
    """Forget the clips :func:`read_wavs` kept in memory."""
    _CACHE.clear()
