"""Grouped folds: no speaker or recording on both sides, every item tested once, labels
balanced; and cross-validation of a recipe over them."""
import dataclasses

import numpy as np
import pytest

from tinykit import datasets, recipes
from tinykit.datasets.folds import assign_folds, groups_of
from tinykit.errors import DatasetError, ParameterError


def _disjoint(folds):
    seen = [set(f.groups_test) for f in folds]
    return all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1:])


def test_speech_folds_never_share_a_speaker_and_test_every_clip_once():
    ds = datasets.load("speech_commands")
    folds = datasets.grouped_folds(ds, 5)
    assert _disjoint(folds)
    tested = [s for f in folds for s in f.dataset.files_test]
    everything = list(ds.files_train) + list(ds.files_val) + list(ds.files_test)
    assert sorted(map(str, tested)) == sorted(map(str, everything))
    for f in folds:                               # train and test of a fold: no speaker shared
        train_groups = set(groups_of(dataclasses.replace(
            f.dataset, files_test=[], y_test=np.zeros(0, np.int64)))[2])
        assert not train_groups & set(f.groups_test)
        assert len(f.dataset.files_val) == 0
        counts = np.bincount(f.dataset.y_test, minlength=ds.num_classes)
        assert counts.min() >= 1                  # every word in every fold's test
    sizes = [len(f.dataset.y_test) for f in folds]
    assert max(sizes) - min(sizes) <= 0.2 * np.mean(sizes)


def test_imu_folds_keep_recording_files_whole_when_labels_have_several():
    ds = datasets.load("magic_wand")
    # magic_wand has one file per label and split: the folds are stratified by gesture.
    folds = datasets.grouped_folds(ds, 5)
    assert [np.bincount(f.dataset.y_test, minlength=5).tolist() for f in folds] == [[5] * 5] * 5
    # Six recording files per label: every file lands whole in one fold.
    n = len(ds.y_train)
    files = [f"{ds.labels[y]}_{i % 6}.csv:{i}" for i, y in enumerate(ds.y_train)]
    many = dataclasses.replace(ds, x_test=ds.x_train[:0], y_test=ds.y_train[:0],
                               sources_train=files, sources_test=[])
    folds = datasets.grouped_folds(many, 5, seed=1)
    assert _disjoint(folds)
    assert all(g.endswith(".csv") for f in folds for g in f.groups_test)
    assert sum(len(f.dataset.y_test) for f in folds) == n
    # Still recordings dropped: the folds test every remaining gesture once, none still.
    moving = datasets.load("magic_wand", drop_still=True)
    folds = datasets.grouped_folds(moving, 5)
    assert _disjoint(folds)
    tested = sorted(s for f in folds for s in f.dataset.sources_test)
    assert tested == sorted(moving.sources_train + moving.sources_test)
    assert not set(tested) & set(moving.still["train"] + moving.still["test"])


def test_fold_arguments_are_checked():
    with pytest.raises(ParameterError, match="at least 2 folds"):
        assign_folds([0, 1], ["a", "b"], k=1)
    with pytest.raises(DatasetError, match="2 groups .* cannot fill 3 folds"):
        assign_folds([0, 1, 0], ["a", "b", "a"], k=3)
    with pytest.raises(ParameterError, match="ImuDataset or SpeechCommands"):
        datasets.grouped_folds([1, 2, 3], 2)


def test_pooled_trains_on_every_item_and_tests_on_another_folder():
    ds = datasets.load("speech_commands")
    everything = list(ds.files_train) + list(ds.files_val) + list(ds.files_test)
    final = datasets.pooled(ds)
    assert sorted(map(str, final.files_train)) == sorted(map(str, everything))
    assert len(final.files_val) == len(final.files_test) == 0 and final.split == "pooled"
    labels = dict(zip(map(str, everything),
                      np.concatenate([ds.y_train, ds.y_val, ds.y_test]).tolist()))
    assert [labels[str(f)] for f in final.files_train] == final.y_train.tolist()
    other = datasets.load("speech_commands", seed=3)
    tested = datasets.pooled(ds, test=other)
    assert sorted(map(str, tested.files_test)) == sorted(map(str, everything))
    assert len(tested.y_test) == len(tested.files_test)
    narrower = datasets.load("speech_commands", unknown=False)
    with pytest.raises(DatasetError, match="labels .* differ"):
        datasets.pooled(ds, test=narrower)
    wand = datasets.load("magic_wand")
    with pytest.raises(DatasetError, match="test is a ImuDataset"):
        datasets.pooled(ds, test=wand)
    w = datasets.pooled(wand, test=wand)
    assert len(w.y_train) == len(w.y_test) == 125 and len(w.sources_test) == 125


@pytest.mark.slow    # four trainings: about 40 s alone, minutes on a busy machine
def test_cross_validation_scores_every_gesture_once_per_cut(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "1")
    cv = recipes.cross_validate(
        "gesture", "magic_wand", folds=2, cuts=2, epochs=1, repeat=1,
        each=lambda fold, r: (fold.index, tuple(sorted(r.dataset.sources_test))))
    assert len(cv.accuracies) == 4 and all(0 <= a <= 1 for a in cv.accuracies)
    assert [i for i, _ in cv.extras] == [0, 1, 0, 1]              # cut after cut
    first, second = ({s for _, t in cv.extras[c:c + 2] for s in t} for c in (0, 2))
    assert len(first) == len(second) == 125                       # each cut tests all
    assert cv.extras[0][1] not in (cv.extras[2][1], cv.extras[3][1])  # other folds
    assert sum(t for _, t in cv.per_group.values()) == 250      # every gesture twice
    assert cv.mean == pytest.approx(np.mean(cv.accuracies))
    assert cv.cut_means == pytest.approx([np.mean(cv.accuracies[:2]),
                                          np.mean(cv.accuracies[2:])])
    assert "2 cuts x 2 grouped folds" in cv.summary()
    with pytest.raises(ParameterError, match="cross_validate runs"):
        recipes.cross_validate("resnet", "magic_wand")


def test_cuts_are_summarised_and_checked():
    cv = recipes.CrossValidation("kws", 2, [0.8, 0.9, 0.7, 0.6], [0.8] * 4, {}, 1.0, cuts=2)
    assert cv.cut_means == pytest.approx([0.85, 0.65])
    assert cv.fold_labels == ["1.1", "1.2", "2.1", "2.2"]
    assert cv.mean == pytest.approx(0.75)
    assert "each cut's mean: 85.0%, 65.0% (range 20.0 points)" in cv.summary()
    single = recipes.CrossValidation("kws", 4, [0.8, 0.9, 0.7, 0.6], [0.8] * 4, {}, 1.0)
    assert single.cut_means == pytest.approx([0.75]) and "cut" not in single.summary()
    assert single.fold_labels == ["1", "2", "3", "4"]
    assert (cv.split, single.split) == ("2 cuts x 2 grouped folds", "4 grouped folds")
    for bad in (0, 1.5, True):
        with pytest.raises(ParameterError, match=f"cuts={bad!r}"):
            recipes.cross_validate("kws", "speech_commands", cuts=bad)


def test_the_worst_groups_are_those_surest_to_be_weak():
    """A speaker with 3 of 10 clips right is surely weak; one whose single clip was
    missed may not be: the table ranks by the upper end of a 95% interval."""
    groups = {"one_missed": (0, 1), "three_of_ten": (3, 10), "nine_of_ten": (9, 10),
              "half_of_two": (1, 2), "none_of_two": (0, 2), "empty": (0, 0)}
    cv = recipes.CrossValidation("kws", 2, [0.5, 0.9], [0.5, 0.9], groups, 1.0)
    rows = cv.worst(6)
    assert [g for g, _, _ in rows] == ["three_of_ten", "none_of_two", "one_missed",
                                       "half_of_two", "nine_of_ten"]
    assert rows[0][1:] == (pytest.approx(0.3), 10)
    summary = cv.summary().splitlines()
    assert [line.split()[1] for line in summary[1:]] == [
        "three_of_ten", "none_of_two", "one_missed", "half_of_two", "nine_of_ten"]


def test_the_final_keyword_model_trains_on_every_clip(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "1")
    r = recipes.kws("speech_commands", model="tiny_conv", all_clips=True, verbose=False)
    spoken = round(recipes.KWS_DEFAULTS["spoken_unknown"] * 300)  # espeak-ng's other words
    assert len(r.prepared[1]["train"][1]) == 300 + spoken and len(r.y_test) == 0
    assert r.report.int8_accuracy is None and r.float_accuracy is None
    assert "float accuracy (before QAT)  -" in r.summary()
