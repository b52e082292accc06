"""Audio features agree with librosa; settings round-trip; C tables; augmentation."""
import re

import librosa
import numpy as np
import pytest
import scipy.fft

import tinykit
from tinykit.errors import DatasetError
from tinykit.features.audio import (AudioFeatures, c_tables, extract, fit_normalization, kws_augment,
                              load_settings, log_mel, mel_filterbank, mfcc, mix_noise,
                              normalize, settings_from_json, spec_augment, time_shift,
                              write_c_tables)


@pytest.fixture(scope="module")
def ds():
    return tinykit.datasets.load("speech_commands")


@pytest.fixture(scope="module")
def clips(ds):
    x, _ = ds.audio("train")
    return x


def _librosa_reference(clips, s):
    # librosa called directly: a 640-sample window centred in a 1024-sample frame
    # (pad 192 each side) is the same as the 640 window zero-padded to the FFT size.
    pad = (s.n_fft - s.window_samples) // 2
    y = np.pad(clips, ((0, 0), (pad, s.n_fft - s.window_samples - pad)))
    mel = librosa.feature.melspectrogram(y=y, sr=s.sample_rate, n_fft=s.n_fft,
                                         hop_length=s.stride_samples, win_length=s.window_samples,
                                         window="hann", center=False, power=2.0,
                                         n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax)
    db = librosa.power_to_db(mel, ref=1.0, amin=s.amin, top_db=None)
    cep = librosa.feature.mfcc(S=db, n_mfcc=s.n_mfcc, dct_type=2, norm="ortho")
    return np.swapaxes(db, 1, 2), np.swapaxes(cep, 1, 2)


def test_shapes_are_49x10_and_49x40(clips):
    assert mfcc(clips[:3]).shape == (3, 49, 10)
    assert log_mel(clips[:3]).shape == (3, 49, 40)
    assert AudioFeatures().shape == (49, 10)
    assert AudioFeatures(kind="log_mel").shape == (49, 40)


def test_features_match_librosa_called_directly(clips):
    s = AudioFeatures()
    ref_db, ref_mfcc = _librosa_reference(clips[:20], s)
    assert np.allclose(log_mel(clips[:20]), ref_db, atol=1e-3)
    assert np.allclose(mfcc(clips[:20]), ref_mfcc, atol=1e-3)
    assert np.abs(mfcc(clips[:20])).max() > 10  # not trivially zero


def test_frames_are_640_windows_every_320_samples(clips):
    # Frame 7 computed by hand with numpy: window, zero-pad to 1024, |rfft|^2, mel, log.
    s = AudioFeatures(kind="log_mel")
    frame = clips[0, 7 * 320: 7 * 320 + 640] * np.hanning(641)[:-1]
    power = np.abs(np.fft.rfft(frame, 1024)) ** 2
    by_hand = 10 * np.log10(np.maximum(mel_filterbank(s) @ power, 1e-10))
    assert np.allclose(log_mel(clips[:1], s)[0, 7], by_hand, atol=1e-2)


def test_other_settings_follow_librosa(clips):
    s = AudioFeatures(window_ms=30, stride_ms=20, n_fft=512, n_mels=32, n_mfcc=13, fmax=7600)
    assert s.shape == (49, 13)
    _, ref = _librosa_reference(clips[:5], s)
    assert np.allclose(mfcc(clips[:5], s), ref, atol=1e-3)


def test_settings_round_trip_through_json(tmp_path, clips):
    s = fit_normalization(mfcc(clips), AudioFeatures())
    assert len(s.mean) == 10 and all(v > 0 for v in s.std)
    path = s.save(tmp_path / "kws_features.json")
    back = load_settings(path)
    assert back == s and hash(back) == hash(s)
    assert np.array_equal(extract(clips[:4], back), extract(clips[:4], s))
    x = extract(clips, s)
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
    lm = AudioFeatures(kind="log_mel", fmax=8000.0)
    assert settings_from_json(lm.to_json()) == lm
    with pytest.raises(DatasetError, match="not tinykit audio feature settings"):
        settings_from_json('{"kind": "mfcc"}')
    with pytest.raises(DatasetError, match="unknown entries"):
        settings_from_json(lm.to_json().replace('"kind"', '"colour": 1, "kind"'))


def test_settings_validated_at_the_door(clips):
    with pytest.raises(DatasetError, match="n_fft=512 is shorter than the window"):
        AudioFeatures(n_fft=512)
    with pytest.raises(DatasetError, match="kind must be"):
        AudioFeatures(kind="mel")
    with pytest.raises(DatasetError, match="8000 samples"):
        mfcc(clips[:2, :8000])
    with pytest.raises(DatasetError, match="fit_normalization"):
        normalize(mfcc(clips[:2]), AudioFeatures())


def test_three_thousand_clips_in_seconds(clips):
    import time
    many = np.tile(clips, (int(np.ceil(3000 / len(clips))), 1))[:3000]
    mfcc(many[:10])  # warm-up
    t = time.perf_counter()
    assert mfcc(many).shape == (3000, 49, 10)
    assert time.perf_counter() - t < 30


def _parse_array(text, name):
    m = re.search(rf"{name}\[[^\]]*\](?:\[[^\]]*\])? = \{{(.*?)\n\}};", text, re.S)
    assert m, name
    nums = re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", m.group(1).replace("f", ""))
    return np.array([float(v) for v in nums])


def test_c_tables_reproduce_the_features(tmp_path, clips):
    s = fit_normalization(mfcc(clips), AudioFeatures())
    path = write_c_tables(tmp_path / "audio_features.h", s)
    text = path.read_text()
    assert text.startswith("// Generated by tinykit")
    assert "Do not edit" in text.splitlines()[2]
    assert "#define TK_NUM_FRAMES 49" in text and "#define TK_FFT_SIZE 1024" in text
    win = _parse_array(text, "tk_window")
    start = _parse_array(text, "tk_mel_start").astype(int)
    length = _parse_array(text, "tk_mel_length").astype(int)
    weights = _parse_array(text, "tk_mel_weights")
    dct = _parse_array(text, "tk_dct").reshape(10, 40)
    mean, std = _parse_array(text, "tk_mean"), _parse_array(text, "tk_std")
    # Compute the MFCC of one clip the way the device would, from the tables only.
    clip = clips[3]
    offsets = np.concatenate([[0], np.cumsum(length)])
    out = []
    for t in range(49):
        frame = clip[t * 320: t * 320 + 640] * win
        power = np.abs(np.fft.rfft(frame, 1024)) ** 2
        mel = np.array([weights[offsets[m]:offsets[m + 1]] @ power[start[m]:start[m] + length[m]]
                        for m in range(40)])
        out.append((dct @ (10 * np.log10(np.maximum(mel, 1e-10))) - mean) / std)
    assert np.allclose(np.array(out), mfcc(clip[None], s)[0], atol=2e-3)
    assert "tk_dct" not in c_tables(AudioFeatures(kind="log_mel"))


def test_time_shift_and_noise(clips, ds):
    a = clips[:8]
    shifted = time_shift(a, max_shift=0.1, seed=0)
    assert shifted.shape == a.shape and not np.array_equal(shifted, a)
    ramp = np.tile(np.arange(1, 16001, dtype=np.float32) / 16000, (200, 1))
    moved = time_shift(ramp, max_shift=0.1, seed=1)
    shifts = []
    for r in moved:
        nz = np.flatnonzero(r)
        k = np.round(nz - r[nz] * 16000 + 1).astype(int)  # r[j] = ramp[j - k]
        assert len(set(k)) == 1 and abs(k[0]) <= 1600      # one shift, within 100 ms
        assert len(nz) == 16000 - abs(k[0])                # zero-filled, not wrapped
        shifts.append(k[0])
    assert min(shifts) < -800 and max(shifts) > 800
    assert np.array_equal(time_shift(a, seed=3), time_shift(a, seed=3))
    silent = np.zeros((50, 16000), np.float32)
    noisy = mix_noise(silent, ds.noise, level=0.5, probability=0.6, seed=1)
    share = (np.abs(noisy).max(axis=1) > 0).mean()
    assert 0.4 < share < 0.8
    assert np.abs(noisy).max() <= 0.5 * max(np.abs(n).max() for n in ds.noise) + 1e-6
    assert np.abs(noisy).max() <= 1.0
    with pytest.raises(DatasetError, match="at least 16000 samples"):
        mix_noise(silent, [np.zeros(100, np.float32)])


def test_spec_augment_masks_bands():
    x = np.ones((64, 49, 10), np.float32)
    m = spec_augment(x, time_masks=1, time_width=5, freq_masks=1, freq_width=2, seed=0)
    assert x.min() == 1  # input untouched
    for row in m:
        zero_t = np.flatnonzero((row == 0).all(axis=1))
        zero_f = np.flatnonzero((row == 0).all(axis=0))
        assert len(zero_t) <= 5 and len(zero_f) <= 2
        if len(zero_t):
            assert zero_t[-1] - zero_t[0] == len(zero_t) - 1  # one contiguous band
    assert (m == 0).any()
    assert spec_augment(x[..., None], seed=0).shape == (64, 49, 10, 1)


def test_kws_augment_makes_fresh_features(clips, ds):
    s = fit_normalization(mfcc(clips), AudioFeatures())
    x = extract(clips, s)
    aug = kws_augment(clips, s, noise=ds.noise)
    rng = np.random.default_rng(0)
    a1, a2 = aug(x, seed=rng), aug(x, seed=rng)
    assert a1.shape == x.shape and a1.dtype == np.float32
    assert not np.allclose(a1, a2) and not np.allclose(a1, x)
    assert np.corrcoef(a1.ravel(), x.ravel())[0, 1] > 0.5  # still the same words
    with pytest.raises(DatasetError, match="built on"):
        aug(x[:5], seed=0)
