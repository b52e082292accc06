"""Speech Commands loader: splits, dedupe, generated silence, download errors."""
import hashlib
import io
import shutil
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinykit.datasets import load, load_speech_commands, download_speech_commands
from tinykit.datasets.speech_commands import (KWS12_WORDS, SILENCE, UNKNOWN, SPLITS,
                                              hash_percentage, speaker_of, which_split)
from tinykit.errors import DatasetError, DownloadError

KWS12 = list(KWS12_WORDS) + [SILENCE, UNKNOWN]


@pytest.fixture(scope="module")
def sample(bundled_dir):
    return bundled_dir / "speech_commands"


@pytest.fixture
def sample_copy(sample, tmp_path):
    dst = tmp_path / "sc"
    shutil.copytree(sample, dst)
    return dst


def _content(path):
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def _check_disjoint(ds):
    speakers = {s: {speaker_of(f) for f in ds.files(s)[0]} - {None} for s in SPLITS}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not speakers[a] & speakers[b], f"speakers in {a} and {b}: {speakers[a] & speakers[b]}"
    contents = {s: {_content(f) for f in ds.files(s)[0] if "@" not in f} for s in SPLITS}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not contents[a] & contents[b], f"identical clips in {a} and {b}"


def test_bundled_sample_loads_as_12_classes(sample):
    ds = load("speech_commands")
    assert ds.labels == KWS12
    assert ds.num_classes == 12
    assert len(ds.files_train) + len(ds.files_val) + len(ds.files_test) == 300
    for s in SPLITS:  # every split, not only train, has clips of all 12 classes
        files, y = ds.files(s)
        assert len(files) == len(y) > 0
        missing = sorted(set(range(12)) - set(np.unique(y).tolist()))
        assert missing == [], f"{s} has no clip of {[ds.labels[k] for k in missing]}"
    assert len(ds.noise) == 2 and all(a.dtype == np.float32 and len(a) >= 16000 for a in ds.noise)
    _check_disjoint(ds)
    x, y = ds.audio("test")
    assert x.shape == (len(ds.files_test), 16000) and x.dtype == np.float32
    assert np.abs(x).max() <= 1.0 and np.abs(x).max() > 0.01


def test_speaker_hash_is_the_datasets_own_scheme():
    # SHA-1 of the speaker id, mod 2**27, scaled to percent (Speech Commands README).
    digest = int(hashlib.sha1(b"0a7c2a8d").hexdigest(), 16)
    expected = (digest % 2 ** 27) * (100.0 / (2 ** 27 - 1))
    assert hash_percentage("0a7c2a8d") == pytest.approx(expected)
    assert speaker_of("right/0a7c2a8d_nohash_3.wav") == "0a7c2a8d"
    assert speaker_of("_unknown_/bed_0a7c2a8d_nohash_0.wav.wav") == "0a7c2a8d"
    assert speaker_of("_silence_/1024.wav") is None


def test_sample_speakers_all_hash_into_the_test_range(sample):
    # The clips come from the v0.02 test-set archive, which the original hash made:
    # every speaker there must fall in [10, 20) percent.
    speakers = {speaker_of(p.name) for p in sample.rglob("*_nohash_*")}
    assert len(speakers) > 50
    assert all(which_split(s) == "test" for s in speakers)


def test_fallback_resplit_is_speaker_disjoint_and_noted(sample):
    ds = load_speech_commands(sample)
    assert "salt" in ds.split and any("re-split" in n for n in ds.notes)
    _check_disjoint(ds)
    with pytest.raises(DatasetError, match="put all clips of .* in validation/test"):
        load_speech_commands(sample, salt="")  # the original hash: every speaker in test


def test_duplicates_dropped_before_split(sample_copy):
    # Make byte-identical copies of a clip under speakers that hash to other splits.
    src = sorted((sample_copy / "yes").iterdir())[0]
    home = which_split(speaker_of(src.name), salt="tinykit:")
    others = {}
    for i in range(2000):
        spk = f"{i:08x}"
        s = which_split(spk, salt="tinykit:")
        if s != home and s not in others:
            others[s] = spk
        if len(others) == 2:
            break
    for s, spk in others.items():
        shutil.copy(src, sample_copy / "yes" / f"{spk}_nohash_0.flac")
        shutil.copy(src, sample_copy / "no" / f"{spk}_nohash_9.flac")  # other label too
    ds = load_speech_commands(sample_copy)
    _check_disjoint(ds)
    assert any("dropped 4 byte-identical" in n for n in ds.notes)
    ds_keep = load_speech_commands(sample_copy, dedupe=False)
    with pytest.raises(AssertionError, match="identical clips"):
        _check_disjoint(ds_keep)


def test_silence_without_speaker_split_by_content_deterministically(sample):
    a = load_speech_commands(sample)
    b = load_speech_commands(sample)
    for s in SPLITS:
        assert a.files(s)[0] == b.files(s)[0]
    sil = {s: [f for f, y in zip(*a.files(s)) if a.labels[y] == SILENCE] for s in SPLITS}
    assert sum(map(len, sil.values())) == 25
    for s, files in sil.items():
        for f in files:
            assert which_split(_content(f), salt="tinykit:") == s


def test_silence_generated_from_noise_when_absent(sample_copy):
    shutil.rmtree(sample_copy / "_silence_")
    ds = load_speech_commands(sample_copy, silence_percentage=10)
    assert ds.labels == KWS12
    sil = ds.labels.index(SILENCE)
    n_train = int((ds.y_train == sil).sum())
    words = int(np.isin(ds.y_train, range(10)).sum())
    assert n_train == round(words * 0.10)
    assert any("_silence_ made from" in n for n in ds.notes)
    # Windows of each split come from its own stretch of each recording.
    spans = {}
    for s in SPLITS:
        for f, y in zip(*ds.files(s)):
            if y == sil:
                path, _, rest = f.rpartition("@")
                start = int(rest.split("*")[0])
                spans.setdefault((path, s), []).append(start)
    for (path, s), starts in spans.items():
        n = len(ds.noise[ds.noise_files.index(path)])
        lo, hi = {"train": (0, 0.8), "val": (0.8, 0.9), "test": (0.9, 1.0)}[s]
        assert all(int(n * lo) <= st and st + 16000 <= int(n * hi) for st in starts)
    x, y = ds.audio("train")
    assert len(x) == len(ds.files_train)
    assert np.abs(x[y == sil]).max() > 0  # noise, not zeros


def test_given_lists_are_used(sample_copy):
    yes = sorted(p.relative_to(sample_copy).as_posix() for p in (sample_copy / "yes").iterdir())
    (sample_copy / "validation_list.txt").write_text("\n".join(yes[:5]) + "\n")
    (sample_copy / "testing_list.txt").write_text("\n".join(yes[5:12]) + "\n")
    ds = load_speech_commands(sample_copy)
    assert ds.split.startswith("given lists")
    val_words = [f for f, y in zip(*ds.files("val")) if ds.labels[y] != SILENCE]
    assert sorted(Path(f).relative_to(sample_copy).as_posix() for f in val_words) == yes[:5]
    assert int((ds.y_test == 0).sum()) == 7


def test_chosen_words_others_become_unknown(sample):
    ds = load_speech_commands(sample, words=["yes", "no"])
    assert ds.labels == ["yes", "no", SILENCE, UNKNOWN]
    unk = ds.labels.index(UNKNOWN)
    n_unknown = sum(int((ds.files(s)[1] == unk).sum()) for s in SPLITS)
    # other folders' words, capped at 10 % of the keyword clips per split
    assert 0 < n_unknown <= round(0.1 * 50) + 3
    ds_all = load_speech_commands(sample, words=None, silence=False)
    assert ds_all.labels == sorted(KWS12_WORDS)


def test_bad_arguments_say_what_to_do(sample, tmp_path):
    with pytest.raises(DatasetError, match="no folder for the words"):
        load_speech_commands(sample, words=["yes", "banana"])
    with pytest.raises(DatasetError, match="no such folder"):
        load_speech_commands(tmp_path / "nope")
    with pytest.raises(DatasetError, match="below 100"):
        load_speech_commands(sample, validation_percentage=60, testing_percentage=50)


def test_offline_download_raises_download_error(tmp_path):
    # Port 9 on localhost: nothing listens, so the connection is refused at once.
    with pytest.raises(DownloadError, match="offline"):
        download_speech_commands(tmp_path / "sc", url="http://127.0.0.1:9/sc.tar.gz",
                                 progress=False, timeout=5)
    assert not list(tmp_path.glob("*.part"))


def _archive(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"RIFF-not-really"
        info = tarfile.TarInfo("yes/0a7c2a8d_nohash_0.wav")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "sc.tar.gz"
    path.write_bytes(buf.getvalue())
    return path, hashlib.sha256(buf.getvalue()).hexdigest()


def test_download_checks_sha256_and_unpacks_once(tmp_path):
    archive, sha = _archive(tmp_path)
    url = archive.as_uri()  # file:// — no network
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_speech_commands(tmp_path / "out", url=url, sha256="0" * 64, progress=False)
    root = download_speech_commands(tmp_path / "out", url=url, sha256=sha, progress=False)
    assert (root / "yes" / "0a7c2a8d_nohash_0.wav").is_file()
    archive.unlink()  # a second call must not fetch again
    assert download_speech_commands(tmp_path / "out", url=url, sha256=sha) == root
