"""Audio in: good files load as 1 s mono 16 kHz, bad ones raise DatasetError naming them."""
import warnings

import numpy as np
import pytest
import soundfile as sf

from tinykit.datasets.audio import fit_length, parse_source, read_wav, read_wavs
from tinykit.errors import DatasetError


def _tone(rate, seconds=1.0, freq=440.0, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    a = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([a] * channels, axis=1) if channels > 1 else a


def _peak_hz(clip, rate=16000):
    spec = np.abs(np.fft.rfft(clip))
    return np.fft.rfftfreq(len(clip), 1 / rate)[spec.argmax()]


def test_16bit_mono_reads_unchanged(tmp_path):
    a = _tone(16000)
    sf.write(tmp_path / "ok.wav", a, 16000, subtype="PCM_16")
    clip = read_wav(tmp_path / "ok.wav")
    assert clip.shape == (16000,) and clip.dtype == np.float32
    assert np.abs(clip - a).max() < 1e-4


def test_48k_stereo_is_mixed_and_resampled(tmp_path):
    st = _tone(48000, channels=2)
    st[:, 1] *= 0.5  # channels differ: the mix is their mean
    sf.write(tmp_path / "stereo48.wav", st, 48000, subtype="PCM_16")
    clip = read_wav(tmp_path / "stereo48.wav")
    assert clip.shape == (16000,)
    assert _peak_hz(clip) == pytest.approx(440, abs=2)
    assert np.abs(clip[1000:15000]).max() == pytest.approx(0.75 * 0.5, rel=0.02)


def test_8bit_reads_in_range(tmp_path):
    a = _tone(16000)
    sf.write(tmp_path / "u8.wav", a, 16000, subtype="PCM_U8")
    clip = read_wav(tmp_path / "u8.wav")
    assert clip.shape == (16000,)
    assert np.abs(clip - a).max() < 2 / 128  # 8-bit quantization
    assert _peak_hz(clip) == pytest.approx(440, abs=2)


def test_short_padded_long_trimmed(tmp_path):
    sf.write(tmp_path / "short.wav", _tone(16000, 0.3), 16000)
    sf.write(tmp_path / "long.wav", _tone(16000, 2.5), 16000)
    short = read_wav(tmp_path / "short.wav")
    assert short.shape == (16000,) and not short[4800:].any() and short[:4800].any()
    assert read_wav(tmp_path / "long.wav").shape == (16000,)
    assert read_wav(tmp_path / "long.wav", duration=None).shape == (40000,)
    assert fit_length(np.ones((2, 3)), 5).shape == (2, 5)


BAD = {
    "not_audio.wav": lambda p: p.write_text("this is a text file, not a WAV\n" * 20),
    "empty.wav": lambda p: p.write_bytes(b""),
    "truncated_header.wav": None,  # first 20 bytes of a real WAV
    "header_only.wav": None,       # a valid header and no samples
    "nan.wav": None,               # float WAV holding NaN
}


def _make_bad(tmp_path, name):
    p = tmp_path / name
    if name == "truncated_header.wav":
        sf.write(tmp_path / "full.wav", _tone(16000), 16000)
        p.write_bytes((tmp_path / "full.wav").read_bytes()[:20])
    elif name == "header_only.wav":
        sf.write(p, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    elif name == "nan.wav":
        a = _tone(16000)
        a[100] = np.nan
        sf.write(p, a, 16000, subtype="FLOAT")
    else:
        BAD[name](p)
    return p


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_raises_dataset_error_naming_it(tmp_path, name):
    p = _make_bad(tmp_path, name)
    with pytest.raises(DatasetError) as info:
        read_wav(p)
    assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def _cut_in_half(tmp_path):
    """A 16-bit WAV whose header claims 1 s of a tone but whose data stops after 0.5 s."""
    tone = _tone(16000)
    sf.write(tmp_path / "full.wav", tone, 16000, subtype="PCM_16")
    raw = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(raw[:44 + 2 * 8000])
    return tmp_path / "cut.wav", tone


def test_truncated_data_keeps_the_samples_that_are_there(tmp_path):
    path, tone = _cut_in_half(tmp_path)
    clip = read_wav(path)
    assert np.abs(clip[:8000] - tone[:8000]).max() < 1e-4   # 16-bit rounding only


def test_truncated_data_is_padded_with_zeros_to_one_second(tmp_path):
    path, _ = _cut_in_half(tmp_path)
    clip = read_wav(path)
    assert clip.shape == (16000,) and clip.dtype == np.float32
    assert not clip[8000:].any()


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.wav"):
        read_wav(tmp_path / "nope.wav")


def test_bulk_read_skips_a_bad_file_among_thousands(tmp_path):
    good = []
    for i in range(2000):
        p = tmp_path / f"clip{i:04d}.wav"
        sf.write(p, np.full(800, (i % 100) / 200, np.float32), 16000, subtype="PCM_16")
        good.append(p)
    bad = _make_bad(tmp_path, "not_audio.wav")
    files = good[:1234] + [bad] + good[1234:]
    with pytest.warns(UserWarning, match="skipped 1 of 2001"):
        clips = read_wavs(files, cache=False)
    assert clips.audio.shape == (2000, 16000)
    assert len(clips) == 2000 and 1234 not in clips.kept and clips.kept[-1] == 2000
    assert len(clips.skipped) == 1 and "not_audio.wav" in clips.skipped[0]
    assert clips.audio[1234, 0] == pytest.approx((1234 % 100) / 200, abs=1e-4)
    with pytest.raises(DatasetError, match="not_audio.wav"):
        read_wavs(files, on_error="raise")


def test_noise_window_source(tmp_path):
    a = np.linspace(-1, 1, 48000, dtype=np.float32)
    sf.write(tmp_path / "noise.wav", a, 16000, subtype="FLOAT")
    assert parse_source(f"{tmp_path}/noise.wav@16000*0.5") == (f"{tmp_path}/noise.wav", 16000, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clips = read_wavs([f"{tmp_path}/noise.wav@16000*0.5"])
    assert np.allclose(clips.audio[0], 0.5 * a[16000:32000])
