"""Spoken words from a speech synthesizer (espeak-ng): more, and more varied, clips for a
keyword spotter where recordings are few.

Each clip is one word said by espeak-ng in a voice drawn at random (7 English accents,
each plain or in one of 38 variants), at a random speed (110-229 words a minute) and pitch, trimmed
of silence, placed at a random point of a 1 s clip and scaled to a random peak between
-20 and -1 dB of full scale (the span of Speech Commands' clips). A formant synthesizer
sounds like no person; what the clips add is words and accents the recordings lack.

Example:
    >>> said = speak(["bed", "bird"], 4, seed=0)  # doctest: +SKIP
    >>> said.audio.shape, said.words  # doctest: +SKIP
    ((4, 16000), ['bed', 'bird', 'bed', 'bird'])
"""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

from .._tools import require_tool, run_tool
from ..errors import DatasetError, ParameterError
from .audio import SAMPLE_RATE

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
            "Alex", "Andy", "annie", "aunty", "belinda", "benjamin", "david", "edward",
            "grandma", "grandpa", "john", "linda", "max", "michel", "paul", "Mike", "Lee",
            "steph", "steph2", "robert", "quincy", "victor", "zac", "klatt", "klatt2")

#: Words that are none of the Speech Commands keywords, for ``_unknown_``: words that
#: sound like a keyword (rhymes, shared vowels or consonants), the data set's own other
#: words, and everyday ones. Homophones of keywords (know, write) are left out.
OTHER_WORDS = tuple("""
yet yell yellow less mess guess chess test dress yeast note nose now snow new low nah cup
pup upper supper hop top app but jump town brown gown crown clown round sound dawn done dune
lift loft leaf laughed lend theft felt bright night light fight kite white ride bike ripe
rice own an in upon cough often office coffee awful lost soft step stock shop stomp spot
stuff strap goat gold ghost grow glow dough though coat good girl
bed bird cat dog happy house marvin sheila tree wow backward forward follow learn visual
zero one two three four five six seven eight nine
hello okay please thanks water music turn play what when where table window morning
evening later maybe sorry again start open close phone""".split())


@dataclass
class Spoken:
    """Synthesized clips: ``audio`` float32 (n, samples), and for each clip the word
    said and the espeak-ng voice that said it."""
    audio: np.ndarray
    words: list
    voices: list


def say(word, voice="en-us", *, speed=160, pitch=50, sample_rate=SAMPLE_RATE,
        timeout=10.0) -> np.ndarray:
    """One word from espeak-ng as float32 samples at ``sample_rate``, silence trimmed.

    Raises:
        ToolNotFoundError: espeak-ng is not installed.
        DatasetError: espeak-ng failed, ran past ``timeout`` s, or said nothing.
    """
    import librosa
    cmd = [require_tool("espeak-ng"), "-v", voice, "-s", str(int(speed)), "-p",
           str(int(pitch)), "--stdout", word]
    out = run_tool(cmd, what=f"espeak-ng saying {word!r} in voice {voice!r}", timeout=timeout,
                   text=False, error=DatasetError,
                   hint="`espeak-ng --voices=en` lists the voices.").stdout
    audio = np.zeros(0, np.float32)
    if out:
        with wave.open(io.BytesIO(out)) as w:
            rate = w.getframerate()
            audio = np.frombuffer(w.readframes(w.getnframes()), np.int16) / np.float32(32768)
        audio = librosa.resample(audio.astype(np.float32), orig_sr=rate,
                                 target_sr=sample_rate)
        audio, _ = librosa.effects.trim(audio, top_db=40)
    if not np.any(audio):
        raise DatasetError(f"espeak-ng said nothing for {word!r} in voice {voice!r}.")
    return audio


def speak(words, n, *, seed=0, sample_rate=SAMPLE_RATE, duration=1.0, phrases=0.0,
          progress=False) -> Spoken:
    """``n`` clips of ``words`` (in turn) in random voices, speeds, pitches, places and
    loudness; the same ``seed`` gives the same clips, and fewer clips are the first ones
    of more (the last call's clips are kept, so asking again, or for more, is quick).

    Args:
        words: the words to say, e.g. :data:`OTHER_WORDS` or a data set's keywords.
        n: how many clips.
        seed: seed of the voices, speeds, pitches, places and loudness.
        sample_rate, duration: of each clip; a word longer than ``duration`` is cut.
        phrases: share of the clips (spread evenly among them) that say 2-3 of the words,
            drawn at random, run together; such a clip is a window of ``duration``
            anywhere from half a window before the phrase to half a window after it, so
            words are cut at either edge, as a stream shows them between keywords.
        progress: show a progress bar.

    Example:
        >>> unknown = speak(OTHER_WORDS, 800, seed=0)  # doctest: +SKIP
        >>> cut = speak(OTHER_WORDS, 800, seed=0, phrases=0.5)  # doctest: +SKIP
    """
    words = [words] if isinstance(words, str) else list(words)
    if not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise ParameterError(f"words={words!r}: give one or more words to say.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r}: give how many clips to make (0 or more).")
    if isinstance(phrases, bool) or not isinstance(phrases, (int, float)) or not 0 <= phrases <= 1:
        raise ParameterError(f"phrases={phrases!r}: give the share of clips that are phrases, "
                             f"from 0 to 1.")
    length = int(round(duration * sample_rate))
    key = (tuple(words), seed, sample_rate, length, phrases)
    if _made.get("key") != key:
        _made.clear()
        _made.update(key=key, rng=np.random.default_rng(seed), audio=[], words=[], voices=[])
    steps = range(len(_made["audio"]), n)
    if progress and steps:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="espeak-ng", unit="clip")
    try:
        for i in steps:
            text, voice, clip = _one_clip(words, i, _made["rng"], sample_rate, length, phrases)
            _made["audio"].append(clip)
            _made["words"].append(text)
            _made["voices"].append(voice)
    except BaseException:
        _made.clear()       # the generator has moved past the clips kept: start afresh
        raise
    audio = np.stack(_made["audio"][:n]) if n else np.zeros((0, length), np.float32)
    return Spoken(audio, _made["words"][:n], _made["voices"][:n])


# The clips of the last call to speak() and the generator that continues them.
_made = {}


def _one_clip(words, i, rng, sample_rate, length, phrases):
    """speak()'s clip ``i``: its text, voice and samples."""
    variant = VARIANTS[rng.integers(len(VARIANTS))]
    voice = ACCENTS[rng.integers(len(ACCENTS))] + (f"+{variant}" if variant else "")
    phrase = int((i + 1) * phrases) > int(i * phrases)
    if phrase:
        text = " ".join(words[j] for j in rng.integers(len(words), size=rng.integers(2, 4)))
    else:           # the words in turn over the clips that are not phrases
        text = words[(i - int(i * phrases)) % len(words)]
    a = say(text, voice, speed=rng.integers(110, 230), pitch=rng.integers(15, 90),
            sample_rate=sample_rate)[:None if phrase else length]
    a *= 10 ** rng.uniform(-1.0, -0.05) / np.abs(a).max()
    if phrase:      # where the clip's window starts, relative to the phrase
        at = -int(rng.integers(-(length // 2), len(a) - length // 2 + 1))
    else:
        at = int(rng.integers(0, length - len(a) + 1))
    lo, hi = max(at, 0), min(at + len(a), length)
    clip = np.zeros(length, np.float32)
    clip[lo:hi] = a[lo - at:hi - at]
    return text, voice, clip
