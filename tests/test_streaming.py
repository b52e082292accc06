"""Streaming keyword detection: windows, smoothing, peak picking, suppression, scoring."""
import numpy as np
import pytest

from tinykit import streaming
from tinykit.features.audio import AudioFeatures

LABELS = ["_silence_", "_unknown_", "yes", "no"]


def bump(times, center, width=0.3):
    return np.exp(-0.5 * ((times - center) / width) ** 2)


def test_detections_peak_suppress_and_ignore():
    times = np.arange(0, 10, 0.1)
    p = np.zeros((len(times), 4), np.float32)
    p[:, 0] = 0.5
    p[:, 2] = np.maximum(0.9 * bump(times, 2.0), 0.85 * bump(times, 2.6))  # "yes", two humps
    p[:, 3] = 0.95 * bump(times, 6.0)                            # one "no"
    p[:, 1] = 0.99 * bump(times, 8.0)                            # unknown: never reported
    found = streaming.detections_from(times, p, LABELS, threshold=0.6, suppress=1.0)
    assert [d.label for d in found] == ["yes", "no"]
    assert found[0].time == pytest.approx(2.0) and found[1].time == pytest.approx(6.0)
    # Without suppression, the second hump of "yes" is a second detection.
    again = streaming.detections_from(times, p, LABELS, threshold=0.6, suppress=0.0)
    assert [d.label for d in again] == ["yes", "yes", "no"]


def test_smoothing_is_a_trailing_average():
    times = np.arange(0, 1, 0.1)
    p = np.zeros((10, 2), np.float32)
    p[5, 0] = 1.0
    s = streaming.smooth(p, times, window=0.3)
    np.testing.assert_allclose(s[5:8, 0], 1 / 3, rtol=1e-6)
    assert s[4, 0] == 0 and s[8, 0] == 0


def test_stream_truth_and_scoring():
    clips = np.full((4, 16000), 0.5, np.float32)
    audio, truth = streaming.make_stream(clips, [2, 0, 3, 2], LABELS, gap=(1.0, 1.0),
                                         shuffle=False)
    assert len(audio) == 4 * 16000 + 5 * 16000
    assert [t[0] for t in truth] == ["yes", "no", "yes"]   # silence is placed, not listed
    start = int(truth[1][1] * 16000)
    assert audio[start] == 0.5 and audio[start - 1] == 0.0
    found = [streaming.Detection("yes", truth[0][2], 0.9),       # hit
             streaming.Detection("yes", truth[1][2], 0.9),       # wrong word: false alarm
             streaming.Detection("no", 0.2, 0.9)]                # nothing there: false alarm
    score = streaming.evaluate(found, truth, duration=3600.0)
    assert score["hits"] == 1 and score["misses"] == 2 and score["false_alarms"] == 2
    assert score["false_alarms_per_hour"] == pytest.approx(2.0)


class LoudnessModel:
    """A stand-in model: "yes" when the window is loud, silence otherwise."""

    def predict(self, x, verbose=0):
        loud = (x.mean(axis=(1, 2)) > -5).astype(np.float32)
        p = np.zeros((len(x), 4), np.float32)
        p[:, 2], p[:, 0] = loud, 1 - loud
        return p


def test_detect_runs_windows_through_the_model():
    settings = AudioFeatures()
    rng = np.random.default_rng(0)
    clips = rng.normal(0, 0.3, size=(2, 16000)).astype(np.float32)
    audio, truth = streaming.make_stream(clips, [2, 2], LABELS, gap=(2.0, 2.0))
    times, probs = streaming.posteriors(audio, LoudnessModel(), settings, stride=0.1)
    assert probs.shape == (len(times), 4)
    assert times[0] == pytest.approx(1.0) and times[1] - times[0] == pytest.approx(0.1)
    found = streaming.detect(audio, LoudnessModel(), settings, LABELS, threshold=0.9,
                             window=0.1)
    score = streaming.evaluate(found, truth)
    assert score["hits"] == 2 and score["false_alarms"] == 0


def test_the_host_and_device_figure_draws_each_where_it_belongs():
    import matplotlib
    matplotlib.use("Agg")
    from tinykit import plots
    D = streaming.Detection
    audio = np.zeros(16000 * 5, np.int16)
    host, device = [D("yes", 1.5, 0.9), D("no", 3.2, 0.8)], [D("yes", 1.52, 0.9)]
    fig = plots.stream_host_device(audio, host, device, [("yes", 0.8, 1.8)])
    top, strip = fig.axes

    assert [t.get_text().strip() for t in strip.texts] == ["yes"]
    assert [round(line.get_xdata()[0], 3) for line in strip.lines] == [1.52]
    assert [round(line.get_xdata()[0], 3) for line in top.lines[1:]] == [1.5, 3.2]
    assert {"yes", "no"} <= {t.get_text().strip() for t in top.texts}
    assert strip.get_xlabel() == "time (s)" and strip.get_xlim() == (0, 5)
    matplotlib.pyplot.close("all")
