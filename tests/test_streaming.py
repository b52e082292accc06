"""Streaming keyword detection: windows, smoothing, peak picking, suppression, scoring."""
import dataclasses

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


def _noisy_stream(seed=0):
    """Posteriors of a 60-s stream: five "yes"/"no" humps of various heights, plus
    smaller stray humps of both words between them, over a flickering silence."""
    rng = np.random.default_rng(seed)
    times = np.arange(1.0, 61.0, 0.1)
    p = np.full((len(times), 4), 0.05, np.float32)
    truth = []
    for i, center in enumerate((5.0, 15.0, 25.0, 35.0, 45.0)):
        k = 2 + i % 2
        p[:, k] += (0.5 + 0.1 * i) * bump(times, center)
        truth.append((LABELS[k], center - 0.8, center))
    for center in (10.0, 20.0, 30.0, 40.0, 50.0, 55.0):
        p[:, 2 + int(rng.integers(2))] += rng.uniform(0.3, 0.9) * bump(times, center)
    p[:, 0] += rng.uniform(0, 0.3, len(times))
    return times, p / p.sum(axis=1, keepdims=True), truth


def test_a_stream_without_keywords_has_no_hits_and_only_false_alarms():
    found = [streaming.Detection("yes", 2.0, 0.9), streaming.Detection("no", 9.0, 0.7)]
    s = streaming.evaluate(found, [], duration=1800.0)
    assert s["hits"] == 0 and s["misses"] == 0 and s["hit_rate"] is None
    assert s["false_alarms"] == s["false_alarms_keyword_free"] == 2 and s["wrong_word"] == 0
    assert s["keyword_free_hours"] == pytest.approx(0.5)
    assert s["false_alarms_per_hour_keyword_free"] == pytest.approx(4.0)


def test_wrong_words_are_told_apart_from_false_alarms_in_keyword_free_audio():
    truth = [("yes", 10.0, 11.0), ("no", 20.0, 21.0)]
    found = [streaming.Detection("yes", 10.8, 0.9),      # hit
             streaming.Detection("yes", 11.2, 0.8),      # same word twice: wrong word
             streaming.Detection("yes", 20.5, 0.7),      # "no" heard as "yes": wrong word
             streaming.Detection("no", 30.0, 0.7)]       # keyword-free false alarm
    s = streaming.evaluate(found, truth, duration=3600.0)
    assert (s["hits"], s["misses"], s["wrong_word"], s["false_alarms_keyword_free"]) == (1, 1, 2, 1)
    assert s["keyword_free_hours"] == pytest.approx((3600 - 2 * (1 + streaming.TOLERANCE)) / 3600)
    assert s["per_keyword"]["yes"] == {"keywords": 1, "hits": 1, "false_alarms": 2,
                                       "false_alarms_keyword_free": 0}
    assert s["per_keyword"]["no"] == {"keywords": 1, "hits": 0, "false_alarms": 1,
                                      "false_alarms_keyword_free": 1}


def test_a_late_detection_of_the_right_word_is_a_hit_not_a_miss_and_a_false_alarm():
    # a word at the end of its clip: 1-s windows still hold it up to 1 s after the clip
    truth = [("yes", 10.0, 11.0)]
    late = streaming.evaluate([streaming.Detection("yes", 11.8, 0.9)], truth, duration=60.0)
    assert (late["hits"], late["misses"], late["false_alarms"]) == (1, 0, 0)
    later = streaming.evaluate([streaming.Detection("yes", 12.1, 0.9)], truth, duration=60.0)
    assert (later["hits"], later["misses"], later["false_alarms_keyword_free"]) == (0, 1, 1)


def test_the_sweep_is_monotone_in_the_threshold():
    streams = [_noisy_stream(seed) for seed in range(3)]
    rows = streaming.sweep(streams, LABELS, thresholds=np.arange(0.2, 0.95, 0.05))
    hits = [r["hits"] for r in rows]
    fa = [r["false_alarms_keyword_free"] for r in rows]
    assert hits == sorted(hits, reverse=True) and fa == sorted(fa, reverse=True)
    assert hits[0] > hits[-1] and fa[0] > fa[-1] > -1      # the sweep spans both ends
    # the pooled rows are each stream's scores added up
    one = [streaming.evaluate(streaming.detections_from(t, streaming.smooth(p, t), LABELS,
                                                        threshold=rows[3]["threshold"]),
                              truth, duration=float(t[-1])) for t, p, truth in streams]
    assert rows[3]["hits"] == sum(s["hits"] for s in one)
    assert rows[3]["hit_rate"] == pytest.approx(rows[3]["hits"] / 15)
    limit = rows[-3]["false_alarms_per_hour_keyword_free"]
    best = streaming.operating_point(rows, max_false_alarms_per_hour=limit)
    assert best["false_alarms_per_hour_keyword_free"] <= limit
    assert best["hit_rate"] == max(r["hit_rate"] for r in rows
                                   if r["false_alarms_per_hour_keyword_free"] <= limit)
    assert "FA/h keyword-free" in streaming.sweep_table(rows, per_keyword=True)


def test_a_keyword_free_stream_holds_the_clips_and_stretches_of_noise():
    clips = np.full((3, 16000), 0.25, np.float32)
    noise = [np.linspace(-1, 1, 8000, dtype=np.float32)]
    audio, truth = streaming.keyword_free_stream(clips, noise=noise, noise_seconds=2.0,
                                                 levels=(0.1, 0.2), gap=(1.0, 1.0))
    assert truth == []
    assert len(audio) == 3 * 16000 + 4 * 16000 + 2 * 2 * 16000
    assert np.abs(audio[-32000:]).max() == pytest.approx(0.2, abs=1e-3)
    with pytest.raises(streaming.DatasetError, match="clips as an array"):
        streaming.keyword_free_stream(clips[0])


def test_detector_settings_round_trip_and_are_checked(tmp_path):
    d = streaming.KeywordDetector(threshold=0.85, window=0.3, suppress=1.5, every=4)
    assert streaming.load_detector(d.save(tmp_path / "m_detector.json")) == d
    assert d.options(AudioFeatures())["stride"] == pytest.approx(4 * 0.02)
    assert d.device_options()["every"] == 4
    with pytest.raises(streaming.ParameterError, match="threshold in"):
        streaming.KeywordDetector(threshold=1.5)
    (tmp_path / "f.json").write_text(AudioFeatures().to_json())
    with pytest.raises(streaming.DatasetError, match="not tinykit keyword detector"):
        streaming.load_detector(tmp_path / "f.json")


def test_the_sweep_figure_marks_the_operating_point():
    import matplotlib
    matplotlib.use("Agg")
    from tinykit import plots
    rows = streaming.sweep([_noisy_stream(0)], LABELS, thresholds=(0.3, 0.5, 0.7))
    fig = plots.detection_sweep(rows, operating=0.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "false alarms per hour of keyword-free audio"
    assert ax.get_ylabel() == "hit rate (%)"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "all keywords" in labels and "yes" in labels
    mark = [line for line in ax.get_lines() if line.get_label().startswith("operating point")]
    assert len(mark) == 1 and mark[0].get_ydata()[0] == pytest.approx(100 * rows[1]["hit_rate"])


def test_kws_streams_keep_keywords_out_of_the_keyword_free_stream():
    from tinykit import recipes
    clips = np.full((5, 16000), 0.3, np.float32)
    (audio, truth), (quiet, none) = recipes.kws_streams(clips, [2, 0, 3, 1, 2], LABELS)
    assert sorted(t[0] for t in truth) == ["no", "yes", "yes"] and none == []
    # the two non-keywords (silence, unknown) and their gaps, no noise given
    assert 2 * 16000 + 3 * 16000 <= len(quiet) <= 2 * 16000 + 3 * 2 * 16000


def test_kws_posteriors_run_the_model_over_each_stream_at_the_detectors_stride():
    from tinykit import recipes
    settings = AudioFeatures()
    clips = np.random.default_rng(0).normal(0, 0.3, size=(4, 16000)).astype(np.float32)
    streams = recipes.kws_streams(clips, [2, 0, 3, 1], LABELS)
    posts = recipes.kws_posteriors(LoudnessModel(), settings, streams)
    assert [p[2] for p in posts] == [s[1] for s in streams]
    assert np.diff(posts[0][0])[0] == pytest.approx(0.1)
    slow = recipes.kws_posteriors(LoudnessModel(), settings, streams,
                                  detector=streaming.KeywordDetector(every=10))
    assert np.diff(slow[1][0])[0] == pytest.approx(0.2)
    times, probs = streaming.posteriors(streams[1][0], LoudnessModel(), settings, stride=0.2)
    assert np.array_equal(slow[1][0], times) and np.array_equal(slow[1][1], probs)


# -- min_runs, margin and per-keyword thresholds ---------------------------------------
def _rows(*spans, n=20):
    """Smoothed rows (n, 4) over LABELS, 0.1 s apart: silence at 0.5 everywhere but in
    ``spans`` of ``(first_row, label, [values])``, where the label takes each value and
    silence the rest (1 - value)."""
    p = np.zeros((n, 4))
    p[:, 0] = 0.5
    for first, label, values in spans:
        for r, v in enumerate(values, first):
            p[r] = 0.0
            p[r, LABELS.index(label)] = v
            p[r, 0] = 1.0 - v
    return np.arange(n) * 0.1, p


def test_the_defaults_detect_as_before():
    """A hand-worked case: a run's first highest row is reported; the same word again
    within a second is not; unknown never is."""
    times, p = _rows((2, "yes", [0.7, 0.9, 0.8]), (6, "yes", [0.65, 0.65]),
                     (12, "no", [0.7, 0.7]), (15, "_unknown_", [0.9, 0.9]),
                     (18, "yes", [0.61]))
    want = [streaming.Detection("yes", 0.3, 0.9), streaming.Detection("no", 1.2, 0.7),
            streaming.Detection("yes", 1.8, 0.61)]
    assert streaming.detections_from(times, p, LABELS) == want
    assert streaming.detections_from(times, p, LABELS, min_runs=1, margin=0.0,
                                     thresholds={}) == want
    # the per-keyword thresholds equal to the default change nothing either
    assert streaming.detections_from(times, p, LABELS, thresholds={"yes": 0.6, "no": 0.6}) == want


def test_min_runs_drops_a_short_run_and_keeps_a_long_one():
    times, p = _rows((2, "yes", [0.7, 0.8]), (8, "no", [0.7, 0.9, 0.8, 0.7]))
    assert [d.label for d in streaming.detections_from(times, p, LABELS)] == ["yes", "no"]
    assert [d.label for d in streaming.detections_from(times, p, LABELS, min_runs=2)] == \
        ["yes", "no"]                                     # a run of exactly min_runs counts
    long_only = streaming.detections_from(times, p, LABELS, min_runs=3)
    assert long_only == [streaming.Detection("no", 0.9, 0.9)]
    assert streaming.detections_from(times, p, LABELS, min_runs=5) == []


def test_a_dropped_short_run_does_not_suppress_the_next():
    times, p = _rows((2, "yes", [0.7]), (5, "yes", [0.7, 0.8, 0.7]))
    assert [d.time for d in streaming.detections_from(times, p, LABELS)] == [0.2]
    assert [d.time for d in streaming.detections_from(times, p, LABELS, min_runs=2)] == [0.6]


def test_margin_drops_a_run_whose_runner_up_is_close():
    times, p = _rows((2, "yes", [0.75, 0.75]), (10, "no", [0.9, 0.9]))
    # "yes" beats silence by 0.5, "no" by 0.8; the runner-up may be any class.
    assert [d.label for d in streaming.detections_from(times, p, LABELS, margin=0.5)] == \
        ["yes", "no"]                                     # a margin met exactly counts
    assert [d.label for d in streaming.detections_from(times, p, LABELS, margin=0.6)] == ["no"]
    p[10:12, 0], p[10:12, 1] = 0.0, 0.1 + 1 / 64          # runner-up "_unknown_" now
    assert [d.label for d in streaming.detections_from(times, p, LABELS, margin=0.8)] == []
    assert [d.label for d in streaming.detections_from(times, p, LABELS, margin=0.75)] == ["no"]


def test_a_row_short_of_the_margin_splits_the_run():
    times, p = _rows((2, "yes", [0.9, 0.9, 0.55, 0.9, 0.9]))
    assert len(streaming.detections_from(times, p, LABELS, threshold=0.5)) == 1
    split = streaming.detections_from(times, p, LABELS, threshold=0.5, margin=0.2,
                                      suppress=0.0)
    assert [d.time for d in split] == [0.2, 0.5]
    assert streaming.detections_from(times, p, LABELS, threshold=0.5, margin=0.2,
                                     suppress=0.0, min_runs=3) == []


def test_a_per_keyword_threshold_silences_that_keyword_only():
    times, p = _rows((2, "yes", [0.8, 0.8]), (10, "no", [0.8, 0.8]))
    found = streaming.detections_from(times, p, LABELS, thresholds={"yes": 0.85})
    assert [d.label for d in found] == ["no"]
    found = streaming.detections_from(times, p, LABELS, threshold=0.9, thresholds={"no": 0.8})
    assert [d.label for d in found] == ["no"]             # "yes" at the default 0.9: silent
    with pytest.raises(streaming.ParameterError, match=r"'yess'.*not among the labels"):
        streaming.detections_from(times, p, LABELS, thresholds={"yess": 0.8})
    with pytest.raises(streaming.ParameterError, match=r"thresholds\['no'\]=1.5.*\[0, 1\]"):
        streaming.detections_from(times, p, LABELS, thresholds={"no": 1.5})


def test_detector_round_trips_the_new_settings_and_rejects_bad_ones(tmp_path):
    d = streaming.KeywordDetector(threshold=0.7, min_runs=3, margin=0.25,
                                  thresholds={"yes": 0.8, "no": 0.65})
    assert d.thresholds == (("no", 0.65), ("yes", 0.8))
    back = streaming.load_detector(d.save(tmp_path / "m_detector.json"))
    assert back == d and (back.min_runs, back.margin) == (3, 0.25)
    assert '"yes": 0.8' in (tmp_path / "m_detector.json").read_text()   # a JSON object
    opts = d.options(AudioFeatures())
    assert (opts["min_runs"], opts["margin"], opts["thresholds"]) == (3, 0.25,
                                                                      {"no": 0.65, "yes": 0.8})
    assert d.device_options()["thresholds"] == {"no": 0.65, "yes": 0.8}
    # a file of an older tinykit, without the new settings, is today's detector
    (tmp_path / "old.json").write_text('{"tinykit": "keyword_detector", "version": 1, '
                                       '"threshold": 0.8, "window": 0.5, "suppress": 1.0, '
                                       '"every": 5}')
    old = streaming.load_detector(tmp_path / "old.json")
    assert (old.min_runs, old.margin, old.thresholds) == (1, 0.0, ())
    for bad, match in [(dict(min_runs=0), r"min_runs=0: .*>= 1"),
                       (dict(min_runs=2.5), r"min_runs=2.5: .*>= 1"),
                       (dict(margin=-0.1), r"margin=-0.1: .*\[0, 1\]"),
                       (dict(margin=1.5), r"margin=1.5: .*\[0, 1\]"),
                       (dict(thresholds={"yes": 1.2}), r"thresholds\['yes'\]=1.2: .*\[0, 1\]"),
                       (dict(thresholds={3: 0.5}), r"each label once, as a string"),
                       (dict(thresholds=0.5), r"expected per-keyword thresholds")]:
        with pytest.raises(streaming.ParameterError, match=match):
            streaming.KeywordDetector(**bad)
    (tmp_path / "bad.json").write_text(d.to_json().replace('"min_runs": 3', '"min_runs": 0'))
    with pytest.raises(streaming.DatasetError, match="min_runs=0"):
        streaming.load_detector(tmp_path / "bad.json")


def test_the_sweep_stays_monotone_with_the_new_settings():
    """min_runs, margin and a per-keyword threshold held fixed while the default
    threshold is swept: still monotone; the keyword with its own threshold scores the
    same in every row (the swept value is the others' threshold)."""
    streams = [_noisy_stream(seed) for seed in range(3)]
    kw = dict(min_runs=3, margin=0.05, keyword_thresholds={"no": 0.45})
    rows = streaming.sweep(streams, LABELS, thresholds=np.arange(0.2, 0.95, 0.05), **kw)
    hits = [r["hits"] for r in rows]
    fa = [r["false_alarms_keyword_free"] for r in rows]
    assert hits == sorted(hits, reverse=True) and fa == sorted(fa, reverse=True)
    assert hits[0] > hits[-1]
    assert len({str(r["per_keyword"]["no"]) for r in rows}) == 1
    assert len({str(r["per_keyword"]["yes"]) for r in rows}) > 1
    plain = streaming.sweep(streams, LABELS, thresholds=np.arange(0.2, 0.95, 0.05))
    assert [r["false_alarms"] for r in plain] != [r["false_alarms"] for r in rows]
    # each row is detections_from with the same settings
    t, p, truth = streams[0]
    one = streaming.sweep([streams[0]], LABELS, thresholds=(0.5,), **kw)[0]
    found = streaming.detections_from(t, streaming.smooth(p, t), LABELS, threshold=0.5,
                                      min_runs=3, margin=0.05, thresholds={"no": 0.45})
    assert one["hits"] == streaming.evaluate(found, truth, duration=float(t[-1]))["hits"]
    with pytest.raises(streaming.ParameterError, match="min_runs"):
        streaming.sweep(streams, LABELS, min_runs=0)


def test_a_detector_scores_streams_at_its_own_settings():
    """KeywordDetector.sweep is streaming.sweep with every one of the detector's settings
    (window, suppression, min runs, margin, per-keyword thresholds): the default row is
    the one at its own threshold, and making any of them stricter drops false alarms."""
    streams = [_noisy_stream(seed) for seed in range(3)]
    d = streaming.KeywordDetector(threshold=0.3, window=0.1, suppress=0.5, min_runs=1,
                                  margin=0.0, thresholds={"no": 0.35})
    kw = dict(window=0.1, suppress=0.5, min_runs=1, margin=0.0,
              keyword_thresholds={"no": 0.35})
    (row,) = d.sweep(streams, LABELS)
    assert row == streaming.sweep(streams, LABELS, thresholds=(0.3,), **kw)[0]
    assert d.sweep(streams, LABELS, thresholds=(0.4, 0.6)) == streaming.sweep(
        streams, LABELS, thresholds=(0.4, 0.6), **kw)
    for change in (dict(window=1.0), dict(suppress=3.0), dict(min_runs=4), dict(margin=0.3),
                   dict(thresholds={"no": 0.9}), dict(threshold=0.9)):
        other = dataclasses.replace(d, **change).sweep(streams, LABELS)[0]
        assert other["false_alarms"] < row["false_alarms"], change


def _two_streams():
    """"yes" said loud and "no" said softly; in the keyword-free stream "yes" is heard
    (wrongly) at middling scores and "no" never: no single threshold suits both."""
    times = np.arange(1.0, 81.0, 0.1)
    words = np.zeros((len(times), 4), np.float32)
    truth = []
    for i, center in enumerate(np.arange(5.0, 80.0, 5.0)):
        k = 2 + i % 2
        words[:, k] += (0.9 if k == 2 else 0.55) * bump(times, center, 0.4)
        truth.append((LABELS[k], center - 0.8, center))
    free = np.zeros_like(words)
    for center in np.arange(4.0, 80.0, 4.0):
        free[:, 2] += 0.65 * bump(times, center, 0.4)
    out = []
    for p, t in ((words, truth), (free, [])):
        p[:, 0] = 1.0 - p[:, 1:].sum(axis=1)
        out.append((times, p, t))
    return out


def test_the_chosen_detector_is_the_best_point_of_every_setting_within_the_budget():
    """choose_detector against a search by hand over the same windows, min runs,
    margins and thresholds: the same hit rate within budget, a detector that scores
    what the point promised, and settings other than the first tried when they win."""
    streams = _two_streams() + [_noisy_stream(seed) for seed in range(2)]
    grid = dict(windows=(0.1, 0.5, 1.0), min_runs=(1, 3), margins=(0.0, 0.2))
    chosen_windows = set()
    for budget in (60.0, 100.0):
        detector, point, tried = streaming.choose_detector(
            streams, LABELS, max_false_alarms_per_hour=budget, **grid)
        assert len(tried) == 12
        by_hand = max(r["hit_rate"] for w in grid["windows"] for m in grid["min_runs"]
                      for g in grid["margins"]
                      for r in streaming.sweep(streams, LABELS, window=w, min_runs=m, margin=g)
                      if r["false_alarms_per_hour_keyword_free"] <= budget)
        assert point["hit_rate"] == by_hand
        row = detector.sweep(streams, LABELS)[0]
        assert (row["hits"], row["false_alarms"]) == (point["hits"], point["false_alarms"])
        assert row["false_alarms_per_hour_keyword_free"] <= budget
        assert point["rows"] == detector.sweep(streams, LABELS, streaming.THRESHOLDS)
        chosen_windows.add((detector.window, detector.min_runs))
    assert chosen_windows - {(0.1, 1)}
    with pytest.raises(streaming.ParameterError, match="at least one"):
        streaming.choose_detector(streams, LABELS, windows=())


def test_a_threshold_per_keyword_hits_more_within_the_same_false_alarm_budget():
    streams = _two_streams()
    rows = streaming.sweep(streams, LABELS)
    assert rows[0]["per_keyword"]["yes"]["false_alarms_keyword_free"] > 0
    single = streaming.operating_point(rows, max_false_alarms_per_hour=0.0)
    chosen = streaming.keyword_thresholds(rows, max_false_alarms_per_hour=0.0)
    assert single["hit_rate"] <= 0.6                       # one threshold loses the soft "no"
    assert chosen["hit_rate"] == 1.0 and chosen["false_alarms_keyword_free"] == 0
    assert chosen["thresholds"]["no"] < chosen["thresholds"]["yes"]
    # the sweep, run again with those thresholds, gives what the choice promised
    again = streaming.sweep(streams, LABELS, thresholds=(single["threshold"],),
                            keyword_thresholds=chosen["thresholds"])[0]
    assert again["hits"] == chosen["hits"] and again["false_alarms_keyword_free"] == 0
    # a looser budget never hits fewer keywords than one threshold within it
    for budget in (0.0, 30.0, 100.0, 1e4):
        one = streaming.operating_point(rows, budget)
        mix = streaming.keyword_thresholds(rows, budget)
        assert mix["hits"] >= one["hits"] and mix["false_alarms_per_hour_keyword_free"] <= max(
            budget, one["false_alarms_per_hour_keyword_free"])
    with pytest.raises(streaming.ParameterError, match="keyword-free audio"):
        streaming.keyword_thresholds([{**rows[0], "keyword_free_hours": 0.0}])
