"""Spoken words from espeak-ng (tinykit.datasets.speak) and their place in keyword training."""
import shutil

import numpy as np
import pytest

from tinykit import datasets, recipes
from tinykit.errors import DatasetError, ParameterError, ToolNotFoundError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (sh boards/install-tools.sh)")


@needs_espeak
def test_speak_says_each_word_in_turn_within_the_clip_and_repeats_with_its_seed():
    said = datasets.speak(["bed", "bird", "yes"], 6, seed=3)
    assert said.audio.shape == (6, 16000) and said.audio.dtype == np.float32
    assert said.words == ["bed", "bird", "yes"] * 2
    peaks = np.abs(said.audio).max(axis=1)
    assert np.all(peaks >= 10 ** -1.0 * 0.999) and np.all(peaks <= 10 ** -0.05 * 1.001)
    # a word, not a clip of sound: some of each clip stays silent (the word is placed)
    assert np.all((said.audio == 0).sum(axis=1) > 1000)
    assert len(set(said.voices)) > 1
    datasets.spoken._made.clear()                   # made again, not the kept clips
    again = datasets.speak(["bed", "bird", "yes"], 6, seed=3)
    assert np.array_equal(said.audio, again.audio) and said.voices == again.voices
    other = datasets.speak(["bed", "bird", "yes"], 6, seed=4)
    assert not np.array_equal(said.audio, other.audio)


@needs_espeak
def test_phrases_run_words_together_cut_at_the_edges_and_fewer_clips_are_the_first():
    words = ["bed", "bird", "yes", "tree"]
    mixed = datasets.speak(words, 12, seed=5, phrases=0.5)
    phrases = [w.split() for w in mixed.words[1::2]]
    assert mixed.words[0::2] == words + words[:2]           # in turn, between the phrases
    assert all(2 <= len(p) <= 3 and set(p) <= set(words) for p in phrases)
    ends = mixed.audio[1::2][:, [0, -1]] != 0   # sounding at the clip's first or last sample
    assert ends.any(axis=1).mean() >= 0.5 and ends[:, 0].any() and ends[:, 1].any()
    assert not (mixed.audio[0::2][:, [0, -1]] != 0).any()
    assert np.all(np.abs(mixed.audio).max(axis=1) > 0)
    datasets.spoken._made.clear()                           # made afresh, not kept ones
    fewer = datasets.speak(words, 5, seed=5, phrases=0.5)
    assert np.array_equal(fewer.audio, mixed.audio[:5]) and fewer.words == mixed.words[:5]
    more = datasets.speak(words, 12, seed=5, phrases=0.5)   # 5 kept, 7 more made
    assert np.array_equal(more.audio, mixed.audio) and more.voices == mixed.voices
    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ParameterError, match="share of clips that are phrases"):
            datasets.speak(words, 2, phrases=bad)


@needs_espeak
def test_training_clips_gain_other_words_as_unknown(bundled_dir):
    ds = datasets.load(bundled_dir / "speech_commands")
    x, y = ds.audio("train")
    x2, y2 = recipes._with_spoken(ds, x, y, 0.05, seed=0, verbose=False)
    n = round(0.05 * len(y))
    assert n > 0 and x2.shape == (len(x) + n, x.shape[1])
    assert np.array_equal(x2[:len(x)], x) and np.array_equal(y2[:len(y)], y)
    assert np.all(y2[len(y):] == ds.labels.index("_unknown_"))
    assert np.all(np.abs(x2[len(x):]).max(axis=1) > 0.09)
    keywords = [w for w in ds.labels if not w.startswith("_")]
    assert not set(datasets.spoken.OTHER_WORDS) & set(keywords)


def test_spoken_unknown_needs_a_share_and_an_unknown_label(bundled_dir):
    ds = datasets.load(bundled_dir / "speech_commands", unknown=False)
    x, y = ds.audio("train")
    with pytest.raises(ParameterError, match="spoken_unknown=0"):
        recipes._with_spoken(ds, x, y, 0.05, seed=0, verbose=False)
    ds = datasets.load(bundled_dir / "speech_commands")
    for bad in (-0.1, "0.35", float("nan")):
        with pytest.raises(ParameterError, match="a number >= 0"):
            recipes._with_spoken(ds, x, y, bad, seed=0, verbose=False)


def test_bad_words_and_a_missing_synthesizer_say_what_to_do(monkeypatch):
    with pytest.raises(ParameterError, match="one or more words"):
        datasets.speak([], 3)
    with pytest.raises(ParameterError, match="how many clips"):
        datasets.speak(["bed"], -1)
    monkeypatch.setenv("PATH", "")
    datasets.spoken._made.clear()
    with pytest.raises(ToolNotFoundError, match="install-tools.sh"):
        datasets.speak(["bed"], 1)


@needs_espeak
def test_an_unknown_voice_is_a_dataset_error():
    with pytest.raises(DatasetError, match="--voices"):
        datasets.spoken.say("bed", "zzq")
