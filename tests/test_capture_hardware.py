"""Capture from a real board: set TINYKIT_PORT=/dev/ttyACM0 with IMU_Capture running."""
import os

import pytest

from tinykit import capture
from tinykit.datasets import read_imu_csv

PORT = os.environ.get("TINYKIT_PORT")


@pytest.mark.hardware
@pytest.mark.skipif(not PORT, reason="no board: set TINYKIT_PORT to the port of a board "
                                     "running IMU_Capture (e.g. /dev/ttyACM0) and move it")
def test_record_two_gestures_from_a_real_board(tmp_path):
    s = capture.record(PORT, label="test", out=tmp_path, gestures=2, seconds=60)
    assert s.saved == 2, f"move the board to trigger gestures ({s})"
    assert read_imu_csv(tmp_path / "test.csv").gestures.shape == (2, 119, 6)
