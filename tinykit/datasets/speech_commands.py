"""Speech Commands (Warden 2018): a folder per word of 1 s, 16 kHz WAV clips.

Layout read by :func:`load_speech_commands` (clips may also be lossless .flac, as in
tinykit's bundled sample)::

    root/
      yes/0a7c2a8d_nohash_0.wav      <speaker>_nohash_<n>.wav, one folder per word
      ...
      _background_noise_/*.wav       long noise recordings (for _silence_ and mixing)
      _silence_/*.wav                optional; made from background noise when absent
      _unknown_/*.wav                optional; other words (``word_speaker_nohash_n``)
      validation_list.txt            optional; relative paths of the validation clips
      testing_list.txt               optional; relative paths of the test clips

Without the two lists the split is the data set's own: a clip goes to validation,
test or train by the SHA-1 of its speaker id, so one speaker's clips always land
in one split. Audio is read lazily: the loader returns file lists; ``ds.audio("train")``
reads them (and keeps them in memory for the next call).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DatasetError, DownloadError
from .audio import SAMPLE_RATE, read_wav, read_wavs

KWS12_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
NOISE_FOLDER = "_background_noise_"

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
ARCHIVE_BYTES = 2_428_637_544  # v0.02, for the progress bar when the server gives no size

# The data set's split scheme (README of Speech Commands): hash the speaker id with
# SHA-1 and map it to a percentage in [0, 100].
MAX_NUM_WAVS_PER_CLASS = 2 ** 27 - 1
SPLITS = ("train", "val", "test")


def cache_dir() -> Path:
    """Folder for downloads: ``$TINYKIT_CACHE`` or ``~/.cache/tinykit``."""
    env = os.environ.get("TINYKIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinykit"


def speaker_of(filename):
    """Speaker id of a Speech Commands file name, or None when it carries none.

    The id is the part before ``_nohash_``; in ``_unknown_`` folders, where files are
    named ``word_speaker_nohash_n.wav``, the word is dropped.

    Example:
        >>> speaker_of("0a7c2a8d_nohash_0.wav"), speaker_of("bed_0a7c2a8d_nohash_1.wav.wav")
        ('0a7c2a8d', '0a7c2a8d')
        >>> speaker_of("1024.wav") is None
        True
    """
    name = Path(str(filename)).name
    if "_nohash_" not in name:
        return None
    stem = re.sub(r"_nohash_.*$", "", name)
    return stem.rsplit("_", 1)[-1] or None


def hash_percentage(key, salt=""):
    """Where ``key`` (a speaker id, or a content digest) falls in [0, 100], by the
    data set's SHA-1 scheme (``salt`` is prepended to the key; "" is the original).

    Example:
        >>> 0.0 <= hash_percentage("0a7c2a8d") <= 100.0
        True
    """
    digest = hashlib.sha1((salt + str(key)).encode("utf-8")).hexdigest()
    return (int(digest, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)


def which_split(key, validation_percentage=10.0, testing_percentage=10.0, salt=""):
    """"train", "val" or "test" for a speaker id (or content digest) by its hash.

    Example:
        >>> which_split("0a7c2a8d") in ("train", "val", "test")
        True
    """
    p = hash_percentage(key, salt)
    if p < validation_percentage:
        return "val"
    if p < validation_percentage + testing_percentage:
        return "test"
    return "train"


@dataclass
class SpeechCommands:
    """A keyword-spotting data set as file lists; audio is read on demand.

    ``files_*`` are clip sources (file paths; generated ``_silence_`` clips are
    "noise.wav@start*gain" windows, see :func:`tinykit.datasets.audio.parse_source`),
    ``y_*`` int label indices into ``labels``. ``noise`` holds the background-noise
    recordings as float32 arrays at 16 kHz (``noise_files`` names them) for mixing.
    """
    name: str
    labels: list
    files_train: list
    y_train: np.ndarray
    files_val: list
    y_val: np.ndarray
    files_test: list
    y_test: np.ndarray
    sample_rate: int = SAMPLE_RATE
    path: Path | None = None
    split: str = ""
    notes: list = field(default_factory=list)
    noise: list = field(default_factory=list, repr=False)
    noise_files: list = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def files(self, split):
        """(sources, labels) of one split: "train", "val" or "test"."""
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}.")
        return getattr(self, f"files_{split}"), getattr(self, f"y_{split}")

    def audio(self, split, on_error="skip", progress=False):
        """Read one split as (x, y): x float32 (n, 16000), y int labels.

        Unreadable files are reported and skipped (their labels dropped too).

        Example:
            >>> x, y = ds.audio("train")  # doctest: +SKIP
            >>> x.shape  # doctest: +SKIP
            (2263, 16000)
        """
        files, labels = self.files(split)
        clips = read_wavs(files, self.sample_rate, 1.0, on_error=on_error, progress=progress)
        return clips.audio, np.asarray(labels)[clips.kept]

    def __repr__(self):
        counts = ", ".join(
            f"{lab}: " + "/".join(str(int((getattr(self, f"y_{s}") == i).sum())) for s in SPLITS)
            for i, lab in enumerate(self.labels))
        return (f"SpeechCommands({self.name!r}, {len(self.files_train)} train / "
                f"{len(self.files_val)} val / {len(self.files_test)} test clips, "
                f"{len(self.noise)} noise files, split={self.split}; "
                f"train/val/test per label: {counts})")


_DIGESTS: dict = {}


def _digest(path: Path):
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    d = _DIGESTS.get(key)
    if d is None:
        d = hashlib.sha1(path.read_bytes()).hexdigest()
        _DIGESTS[key] = d
    return d


def _read_list(path: Path):
    if not path.is_file():
        return None
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines()
            if line.strip()}


AUDIO_SUFFIXES = (".wav", ".flac")


def _wav_files(folder: Path):
    """Audio clips of a folder: .wav (the data set's format) and lossless .flac."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name.lower().endswith(AUDIO_SUFFIXES)
                  and not p.name.startswith("."))


def _silence_sources(noise_files, noise_lengths, split, count, seed, clip=SAMPLE_RATE):
    """``count`` 1 s windows of background noise for one split.

    Each noise recording is cut in three parts (80/10/10 % of its length, for
    train/val/test) so no stretch of noise appears in two splits.
    """
    usable = [(f, n) for f, n in zip(noise_files, noise_lengths) if n >= 10 * clip]
    if not usable:
        usable = [(f, n) for f, n in zip(noise_files, noise_lengths) if n >= clip]
    if not usable or count <= 0:
        return []
    lo_frac, hi_frac = {"train": (0.0, 0.8), "val": (0.8, 0.9), "test": (0.9, 1.0)}[split]
    rng = np.random.default_rng([seed, SPLITS.index(split), 7919])
    out = []
    for _ in range(count):
        f, n = usable[rng.integers(len(usable))]
        if n >= 10 * clip:
            lo, hi = int(n * lo_frac), int(n * hi_frac) - clip
        else:
            lo, hi = 0, n - clip
        start = int(rng.integers(lo, max(lo, hi) + 1))
        gain = float(np.round(rng.uniform(0.0, 1.0), 3))
        out.append(f"{f}@{start}*{gain}")
    return out


def load_speech_commands(path=None, words=KWS12_WORDS, silence=True, unknown=True,
                         validation_percentage=10.0, testing_percentage=10.0,
                         silence_percentage=10.0, unknown_percentage=None, dedupe=True,
                         salt=None, seed=0, name=None, download=True) -> SpeechCommands:
    """Load a Speech Commands folder as a keyword-spotting data set.

    With the defaults this is the usual 12-class setting: the ten words
    yes/no/up/down/left/right/on/off/stop/go, ``_silence_`` and ``_unknown_`` (every
    other word). Pass your own ``words`` for another vocabulary, or ``words=None`` to
    use every word folder as its own class.

    Splits: ``validation_list.txt``/``testing_list.txt`` when the folder has them;
    otherwise by the SHA-1 of the speaker id (the data set's scheme), so a speaker's
    clips never appear in two splits. Clips without a speaker (``_silence_``) are
    split by the hash of their content. Byte-identical clips are dropped before
    splitting (first path kept) so no copy lands in two splits.

    Args:
        path: the data set folder; None downloads the full v0.02 archive
            (2.3 GB) into :func:`cache_dir` (see :func:`download_speech_commands`).
        words: the keywords (classes), or None for every word folder.
        silence: add a ``_silence_`` class; made from 1 s windows of background noise
            when the folder has no ``_silence_/`` clips.
        unknown: add an ``_unknown_`` class from ``_unknown_/`` and non-keyword folders.
        validation_percentage, testing_percentage: hash-split shares, percent.
        silence_percentage: generated silence clips per split, percent of its
            keyword clips.
        unknown_percentage: cap on ``_unknown_`` clips per split, percent of its
            keyword clips. None: keep all of a ``_unknown_/`` folder, or 10 % when
            unknown words come from other word folders (the full archive).
        dedupe: drop byte-identical copies before splitting (reads every file once).
        salt: text prepended to the speaker id before hashing. None: "" (the data
            set's own split) unless that leaves train, val or test empty, which
            happens for a folder that is itself one split of the full data set (the
            v0.02 test-set archive: all its speakers hash into the test range); then
            "tinykit:" is used and a note says so. Either way the split stays
            speaker-disjoint and deterministic.
        seed: seed of the generated silence and of unknown subsampling.
        download: with ``path=None``, fetch the archive if it is not cached.

    Returns:
        :class:`SpeechCommands`.

    Raises:
        DatasetError: no such folder, no clips for a keyword, bad percentages.
        DownloadError: ``path=None`` and the archive could not be fetched.

    Example:
        >>> ds = load_speech_commands("datasets/speech_commands")  # doctest: +SKIP
        >>> ds.labels  # doctest: +SKIP
        ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go', '_silence_', '_unknown_']
        >>> x, y = ds.audio("train")  # doctest: +SKIP
    """
    if path is None:
        if not download:
            raise DatasetError("no path given and download=False; pass the folder of an "
                               "unpacked Speech Commands archive.")
        path = download_speech_commands()
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such folder. Expected an unpacked Speech Commands "
                           f"archive (a folder per word of .wav clips, and _background_noise_/).")
    for nm, v in (("validation_percentage", validation_percentage),
                  ("testing_percentage", testing_percentage)):
        if not 0.0 <= v < 100.0:
            raise DatasetError(f"{nm} must be in [0, 100), got {v}.")
    if validation_percentage + testing_percentage >= 100.0:
        raise DatasetError(f"validation_percentage + testing_percentage must stay below 100, "
                           f"got {validation_percentage + testing_percentage}.")
    notes = []

    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    word_folders = [p for p in folders if not p.name.startswith("_")]
    if words is None:
        keywords = [p.name for p in word_folders]
        unknown = False if unknown is True else unknown
    else:
        keywords = list(words)
        if len(set(keywords)) != len(keywords):
            raise DatasetError(f"words has duplicates: {keywords}.")
        present = {p.name for p in word_folders}
        missing = [w for w in keywords if w not in present]
        if missing:
            raise DatasetError(f"{path}: no folder for the words {missing}; word folders "
                               f"found: {sorted(present)}.")
    if not keywords:
        raise DatasetError(f"{path}: no word folders (e.g. yes/, no/) with .wav clips found.")
    labels = list(keywords) + ([SILENCE] if silence else []) + ([UNKNOWN] if unknown else [])
    index = {lab: i for i, lab in enumerate(labels)}

    # (relative path, label) of every clip we keep.
    entries = []
    unknown_from_words = False
    for folder in folders:
        if folder.name == NOISE_FOLDER:
            continue
        if folder.name in keywords:
            label = folder.name
        elif folder.name == SILENCE:
            if not silence:
                continue
            label = SILENCE
        elif folder.name == UNKNOWN:
            if not unknown:
                continue
            label = UNKNOWN
        elif not folder.name.startswith("_") and unknown:
            label = UNKNOWN
            unknown_from_words = True
        else:
            continue
        entries.extend((p, label) for p in _wav_files(folder))
    if not entries:
        raise DatasetError(f"{path}: no .wav clips found in the word folders.")

    if dedupe:
        seen, kept, dropped = {}, [], 0
        for p, label in entries:
            d = _digest(p)
            if d in seen:
                dropped += 1
                continue
            seen[d] = p
            kept.append((p, label))
        entries = kept
        if dropped:
            notes.append(f"dropped {dropped} byte-identical duplicate clips before splitting")

    val_list = _read_list(path / "validation_list.txt")
    test_list = _read_list(path / "testing_list.txt")
    use_lists = val_list is not None or test_list is not None
    def assign(salt_):
        out, no_spk = {}, 0
        for p, label in entries:
            rel = p.relative_to(path).as_posix()
            if use_lists and speaker_of(p.name) is not None:
                s = ("val" if rel in (val_list or ()) else
                     "test" if rel in (test_list or ()) else "train")
            else:
                key = speaker_of(p.name)
                if key is None:
                    key = _digest(p)  # no speaker (e.g. _silence_): split by content
                    no_spk += 1
                s = which_split(key, validation_percentage, testing_percentage, salt_)
            out[p] = s
        return out, no_spk

    split_of, no_speaker = assign(salt or "")
    if salt is None and not use_lists:
        wanted = [s for s, pct in (("train", 1.0), ("val", validation_percentage),
                                   ("test", testing_percentage)) if pct > 0]
        spoken = {split_of[p] for p, _ in entries if speaker_of(p.name) is not None}
        if spoken and any(s not in spoken for s in wanted):
            empty = [s for s in wanted if s not in spoken]
            salt = "tinykit:"
            split_of, no_speaker = assign(salt)
            notes.append(f"the data set's own speaker hash left {empty} empty (this folder "
                         f"is probably one split of the full data set); re-split with "
                         f"salt {salt!r}, still speaker-disjoint")
    if use_lists:
        split_desc = "given lists (validation_list.txt, testing_list.txt)"
    else:
        split_desc = (f"speaker hash val={validation_percentage:g}% "
                      f"test={testing_percentage:g}%" + (f" salt={salt!r}" if salt else ""))
    if no_speaker:
        notes.append(f"{no_speaker} clips carry no speaker id; split by the hash of their content")

    noise_files, noise = [], []
    if (path / NOISE_FOLDER).is_dir():
        for f in _wav_files(path / NOISE_FOLDER):
            try:
                noise.append(read_wav(f, SAMPLE_RATE, duration=None))
                noise_files.append(str(f))
            except DatasetError as exc:
                notes.append(f"skipped background noise: {exc}")

    per_split = {s: {"files": [], "y": []} for s in SPLITS}
    for p, label in entries:
        d = per_split[split_of[p]]
        d["files"].append(str(p))
        d["y"].append(index[label])

    if unknown:
        pct = unknown_percentage
        if pct is None and unknown_from_words:
            pct = 10.0
        if pct is not None:
            for s in SPLITS:
                d = per_split[s]
                y = np.asarray(d["y"], np.int64)
                is_unk = np.flatnonzero(y == index[UNKNOWN])
                n_words = int(np.isin(y, [index[w] for w in keywords]).sum())
                cap = int(round(n_words * pct / 100.0))
                if len(is_unk) > cap:
                    rng = np.random.default_rng([seed, SPLITS.index(s), 104729])
                    drop = set(rng.choice(is_unk, len(is_unk) - cap, replace=False).tolist())
                    d["files"] = [f for i, f in enumerate(d["files"]) if i not in drop]
                    d["y"] = [v for i, v in enumerate(d["y"]) if i not in drop]
            notes.append(f"_unknown_ capped at {pct:g}% of the keyword clips of each split")

    if silence and not any(lab == SILENCE for _, lab in entries):
        if not noise:
            raise DatasetError(f"{path}: silence=True but there are neither _silence_/ clips "
                               f"nor {NOISE_FOLDER}/ recordings to make them from. Pass "
                               f"silence=False or add background-noise WAV files.")
        lengths = [len(a) for a in noise]
        for s in SPLITS:
            d = per_split[s]
            n_words = int(np.isin(d["y"], [index[w] for w in keywords]).sum())
            count = int(round(n_words * silence_percentage / 100.0))
            srcs = _silence_sources(noise_files, lengths, s, count, seed)
            d["files"].extend(srcs)
            d["y"].extend([index[SILENCE]] * len(srcs))
        notes.append(f"_silence_ made from {NOISE_FOLDER} windows ({silence_percentage:g}% of "
                     f"each split's keyword clips)")

    missing = [lab for i, lab in enumerate(labels) if i not in per_split["train"]["y"]]
    if missing:
        elsewhere = [lab for lab in missing
                     if any(index[lab] in per_split[s]["y"] for s in ("val", "test"))]
        hint = (f" The split put all clips of {elsewhere} in validation/test: lower "
                f"validation_percentage/testing_percentage, or leave salt=None."
                if elsewhere else " Add clips to those folders or leave them out of `words`.")
        raise DatasetError(f"{path}: no training clips for {missing}.{hint}")
    return SpeechCommands(
        name=name or path.name, labels=labels,
        files_train=per_split["train"]["files"], y_train=np.asarray(per_split["train"]["y"], np.int64),
        files_val=per_split["val"]["files"], y_val=np.asarray(per_split["val"]["y"], np.int64),
        files_test=per_split["test"]["files"], y_test=np.asarray(per_split["test"]["y"], np.int64),
        noise=noise, noise_files=noise_files, path=path, split=split_desc, notes=notes)


def _sha256(path: Path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_speech_commands(dest=None, url=URL, sha256=SHA256, progress=True,
                             timeout=30.0) -> Path:
    """Download and unpack the Speech Commands v0.02 archive (2.3 GB), once.

    The archive is checked against its SHA-256 before it is unpacked into
    ``dest`` (default ``cache_dir()/speech_commands_v0.02``); a second call returns
    the folder at once.

    Args:
        dest: folder to unpack into.
        url: where to fetch the archive (default: the official address).
        sha256: expected checksum of the archive, or None to skip the check.
        progress: show a tqdm progress bar.
        timeout: seconds to wait for the server to answer.

    Returns:
        The folder, ready for :func:`load_speech_commands`.

    Raises:
        DownloadError: offline, HTTP error, or a checksum mismatch. The message says
            how to fetch the archive by hand.

    Example:
        >>> root = download_speech_commands()  # doctest: +SKIP
        >>> ds = load_speech_commands(root)  # doctest: +SKIP
    """
    dest = Path(dest) if dest is not None else cache_dir() / "speech_commands_v0.02"
    done = dest / ".tinykit-complete"
    if done.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = dest.parent / (Path(url).name or "speech_commands.tar.gz")
    part = archive.with_name(archive.name + ".part")
    by_hand = (f"Download {URL} by hand (e.g. `curl -LO {URL}`), unpack it with "
               f"`tar xzf` and pass the folder: load_speech_commands('path/to/folder').")
    if not (archive.is_file() and (sha256 is None or _sha256(archive) == sha256)):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                bar = None
                if progress:
                    from tqdm.auto import tqdm
                    bar = tqdm(total=total or (ARCHIVE_BYTES if url == URL else None),
                               unit="B", unit_scale=True, desc=archive.name)
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
                if bar is not None:
                    bar.close()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            part.unlink(missing_ok=True)
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"could not download {url}: {reason}. Are you offline? "
                                f"{by_hand}") from exc
        if sha256 is not None:
            got = _sha256(part)
            if got != sha256:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{url}: checksum mismatch (SHA-256 {got}, expected "
                                    f"{sha256}); the download is corrupt or the file changed. "
                                    f"Try again, or {by_hand}")
        part.replace(archive)
    tmp = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DownloadError(f"{archive}: cannot unpack ({exc}). Delete it and try again.") from exc
    if dest.exists():
        shutil.rmtree(dest)
    tmp.replace(dest)
    done.write_text(f"{url}\n{sha256}\n")
    return dest
