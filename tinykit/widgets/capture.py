"""A Jupyter panel to record labelled data: port, label, start/stop, live plot, counts.

It only calls the plain functions of :mod:`tinykit.capture` (``list_ports``,
``record``) in a background thread, so anything it does can be done from a script.

    from tinykit.widgets.capture import capture_panel
    capture_panel(out="data/wand")
"""
from __future__ import annotations

import io
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from ..capture import list_ports, record
from ..errors import CaptureError

PLOT_SECONDS = 3.0


def label_counts(out) -> dict:
    """Samples per label in a capture folder: gestures in ``<label>.csv``, clips in ``<label>/``.

    Example:
        >>> label_counts("/nonexistent")
        {}
    """
    out = Path(out)
    counts = {}
    if not out.is_dir():
        return counts
    for p in sorted(out.iterdir()):
        if p.is_file() and p.suffix == ".csv":
            text = p.read_text(errors="replace")
            rows = sum(1 for line in text.splitlines()[1:] if line.strip() and not line.startswith("aX"))
            counts[p.stem] = rows // 119
        elif p.is_dir():
            n = len(list(p.glob("*.wav")))
            if n:
                counts[p.name] = n
    return counts


def _render(data, kind, rate):
    """PNG bytes of the recent stream (IMU: accel and gyro; audio: waveform)."""
    from matplotlib.figure import Figure      # no pyplot: the notebook's backend is left alone
    fig = Figure(figsize=(7, 2.6), dpi=80)      # 560 px: the image widget's width, unscaled
    if kind == "imu" and len(data):
        arr = np.asarray(data)
        t = np.arange(len(arr)) / rate
        ax1, ax2 = fig.subplots(1, 2)
        for c, name in enumerate(("aX", "aY", "aZ")):
            ax1.plot(t, arr[:, c], lw=1, label=name)
        for c, name in enumerate(("gX", "gY", "gZ")):
            ax2.plot(t, arr[:, 3 + c], lw=1, label=name)
        ax1.set_title("acceleration (g)", fontsize=9)
        ax2.set_title("gyroscope (deg/s)", fontsize=9)
        ax1.legend(fontsize=7, loc="upper left")
        ax2.legend(fontsize=7, loc="upper left")
        axes = (ax1, ax2)
    else:
        ax = fig.subplots()
        arr = np.asarray(data, dtype=np.float32)
        ax.plot(np.arange(len(arr)) / rate, arr / 32768.0, lw=0.5)
        ax.set_ylim(-1, 1)
        ax.set_title("audio (full scale = 1)", fontsize=9)
        axes = (ax,)
    for ax in axes:
        ax.set_xlabel(f"time (s), last {PLOT_SECONDS:g} s", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def capture_panel(out="data", port=None, label="", count=10, refuse_still=False):
    """A panel to record labelled samples from a port into ``out``.

    Pick a port (real ports and ``sim://`` boards; or type any URL), type a label,
    press Start: :func:`tinykit.capture.record` runs until ``count`` gestures or clips
    are saved (0: until Stop). The plot shows the last seconds of the stream, the
    counters show dropped and corrupt frames/lines, the table the gestures (or clips)
    each label has in ``out``, growing as they are saved. With "refuse still" ticked
    (``refuse_still``), IMU gestures with no movement after the trigger are set aside
    (see :func:`tinykit.capture.record`) and counted.

    Returns:
        An ``ipywidgets.VBox``; its ``summaries`` attribute lists the
        :class:`~tinykit.capture.CaptureSummary` of each session.

    Example:
        >>> panel = capture_panel(out="/tmp/wand", port="sim://imu?speed=max")  # doctest: +SKIP
        >>> panel  # doctest: +SKIP
    """
    import ipywidgets as w

    urls = [p.url for p in list_ports()]
    port_box = w.Combobox(value=port or (urls[0] if urls else ""), options=urls,
                          placeholder="/dev/ttyACM0, socket://..., sim://imu", description="Port",
                          ensure_option=False, layout=w.Layout(width="420px"))
    refresh = w.Button(icon="refresh", tooltip="look for ports again", layout=w.Layout(width="40px"))
    label_box = w.Text(value=label, description="Label", placeholder="e.g. Revelio or yes")
    count_box = w.BoundedIntText(value=count, min=0, max=100000, description="Count",
                                 tooltip="gestures (IMU) or clips (audio); 0 = until Stop")
    out_box = w.Text(value=str(out), description="Folder", layout=w.Layout(width="420px"))
    still_box = w.Checkbox(value=bool(refuse_still), description="refuse still gestures",
                           indent=False)
    start = w.Button(description="Start", button_style="success", icon="circle")
    stop = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
    status = w.HTML("idle")
    counters = w.HTML("")
    table = w.HTML("")
    # Hidden until the first drawing: an empty image shows as a broken-image icon.
    plot = w.Image(format="png", layout=w.Layout(width="560px", display="none"))
    state = {"thread": None, "stop": None, "buffer": deque(maxlen=1), "kind": "imu",
             "rate": 119.0, "drawn": 0.0, "saved": 0}

    def show_counts():
        counts = label_counts(out_box.value)
        what = "clips" if any(Path(out_box.value, k).is_dir() for k in counts) else "gestures"
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>"
                       for k, v in counts.items())
        table.value = (f"<table><tr><th>label</th><th>{what}</th></tr>{rows}</table>"
                       if rows else "")

    def show_counters(s):
        what, unit = ("gestures", "IMU rows") if s.kind == "imu" else ("clips", "audio samples")
        counters.value = (f"this session: saved <b>{s.saved}</b> {what} ({s.samples} {unit}) &nbsp; "
                          f"dropped <b>{s.dropped}</b> &nbsp; corrupt <b>{s.corrupt}</b> &nbsp; "
                          f"out of order {s.out_of_order} &nbsp; discarded {s.discarded}"
                          + (f" &nbsp; refused still <b>{s.still}</b>" if s.still else ""))

    def draw(s):
        plot.value = _render(list(state["buffer"]), s.kind, state["rate"])
        plot.layout.display = None

    def on_data(new, s):
        buf = state["buffer"]
        if state["kind"] != s.kind or buf.maxlen == 1:
            state["kind"], state["rate"] = s.kind, s.rate or state["rate"]
            buf = state["buffer"] = deque(maxlen=int(PLOT_SECONDS * state["rate"]))
        buf.extend(new)
        now = time.monotonic()
        if now - state["drawn"] > 0.3:
            state["drawn"] = now
            draw(s)
            show_counters(s)
            if s.saved != state["saved"]:       # the table grows while recording
                state["saved"] = s.saved
                show_counts()

    def run(url, lab, n, folder, ev, refuse):
        try:
            s = record(url, label=lab, out=folder, count=n or None, stop=ev, on_data=on_data,
                       refuse_still=refuse)
            panel.summaries.append(s)
            show_counters(s)
            if s.kind and len(state["buffer"]):
                draw(s)
            status.value = f"done: {s}"
        except CaptureError as e:
            status.value = f"<span style='color:#b00'>{e}</span>"
        except Exception as e:  # shown in the panel: a thread has nobody else to tell
            status.value = f"<span style='color:#b00'>{type(e).__name__}: {e}</span>"
        finally:
            start.disabled, stop.disabled = False, True
            show_counts()

    def on_start(_):
        if state["thread"] is not None and state["thread"].is_alive():
            return
        if not label_box.value.strip():
            status.value = "<span style='color:#b00'>type a label first (e.g. Revelio or yes)</span>"
            return
        ev = threading.Event()
        state["stop"], state["buffer"], state["saved"] = ev, deque(maxlen=1), 0
        start.disabled, stop.disabled = True, False
        counters.value, plot.layout.display = "", "none"     # nothing stale from before
        status.value = f"recording <b>{label_box.value}</b> from {port_box.value} ..."
        t = threading.Thread(target=run, daemon=True,
                             args=(port_box.value.strip(), label_box.value.strip(),
                                   count_box.value, out_box.value, ev, still_box.value))
        state["thread"] = t
        t.start()

    def on_stop(_):
        if state["stop"] is not None:
            state["stop"].set()

    def on_refresh(_):
        port_box.options = [p.url for p in list_ports()]

    start.on_click(on_start)
    stop.on_click(on_stop)
    refresh.on_click(on_refresh)
    show_counts()
    panel = w.VBox([w.HBox([port_box, refresh]), w.HBox([label_box, count_box]),
                    w.HBox([out_box, still_box]),
                    w.HBox([start, stop]), status, counters, plot, table])
    panel.summaries = []
    panel.wait = lambda timeout=None: state["thread"] and state["thread"].join(timeout)
    return panel

