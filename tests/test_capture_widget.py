"""The capture panel drives the plain functions and shows what they did."""
import re

import pytest

pytest.importorskip("ipywidgets")

from tinykit.widgets.capture import capture_panel, label_counts  # noqa: E402


def test_panel_records_and_counts(tmp_path):
    panel = capture_panel(out=tmp_path, port="sim://imu?speed=max&loops=1", label="Revelio", count=2)
    start = next(b for box in panel.children if hasattr(box, "children")
                 for b in box.children if getattr(b, "description", "") == "Start")
    start.click()
    panel.wait(30)
    assert len(panel.summaries) == 1 and panel.summaries[0].saved == 2
    assert label_counts(tmp_path) == {"Revelio": 2}
    html = " ".join(getattr(c, "value", "") for c in panel.children if isinstance(getattr(c, "value", None), str))
    assert "Revelio" in html and "dropped" in html


def test_panel_refuses_an_empty_label(tmp_path):
    panel = capture_panel(out=tmp_path, port="sim://imu?speed=max")
    start = next(b for box in panel.children if hasattr(box, "children")
                 for b in box.children if getattr(b, "description", "") == "Start")
    start.click()
    assert panel.summaries == [] and "label" in panel.children[4].value


def test_panel_can_refuse_still_gestures(tmp_path):
    # The simulated board plays the magic_wand training files in name order: the first
    # AlohomoraCharm recording is a knock with no movement after it.
    panel = capture_panel(out=tmp_path, port="sim://imu?speed=max&loops=1", label="Alohomora",
                          count=2, refuse_still=True)
    start = next(b for box in panel.children if hasattr(box, "children")
                 for b in box.children if getattr(b, "description", "") == "Start")
    start.click()
    panel.wait(30)
    s = panel.summaries[0]
    assert (s.saved, s.still) == (2, 1) and label_counts(tmp_path) == {"Alohomora": 2}
    html = " ".join(getattr(c, "value", "") for c in panel.children if isinstance(getattr(c, "value", None), str))
    assert "refused still <b>1</b>" in html


def test_table_counts_while_recording(tmp_path):
    """The per-label table grows during a session, not only when it ends."""
    panel = capture_panel(out=tmp_path, port="sim://imu?speed=10&gap=0.2", label="Lumos", count=6)
    table = panel.children[-1]
    seen = []
    table.observe(lambda change: seen.append(change["new"]), "value")
    start = next(b for box in panel.children if hasattr(box, "children")
                 for b in box.children if getattr(b, "description", "") == "Start")
    start.click()
    panel.wait(60)
    assert panel.summaries[0].saved == 6 and label_counts(tmp_path) == {"Lumos": 6}
    counts = [int(m) for v in seen for m in re.findall(r"<td>Lumos</td><td[^>]*>(\d+)<", v)]
    assert counts[-1] == 6 and any(0 < c < 6 for c in counts), counts
