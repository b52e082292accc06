"""Audio features agree with librosa; settings round-trip; the C header of the front end
compiles as C and C++ and holds the numpy tables; augmentation; bad arguments."""
import shutil
import subprocess

import librosa
import numpy as np
import pytest

import tinykit
from tinykit.deploy.audio_frontend import feature_tables_header, write_feature_tables
from tinykit.errors import DatasetError, ParameterError
from tinykit.features import (AudioFeatures, ImuFeatures, audio_augment, audio_normalize,
                              dct_matrix, extract, fit_normalization, hard_negatives,
                              load_settings, log_mel,
                              mel_filterbank, mfcc, mix_noise, random_eq, random_gain,
                              reverberate,
                              settings_from_json, sparse_mel_filterbank, spec_augment,
                              speed_perturb, time_shift, window)


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
    by_hand = 10 * np.log10(np.maximum(mel_filterbank(s) @ power, s.amin))
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
    with pytest.raises(DatasetError, match="not tinykit feature settings"):
        settings_from_json('{"kind": "mfcc"}')
    with pytest.raises(DatasetError, match="unknown entries"):
        settings_from_json(lm.to_json().replace('"kind"', '"colour": 1, "kind"'))
    with pytest.raises(DatasetError, match="AudioFeatures rejects: n_fft=64"):
        settings_from_json(lm.to_json().replace('"n_fft": 1024', '"n_fft": 64'))
    with pytest.raises(DatasetError, match="no such feature-settings file"):
        load_settings(tmp_path / "missing.json")


def test_settings_validated_at_the_door(clips):
    with pytest.raises(ParameterError, match="n_fft=512 is shorter than the window"):
        AudioFeatures(n_fft=512)
    with pytest.raises(ParameterError, match="kind must be 'mfcc' or 'log_mel', got 'mel'"):
        AudioFeatures(kind="mel")
    with pytest.raises(ParameterError, match="fmax=9000"):
        AudioFeatures(fmax=9000.0)
    with pytest.raises(ParameterError, match="n_mfcc must be in"):
        AudioFeatures(n_mfcc=41)
    with pytest.raises(ParameterError, match="mean has 3 values"):
        AudioFeatures(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match="both mean and std"):
        AudioFeatures(mean=(0.0,) * 10)
    # Data problems stay DatasetError; bad arguments are ParameterError (both ValueError).
    with pytest.raises(DatasetError, match="8000 samples"):
        mfcc(clips[:2, :8000])
    with pytest.raises(DatasetError, match=r"shape \(n, 49, 10\)"):
        fit_normalization(mfcc(clips[:2])[:, :20], AudioFeatures())
    with pytest.raises(ParameterError, match="fit_normalization"):
        audio_normalize(mfcc(clips[:2]), AudioFeatures())
    with pytest.raises(ParameterError, match="settings must be a tinykit.features.AudioFeatures, got dict"):
        mfcc(clips[:2], {"kind": "mfcc"})
    with pytest.raises(ParameterError, match="settings must be a tinykit.features.AudioFeatures, got ImuFeatures"):
        extract(clips[:2], ImuFeatures())
    with pytest.raises(TypeError):
        mfcc(clips[:2], AudioFeatures(), False)  # flags are keyword-only


def test_many_clips_in_chunks_give_the_same_features(clips):
    # More clips than one STFT batch (256): the batches must join without a seam.
    many = np.tile(clips, (int(np.ceil(600 / len(clips))), 1))[:600]
    out = mfcc(many)
    assert out.shape == (600, 49, 10)
    for i in (0, 255, 256, 511, 512, 599):
        np.testing.assert_allclose(out[i], mfcc(many[i])[0], atol=1e-4)


# ---------------------------------------------------------------- the C header


def _tables_program(header_name, s):
    """C (and C++) source printing every table of the header, one value per line."""
    prints = [("tk_window", "TK_WINDOW_SAMPLES", "%.9g", ""),
              ("tk_mel_start", "TK_NUM_MELS", "%d", "(int)"),
              ("tk_mel_length", "TK_NUM_MELS", "%d", "(int)"),
              ("tk_mel_weights", "TK_MEL_WEIGHTS", "%.9g", "")]
    if s.kind == "mfcc":
        prints.append(("((const float*)tk_dct)", "TK_NUM_MFCC * TK_NUM_MELS", "%.9g", ""))
    if s.mean is not None:
        prints += [("tk_mean", "TK_NUM_FEATURES", "%.9g", ""),
                   ("tk_std", "TK_NUM_FEATURES", "%.9g", "")]
    body = "\n".join(
        f'  printf("table {i}\\n");\n'
        f'  for (int i = 0; i < {n}; ++i) printf("{fmt}\\n", {cast}{name}[i]);'
        for i, (name, n, fmt, cast) in enumerate(prints))
    return (f'#include <stdio.h>\n#include "{header_name}"\n\nint main(void) {{\n'
            f'  printf("%d %d %d %d %d %.9g\\n", TK_SAMPLE_RATE, TK_NUM_FRAMES, TK_FFT_SIZE, '
            f'TK_NUM_FEATURES, TK_NORMALIZED, (double)TK_LOG_AMIN);\n{body}\n  return 0;\n}}\n')


def _compile_and_run(tmp_path, s, compiler, suffix, std):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    write_feature_tables(tmp_path / "audio_features.h", s)
    src = tmp_path / f"main{suffix}"
    src.write_text(_tables_program("audio_features.h", s))
    exe = tmp_path / f"tables_{compiler.replace('+', 'x')}"
    subprocess.run([compiler, f"-std={std}", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-o", str(exe), str(src)], check=True, capture_output=True, timeout=120)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    head = lines[0].split()
    tables, current = [], None
    for line in lines[1:]:
        if line.startswith("table"):
            current = []
            tables.append(current)
        else:
            current.append(float(line))
    return head, [np.array(t) for t in tables]


@pytest.mark.parametrize("compiler,suffix,std", [("gcc", ".c", "c99"), ("g++", ".cc", "c++11")])
def test_feature_header_compiles_and_holds_the_numpy_tables(tmp_path, clips, compiler,
                                                            suffix, std):
    s = fit_normalization(mfcc(clips), AudioFeatures())
    head, tables = _compile_and_run(tmp_path, s, compiler, suffix, std)
    assert head[:5] == ["16000", "49", "1024", "10", "1"]
    assert np.float32(float(head[5])) == np.float32(s.amin)
    win, start, length, weights, dct, mean, std_ = tables
    start, length = start.astype(int), length.astype(int)
    starts, lengths, np_weights = sparse_mel_filterbank(s)
    # The same float32 numbers as the numpy tables, bit for bit.
    assert np.array_equal(win.astype(np.float32), window(s))
    assert np.array_equal(start, starts) and np.array_equal(length, lengths)
    assert np.array_equal(weights.astype(np.float32), np_weights)
    assert np.array_equal(dct.astype(np.float32), dct_matrix(s).ravel())
    assert np.array_equal(mean.astype(np.float32), np.float32(s.mean))
    assert np.array_equal(std_.astype(np.float32), np.float32(s.std))
    # The sparse filterbank is the dense one without its zeros.
    dense = np.zeros_like(mel_filterbank(s))
    offsets = np.concatenate([[0], np.cumsum(length)])
    for m in range(s.n_mels):
        dense[m, start[m]:start[m] + length[m]] = weights[offsets[m]:offsets[m + 1]]
    assert np.array_equal(dense, mel_filterbank(s))
    # Compute the MFCC of one clip the way the device would, from the printed tables only.
    clip = clips[3]
    out = []
    for t in range(49):
        frame = clip[t * 320: t * 320 + 640] * win
        power = np.abs(np.fft.rfft(frame, 1024)) ** 2
        mel = np.array([weights[offsets[m]:offsets[m + 1]] @ power[start[m]:start[m] + length[m]]
                        for m in range(40)])
        out.append((dct.reshape(10, 40) @ (10 * np.log10(np.maximum(mel, s.amin))) - mean) / std_)
    assert np.allclose(np.array(out), mfcc(clip[None], s)[0], atol=2e-3)


def test_feature_header_says_what_it_is(tmp_path):
    text = feature_tables_header(AudioFeatures())
    lines = text.splitlines()
    assert lines[0].startswith("// Generated by tinykit") and "audio_frontend" in lines[0]
    assert "AudioFeatures(kind='mfcc'" in lines[0] and "Do not edit" in lines[1]
    assert 'extern "C" {' in text and "#ifndef TINYKIT_TK_AUDIO_FEATURES_H_" in text
    assert "#define TK_NUM_FRAMES 49" in text and "#define TK_FFT_SIZE 1024" in text
    assert "#define TK_FEATURE_KIND_MFCC 1" in text and "#define TK_NORMALIZED 0" in text
    assert "tk_mean" not in text
    lm = feature_tables_header(AudioFeatures(kind="log_mel"), prefix="kws")
    assert "kws_dct" not in lm and "static const float kws_window[KWS_WINDOW_SAMPLES]" in lm
    assert "#define KWS_FEATURE_KIND_LOG_MEL 1" in lm and "tk_" not in lm
    path = write_feature_tables(tmp_path / "f.h", AudioFeatures())
    assert path.read_text() == text
    with pytest.raises(ParameterError, match="not a valid C identifier"):
        feature_tables_header(AudioFeatures(), prefix="9x")
    with pytest.raises(ParameterError, match="must be a tinykit.features.AudioFeatures"):
        feature_tables_header(ImuFeatures())


# ---------------------------------------------------------------- augmentation


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


def test_speed_perturbation_moves_pitch_by_the_factor_about_the_middle():
    t = np.arange(16000, dtype=np.float32)
    tone = np.sin(2 * np.pi * 440 * t / 16000).astype(np.float32)
    x = np.tile(tone, (300, 1))
    x[:, :4000] = 0                               # a silent first quarter, to follow
    out = speed_perturb(x, max_change=0.1, seed=0)
    assert out.shape == x.shape and out.dtype == np.float32 and not x[:, :4000].any()
    middle = out[:, 7000:9000]                    # still tone in every clip
    peaks = np.abs(np.fft.rfft(middle * np.hanning(2000), axis=1)).argmax(axis=1) * 8.0
    factors = peaks / 440
    assert 0.88 < factors.min() < 0.93 and 1.07 < factors.max() < 1.12
    onsets = np.array([np.flatnonzero(np.abs(r) > 1e-6)[0] for r in out])
    # the onset moves to 8000 - 4000 / factor: earlier for faster clips, later for slower
    want = 8000 - 4000 / factors
    assert np.abs(onsets - want).max() < 4000 * 0.02 + 2
    assert np.array_equal(speed_perturb(x[:2], max_change=0.0), x[:2])
    gained = random_gain(np.full((2000, 8), 0.01, np.float32), db=6.0, seed=1)
    db = 20 * np.log10(gained[:, 0] / 0.01)
    assert -6.001 < db.min() < -5.5 and 5.5 < db.max() < 6.001
    assert random_gain(np.full((1, 4), 0.9, np.float32), db=20, seed=0).max() <= 1.0
    with pytest.raises(ParameterError, match=r"max_change must be a number in \[0.0, 0.5\]"):
        speed_perturb(x[:1], max_change=0.7)
    with pytest.raises(ParameterError, match="db must be a number >= 0.0"):
        random_gain(x[:1], db=-3)


def test_reverberation_decays_at_the_drawn_rt60_below_the_direct_sound():
    x = np.zeros((40, 16000), np.float32)
    x[:, 2000] = 0.5                                        # a click in each clip
    out = reverberate(x, probability=1.0, rt60=(0.3, 0.3), drr_db=(10.0, 10.0), seed=0)
    assert out.shape == x.shape and out.dtype == np.float32 and x[:, 2001:].max() == 0
    rms = lambda a: np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=-1))  # noqa: E731
    assert np.allclose(rms(out), rms(x), rtol=1e-4)        # loudness kept
    tail = out[:, 2001:].astype(np.float64) ** 2
    # 60 dB in 0.3 s: 20 dB from 50-100 ms to 150-200 ms after the click
    early, late = tail[:, 800:1600].sum(), tail[:, 2400:3200].sum()
    assert 18 < 10 * np.log10(early / late) < 22
    # the direct sound 10 dB above the tail
    drr = 10 * np.log10(out[:, 2000].astype(np.float64) ** 2 / tail.sum(axis=1))
    assert np.allclose(drr, 10.0, atol=0.3)
    some = reverberate(x, probability=0.5, seed=1)
    touched = (some != x).any(axis=1).mean()
    assert 0.2 < touched < 0.8
    assert np.array_equal(reverberate(x, probability=0.0, seed=0), x)
    with pytest.raises(ParameterError, match="low <= high"):
        reverberate(x, rt60=(0.6, 0.1))
    with pytest.raises(ParameterError, match=r"probability must be a number in \[0.0, 1.0\]"):
        reverberate(x, probability=1.5)


def test_random_eq_colours_within_the_bounds_and_keeps_loudness():
    x = np.random.default_rng(0).normal(0, 0.05, (20, 16000)).astype(np.float32)
    out = random_eq(x, db=6.0, seed=0)
    assert out.shape == x.shape and out.dtype == np.float32
    rms = lambda a: np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=-1))  # noqa: E731
    assert np.allclose(rms(out), rms(x), rtol=1e-4)
    response = 20 * np.log10(np.abs(np.fft.rfft(out)) / np.abs(np.fft.rfft(x)))[:, 100:]
    spread = response.max(axis=1) - response.min(axis=1)
    assert spread.max() <= 12.0 + 1e-3                     # a cut of 6 dB to a boost of 6
    assert spread.min() > 2.0                              # and no clip left flat
    assert np.array_equal(random_eq(x, db=0.0), x)
    with pytest.raises(ParameterError, match="bands must be an integer >= 2"):
        random_eq(x, bands=1)


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


def test_warped_mel_filters_move_a_tone_by_the_factor(clips):
    s = AudioFeatures(kind="log_mel")
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    x = np.tile(0.1 * tone, (3, 1))
    bands = log_mel(x, s, warp=[1.0, 1.2, 0.8]).mean(axis=1).argmax(axis=1)
    # a filter stretched by w that holds 1 kHz sat at 1 kHz / w: lower for w > 1
    centres = librosa.mel_frequencies(s.n_mels + 2, fmin=s.fmin, fmax=s.fmax)[1:-1]
    assert [int(np.abs(centres - f).argmin()) for f in (1000, 1000 / 1.2, 1000 / 0.8)] == \
        bands.tolist()
    assert bands[1] < bands[0] < bands[2]
    assert np.array_equal(mel_filterbank(s, warp=1.0), mel_filterbank(s))
    plain = extract(clips[:4], AudioFeatures())
    np.testing.assert_array_equal(extract(clips[:4], AudioFeatures(), warp=np.ones(4)), plain)
    assert not np.allclose(extract(clips[:4], AudioFeatures(), warp=[1.1] * 4), plain)
    with pytest.raises(ParameterError, match="warp must hold one stretch per clip"):
        extract(clips[:4], AudioFeatures(), warp=[1.1])
    with pytest.raises(ParameterError, match="positive number"):
        mel_filterbank(s, warp=0)


def test_audio_augment_makes_fresh_features(clips, ds):
    s = fit_normalization(mfcc(clips), AudioFeatures())
    x = extract(clips, s)
    aug = audio_augment(clips, s, noise=ds.noise, reverb=0.5, eq_db=6.0, warp=0.1)
    rng = np.random.default_rng(0)
    a1, a2 = aug(x, seed=rng), aug(x, seed=rng)
    assert a1.shape == x.shape and a1.dtype == np.float32
    assert not np.allclose(a1, a2) and not np.allclose(a1, x)
    assert np.corrcoef(a1.ravel(), x.ravel())[0, 1] > 0.5  # still the same words
    with pytest.raises(ParameterError, match="built on"):
        aug(x[:5], seed=0)


def test_augmentation_variants_are_made_once_then_drawn(clips, ds):
    s = fit_normalization(mfcc(clips[:20]), AudioFeatures())
    x = extract(clips[:20], s)
    aug = audio_augment(clips[:20], s, noise=ds.noise, time_masks=0, freq_masks=0, variants=3)
    rng = np.random.default_rng(0)
    made = [aug(x, seed=rng) for _ in range(3)]
    assert not np.allclose(made[0], made[1])
    drawn = [aug(x, seed=rng) for _ in range(6)]
    for d in drawn:                   # every clip is one of its three variants
        same = [[np.array_equal(d[i], m[i]) for m in made] for i in range(20)]
        assert all(any(row) for row in same)
    picks = {tuple(np.argmax([[np.array_equal(d[i], m[i]) for m in made] for i in range(20)],
                             axis=1)) for d in drawn}
    assert len(picks) > 1             # drawn afresh each epoch
    with pytest.raises(ParameterError, match="variants must be an integer >= 1"):
        audio_augment(clips[:2], s, variants=0)


def _tone_words(sr=16000):
    """Clips of three labels: a 440 Hz word at 0.3-0.7 s, a 1,000 Hz word at 0.2-0.8 s,
    and a 3,000 Hz hum from end to end (noise: never a source of negatives)."""
    t = np.arange(sr) / sr
    clips, labels = [], []
    for label, (f, a, b) in enumerate([(440, 0.3, 0.7), (1000, 0.2, 0.8), (3000, 0.0, 1.0)]):
        for k in range(4):
            c = (0.5 * np.sin(2 * np.pi * f * t) * ((t >= a) & (t < b))).astype(np.float32)
            clips.append(c * (1 + 0.1 * k))
            labels.append(label)
    return np.array(clips), np.array(labels)


def _band(x, f, sr=16000):
    spectrum = np.abs(np.fft.rfft(x))
    return spectrum[int(f * len(x) / sr) - 3:int(f * len(x) / sr) + 4].max()


def test_hard_negatives_are_words_cut_short_or_spliced_from_two_labels():
    from tinykit.features.augment import _word_spans
    clips, labels = _tone_words()
    neg = hard_negatives(clips, labels, 40, seed=0)
    np.testing.assert_array_equal(neg, hard_negatives(clips, labels, 40, seed=0))
    assert neg.shape == (40, 16000) and neg.dtype == np.float32
    start, stop = _word_spans(neg, 16000)
    for i, n in enumerate(neg):
        low, mid, hum = _band(n, 440), _band(n, 1000), _band(n, 3000)
        assert hum < 0.01 * max(low, mid)          # the end-to-end hum is no word
        span = (stop[i] - start[i]) / 16000
        if i % 2 == 0:                             # cut short: one word, 25-50% of it
            assert (low > 50 * mid) or (mid > 50 * low)
            whole = 0.4 if low > mid else 0.6
            assert 0.25 * whole - 0.03 <= span <= 0.5 * whole + 0.03
        else:                                      # spliced: two labels, never one twice
            assert min(low, mid) > 0.05 * max(low, mid)
            assert 0.35 * 1.0 - 0.05 <= span <= 0.65 * 1.0 + 0.05
    with pytest.raises(ParameterError, match="at least two labels"):
        hard_negatives(clips[:4], labels[:4], 2)
    with pytest.raises(DatasetError, match="expected 12 labels"):
        hard_negatives(clips, labels[:3], 2)


def test_augmentation_fills_negative_slots_afresh(clips, ds):
    words, labels = clips[:20], np.arange(20) % 4
    slots = np.concatenate([labels, [-1, -1, -1]])
    padded = np.concatenate([words, np.zeros((3, words.shape[1]), np.float32)])
    s = fit_normalization(mfcc(words), AudioFeatures())
    x = extract(padded, s)
    aug = audio_augment(padded, s, time_masks=0, freq_masks=0, max_shift=0.0, variants=2,
                        negatives=slots)
    rng = np.random.default_rng(0)
    a, b = aug(x, seed=rng), aug(x, seed=rng)
    np.testing.assert_allclose(a[:20], x[:20], atol=1e-4)   # the words are left as they are
    assert not np.allclose(a[20:], x[20:]) and not np.allclose(a[20:], b[20:])
    with pytest.raises(ParameterError, match="one integer label per clip"):
        audio_augment(padded, s, negatives=slots[:5])


def test_bad_augmentation_arguments_raise_parameter_error(clips, ds):
    a, s = clips[:2], AudioFeatures()
    cases = [
        (lambda: time_shift(a, max_shift=-0.1), "max_shift must be a number >= 0.0, got -0.1"),
        (lambda: time_shift(a, sample_rate=0), "sample_rate must be positive"),
        (lambda: time_shift(a, seed=-1), "seed must be None, a non-negative int"),
        (lambda: time_shift(a, seed="x"), "seed must be None"),
        (lambda: mix_noise(a, ds.noise, probability=1.5),
         r"probability must be a number in \[0.0, 1.0\]"),
        (lambda: mix_noise(a, ds.noise, level=-1), "level must be a number >= 0.0"),
        (lambda: mix_noise(a, ds.noise, level=(0.5, 0.1)), "low <= high"),
        (lambda: mix_noise(a, ds.noise, level=(0.1, 0.2, 0.3)), "a number or a"),
        (lambda: spec_augment(np.ones((1, 49, 10)), time_width=-2),
         "time_width must be an integer"),
        (lambda: spec_augment(np.ones((1, 49, 10)), freq_masks=1.5),
         "freq_masks must be an integer"),
        (lambda: audio_augment(a, s, max_shift=-1), "max_shift"),
        (lambda: audio_augment(a, s, noise=ds.noise, probability=2), "probability"),
        (lambda: audio_augment(a, s, time_masks=-1), "time_masks"),
        (lambda: audio_augment(a, s, speed=0.9), "max_change"),
        (lambda: audio_augment(a, s, gain_db=-1), "db must be"),
        (lambda: audio_augment(a, s, reverb=1.2), "probability must be"),
        (lambda: audio_augment(a, s, eq_db=-2), "db must be"),
        (lambda: audio_augment(a, s, warp=0.5), r"warp must be a number in \[0.0, 0.3\]"),
        (lambda: audio_augment(a, {"kind": "mfcc"}), "settings must be a tinykit.features.AudioFeatures"),
    ]
    for call, message in cases:
        with pytest.raises(ParameterError, match=message):
            call()
    with pytest.raises(DatasetError, match="at least 16000 samples"):
        mix_noise(a, [np.zeros(100, np.float32)])
    with pytest.raises(DatasetError, match=r"\(n, frames, coefficients\)"):
        spec_augment(np.ones((49, 10)))
    with pytest.raises(TypeError):
        time_shift(a, 0.1)  # keyword-only
