"""The notebook figures say what they show: labels with units, titles, readable
class names, confusion matrices normalised per row, QAT marked on learning curves."""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from tinykit import plots  # noqa: E402


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_confusion_shows_counts_and_row_shares():
    labels = ["_silence_", "yes", "no"]
    y_true = np.array([0, 0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 2, 2])
    fig = plots.confusion(y_true, [y_pred], labels, titles=["int8"])
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    assert np.allclose(shown, [[0.75, 0.25, 0], [0, 0.5, 0.5], [0, 0, 1]])
    assert "3\n75%" in _texts(ax) and "1\n50%" in _texts(ax) and "1\n100%" in _texts(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["silence", "yes", "no"]
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert ax.get_title() == "int8: 71.4% correct (5/7)"
    assert "row" in fig.axes[-1].get_ylabel()        # the colour bar says what it shows


def test_learning_curves_mark_qat_and_label_axes():
    history = {"curves": {"loss": [1.0, 0.5, 0.4, 0.35], "val_loss": [1.1, 0.7, 0.6, 0.6],
                          "accuracy": [0.5, 0.8, 0.9, 0.92], "val_accuracy": [0.4, 0.7, 0.8, 0.8]},
               "qat_start_epoch": 3}
    fig = plots.learning_curves(history)
    loss, acc = fig.axes
    assert loss.get_ylabel() == "loss (cross-entropy)" and acc.get_ylabel() == "accuracy (%)"
    assert loss.get_xlabel() == "epoch" and loss.get_title()
    assert "QAT, from epoch 4" in loss.get_title() and "QAT, from epoch 4" in acc.get_title()
    assert "QAT" in [t.get_text() for t in loss.get_legend().get_texts()]
    assert [line.get_xdata()[0] for line in loss.lines if line.get_linestyle() == ":"] == [3.5]
    assert np.allclose(acc.lines[0].get_ydata(), [50, 80, 90, 92])
    assert all(float(t).is_integer() for t in loss.get_xticks())
    no_qat = plots.learning_curves(dict(history, qat_start_epoch=None))
    assert "QAT" not in no_qat.axes[0].get_title()


def test_every_axis_has_labels(tmp_path):
    from tinykit import datasets
    ds = datasets.load("magic_wand")
    fig = plots.imu_traces(ds)
    assert fig.get_suptitle()
    assert fig.axes[0].get_ylabel() == "acceleration (g)"
    assert fig.axes[ds.num_classes].get_ylabel() == "angular rate (deg/s)"
    assert all(ax.get_xlabel() == "time (s)" for ax in fig.axes[ds.num_classes:])
    x = ds.x_train[0] / 4
    fig = plots.imu_augmented(x, x * 0.9)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "acceleration / 4 g"
    solid, dashed = ax.lines[0], ax.lines[1]            # one colour per axis in both
    assert solid.get_color() == dashed.get_color() and dashed.get_linestyle() == "--"


def test_many_labels_stack_and_wrap():
    """Twelve keyword classes: matrices one above the other, clips six to a row."""
    from tinykit import datasets, features
    labels = [f"w{i}" for i in range(12)]
    y = np.repeat(np.arange(12), 2)
    fig = plots.confusion(y, [y, np.roll(y, 1)], labels, titles=["float", "int8"])
    a, b = fig.axes[:2]
    assert a.get_position().y0 > b.get_position().y1          # above one another
    ds = datasets.load("speech_commands")
    x, yy = ds.audio("test")
    fig = plots.audio_examples(x, yy, ds.labels, features.AudioFeatures())
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titled) == len(ds.labels) and "silence" in titled and "_silence_" not in titled
    assert len(fig.axes) == 2 * 2 * 6 and fig.get_suptitle()


def test_side_by_side_matrices_name_the_rows_once():
    fig = plots.confusion(np.array([0, 1]), [np.array([0, 1]), np.array([1, 1])], ["a", "b"])
    assert [ax.get_ylabel() for ax in fig.axes[:2]] == ["true label", ""]


def _cross_validation(recipe="kws", per_group=None):
    from tinykit.recipes import CrossValidation
    per_group = per_group if per_group is not None else {
        "speaker_a": (1, 4), "speaker_b": (3, 3), "speaker_c": (0, 2), "speaker_d": (5, 10)}
    return CrossValidation(recipe, 3, [0.8, 0.9, 0.7], [0.85, 0.9, None], per_group, 1.0)


def test_cross_validation_shows_folds_mean_band_and_worst_groups():
    cv = _cross_validation()
    fig = plots.cross_validation(cv, worst=3)
    left, right = fig.axes
    heights = [p.get_height() for p in left.containers[0]]
    assert np.allclose(heights, [80, 90, 70])                     # int8 per fold
    assert {"80.0%", "90.0%", "70.0%"} <= set(_texts(left))
    mean = [line for line in left.lines if line.get_linestyle() == "--"]
    assert len(mean) == 1 and np.allclose(mean[0].get_ydata(), 80)
    band = next(p for p in left.patches if p not in left.containers[0])  # mean ± std
    std = 100 * np.std([0.8, 0.9, 0.7])
    assert np.isclose(band.get_y(), 80 - std) and np.isclose(band.get_height(), 2 * std)
    dots = next(line for line in left.lines if line.get_marker() == "o")  # float; fold 3: None
    assert np.allclose(dots.get_xdata(), [1, 2]) and np.allclose(dots.get_ydata(), [85, 90])
    assert [t.get_text() for t in left.get_xticklabels()] == ["fold 1", "fold 2", "fold 3"]
    assert "80.0% ± 8.2 over 3 grouped folds" in left.get_title()
    assert left.get_ylabel() == "accuracy on the held-out fold (%)"
    widths = [p.get_width() for p in right.containers[0]]
    assert np.allclose(widths, [0, 25, 50])                       # worst first, 3 of 4
    assert [t.get_text() for t in right.get_yticklabels()] == [
        "speaker_c (2 clips)", "speaker_a (4 clips)", "speaker_d (10 clips)"]
    assert right.yaxis_inverted() and "0% (0/2)" in _texts(right)
    assert right.get_title() == "the 3 weakest speakers (of 4)"
    assert right.get_xlabel() and np.allclose(right.lines[0].get_xdata(), 80)


def test_cross_validation_labels_each_cuts_folds():
    import dataclasses
    cv = dataclasses.replace(_cross_validation(), folds=2, accuracies=[0.8, 0.9, 0.7, 0.6],
                             float_accuracies=[None] * 4, cuts=2)
    left = plots.cross_validation(cv).axes[0]
    assert [t.get_text() for t in left.get_xticklabels()] == ["1.1", "1.2", "2.1", "2.2"]
    assert "75.0% ± 11.2 over 2 cuts x 2 grouped folds" in left.get_title()
    assert "cut.fold" in left.get_xlabel()


def test_cross_validation_names_gestures_and_refuses_bad_arguments():
    import dataclasses
    from tinykit.errors import ParameterError
    cv = _cross_validation("gesture", {"/d/magic_wand/test/Revelio.csv:3": (0, 1),
                                       "/d/magic_wand/train/Revelio.csv:7": (1, 1)})
    right = plots.cross_validation(cv).axes[1]
    assert [t.get_text() for t in right.get_yticklabels()] == [
        "test/Revelio.csv:3 (1 gesture)", "train/Revelio.csv:7 (1 gesture)"]
    assert right.get_title() == "the 2 weakest gestures (of 2)"
    with pytest.raises(ParameterError, match="worst=0"):
        plots.cross_validation(cv, worst=0)
    with pytest.raises(ParameterError, match="no fold"):
        plots.cross_validation(dataclasses.replace(cv, accuracies=[]))
