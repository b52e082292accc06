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
