"""The IMU_Capture CSV loader: layouts, splits and every malformed-input error."""
import numpy as np
import pytest

from tinykit.datasets import load, load_imu, read_imu_csv
from tinykit.errors import DatasetError, TinykitError

HEADER = "aX,aY,aZ,gX,gY,gZ"


def rows(n, start=0.0):
    return [",".join(f"{start + i + c / 10:.3f}" for c in range(6)) for i in range(n)]


def write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bundled_magic_wand_uses_given_split():
    ds = load("magic_wand")
    assert ds.labels == ["AlohomoraCharm", "ArrestoMomentumCharm", "AvadaKedavra",
                         "LocomotorCharm", "Revelio"]
    assert ds.x_train.shape == (100, 119, 6) and ds.x_test.shape == (25, 119, 6)
    assert ds.split == "given"
    assert np.bincount(ds.y_test).tolist() == [6, 7, 2, 6, 4]
    # The first gesture of each file starts right after the header, on line 2.
    assert ds.sources_train[0].endswith("AlohomoraCharm.csv:2")


def test_back_to_back_and_blank_separated_read_the_same(tmp_path):
    a = write(tmp_path / "a.csv", [HEADER] + rows(3) + rows(3, 10))
    b = write(tmp_path / "b.csv", [HEADER] + rows(3) + [""] + rows(3, 10) + ["", ""])
    fa, fb = read_imu_csv(a, samples_per_gesture=3), read_imu_csv(b, samples_per_gesture=3)
    assert fa.gestures.shape == (2, 3, 6)
    np.testing.assert_array_equal(fa.gestures, fb.gestures)
    assert fa.gestures[1, 0, 0] == pytest.approx(10.0)
    assert fb.first_lines == [2, 6]


@pytest.mark.parametrize("lines, match", [
    ([], "empty"),
    (["", "  "], "empty"),
    ([HEADER, "1,2,3,4"], r"line 2: expected 6 columns \(aX,aY,aZ,gX,gY,gZ\), found 4"),
    ([HEADER, "1,2,3,4,5,6", "1,2,3,4,5,6,7"], "line 3: expected 6 columns"),
    ([HEADER, "1,2,x,4,5,6"], r"line 2: column aZ is 'x', expected a number"),
    ([HEADER, "1,2,3,4,5,nan"], "line 2: column gZ is 'nan', expected a finite number"),
    (["aX,aY,aZ", "1,2,3"], "line 1: expected the header aX,aY,aZ,gX,gY,gZ"),
    (rows(2), "line 1: expected the header"),
    ([HEADER] + rows(2) + [""] + rows(3), r"lines 2-3: a gesture has 2 rows before the blank line at line 4"),
])
def test_malformed_files_name_file_line_and_expectation(tmp_path, lines, match):
    path = write(tmp_path / "punch.csv", lines) if lines else tmp_path / "punch.csv"
    if not lines:
        path.write_text("")
    with pytest.raises(DatasetError, match=match) as info:
        read_imu_csv(path, samples_per_gesture=3)
    assert "punch.csv" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TinykitError)


def test_partial_last_gesture_is_reported_and_skipped_not_padded(tmp_path):
    path = write(tmp_path / "flex.csv", [HEADER] + rows(3) + rows(2, 50))
    f = read_imu_csv(path, samples_per_gesture=3)
    assert f.gestures.shape == (1, 3, 6)
    assert f.first_lines == [2]
    assert len(f.skipped) == 1 and "partial last gesture with 2 of 3 rows" in f.skipped[0]
    assert "flex.csv, lines 5-6" in f.skipped[0]


def test_binary_file_is_a_dataset_error(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 20)
    with pytest.raises(DatasetError, match="junk.csv"):
        read_imu_csv(path)


def test_other_gesture_names_folder_per_label_and_stratified_split(tmp_path):
    # Another vocabulary, a folder per label with two files each: no code change.
    for label, base in [("punch", 0), ("flex", 100), ("wave", 200)]:
        for k in range(2):
            write(tmp_path / label / f"session{k}.csv", [HEADER] + rows(3 * 5, base + 20 * k))
    ds = load_imu(tmp_path, samples_per_gesture=3, test_fraction=0.2, seed=1)
    assert ds.labels == ["flex", "punch", "wave"]
    assert len(ds.y_train) + len(ds.y_test) == 30
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2]   # stratified: 20% of 10 per label
    # Deterministic, and no gesture in both splits.
    again = load_imu(tmp_path, samples_per_gesture=3, test_fraction=0.2, seed=1)
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    assert not set(ds.sources_train) & set(ds.sources_test)
    other = load_imu(tmp_path, samples_per_gesture=3, test_fraction=0.2, seed=2)
    assert set(other.sources_test) != set(ds.sources_test)


def test_test_label_without_training_data_is_an_error(tmp_path):
    write(tmp_path / "train" / "a.csv", [HEADER] + rows(3))
    write(tmp_path / "test" / "a.csv", [HEADER] + rows(3))
    write(tmp_path / "test" / "b.csv", [HEADER] + rows(3))
    with pytest.raises(DatasetError, match=r"labels \['b'\] have no training data"):
        load_imu(tmp_path, samples_per_gesture=3)


def test_missing_folder_and_unknown_name(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_imu(tmp_path / "nope")
    with pytest.raises(DatasetError, match="bundled"):
        load("no_such_dataset")
    with pytest.raises(DatasetError, match="no CSV files"):
        load_imu(tmp_path)


def test_still_gestures_are_found(tmp_path):
    from tinykit.datasets import still_gestures
    rng = np.random.default_rng(0)
    x = rng.normal(0, 5, size=(4, 119, 6)).astype(np.float32)
    x[1, 30:60, 4] = 250.0       # a real movement
    x[3, 5, 3] = 300.0           # only the trigger moment moves: still afterwards
    x[0, 80, 5] = -90.0
    assert still_gestures(x).tolist() == [2, 3]
    ds = load("magic_wand")
    found = still_gestures(ds.x_test)
    assert 0 < len(found) < len(ds.x_test)


def test_still_recordings_are_reported_and_dropped_with_one_argument(tmp_path):
    from tinykit.datasets import still_gestures
    ds = load("magic_wand")
    n_train, n_test = len(still_gestures(ds.x_train)), len(still_gestures(ds.x_test))
    assert (len(ds.still["train"]), len(ds.still["test"])) == (n_train, n_test)
    assert n_train > 0 and n_test > 0 and not ds.still["dropped"]
    assert f"{n_train + n_test} still recordings" in repr(ds) and "drop_still=True" in repr(ds)
    dropped = load("magic_wand", drop_still=True)
    assert len(dropped.y_train) == len(ds.y_train) - n_train
    assert len(dropped.y_test) == len(ds.y_test) - n_test
    assert len(still_gestures(dropped.x_train)) == len(still_gestures(dropped.x_test)) == 0
    assert not set(ds.still["train"]) & set(dropped.sources_train)
    assert len(dropped.sources_train) == len(dropped.y_train)
    assert dropped.still["dropped"] and "dropped" in repr(dropped) and dropped.notes
    # A label with nothing but still recordings cannot be trained: said, with the way out.
    calm = [HEADER] + ["0.0,0.0,1.0,0.5,-0.5,0.2"] * 119
    write(tmp_path / "train" / "a.csv", calm)
    write(tmp_path / "test" / "a.csv", calm)
    write(tmp_path / "train" / "b.csv", [HEADER] + ["0.0,0.0,1.0,200.0,0.0,0.0"] * 119)
    assert load_imu(tmp_path).still["train"] and len(load_imu(tmp_path).y_train) == 2
    with pytest.raises(DatasetError, match=r"\['a'\] have only still recordings.*drop_still=False"):
        load_imu(tmp_path, drop_still=True)
