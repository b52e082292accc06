"""Worked examples as one call each: what the demo, the benchmarks and the notebooks run.

Each recipe chains the plain step functions (load -> features -> model -> fit -> int8
-> verify -> generate) with defaults tuned on the bundled data, and returns every
intermediate result, so a notebook can plot any of them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import convert, datasets, deploy, features, models, train

#: Defaults of the gesture recipe, measured with bench/gesture.py on magic_wand.
GESTURE_DEFAULTS = dict(epochs=60, repeat=8, batch_size=32, learning_rate=3e-3,
                        filters=(16, 24, 32), kernel_size=5, dropout=0.25,
                        augment=dict(noise=0.01, scale=0.1, shift=8, rotate=5.0, speed=0.15))


@dataclass
class GestureResult:
    """Everything the gesture recipe produced."""
    dataset: object
    x_train: np.ndarray
    x_test: np.ndarray
    model: object
    tflite: bytes
    report: object
    model_info: dict
    project: object = None
    device: object = None
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"data set: {self.dataset!r}",
                 f"params: {self.model_info['params']:,}  MACs: {self.model_info['macs']:,}",
                 self.report.summary(),
                 f"pipeline time: {self.seconds:.1f} s"]
        if self.project is not None:
            lines.append(f"sketch: {self.project.main_file}")
        if self.device is not None:
            lines.append(device_summary(self.device, self.report, self.dataset.y_test))
        return "\n".join(lines)


def device_summary(device, report, y):
    """One line comparing the emulated board's outputs with the TFLM interpreter's."""
    same = int((device.outputs == report.raw_outputs).all(axis=1).sum())
    acc = float((device.outputs.argmax(axis=1) == np.asarray(y)).mean()) if len(y) else 0.0
    lsb = int(np.abs(device.outputs.astype(int) - report.raw_outputs.astype(int)).max()) \
        if len(y) else 0
    return (f"emulated board (QEMU mps2-an386, Cortex-M4F): {same}/{len(y)} outputs identical "
            f"to TFLM (max {lsb} LSB apart), accuracy {100 * acc:.1f}%, firmware "
            f"{device.text_bytes:,} B flash / {device.data_bytes + device.bss_bytes:,} B RAM")


def gesture(data="magic_wand", *, seed=0, out=None, board="nano33ble", emulate=False,
            verbose=True, **overrides) -> GestureResult:
    """Train, quantize, verify and (with ``out``) export the gesture classifier.

    Args:
        data: a bundled data set name or a folder of IMU_Capture CSV files.
        seed: seed of training (and of the split when the data has no test/ folder).
        out: folder for the generated board project (none when ``None``).
        board: board to generate the project for.
        emulate: also run the int8 model on the emulated board (QEMU mps2-an386) on the
            test split, and keep what it computed in ``result.device``.
        **overrides: any key of :data:`GESTURE_DEFAULTS`.

    Example:
        >>> result = gesture("magic_wand", out="build")  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    cfg = {**GESTURE_DEFAULTS, **overrides}
    start = time.perf_counter()
    ds = datasets.load(data, seed=seed) if not isinstance(data, datasets.ImuDataset) else data
    x_train, x_test = features.imu_normalize(ds.x_train), features.imu_normalize(ds.x_test)
    aug = cfg["augment"]

    def augment(x, seed=None):
        return features.augment_imu(x, seed=seed, **aug)

    model = models.gesture_cnn(x_train.shape[1:], ds.num_classes, filters=cfg["filters"],
                               kernel_size=cfg["kernel_size"], dropout=cfg["dropout"])
    model = train.fit(model, x_train, ds.y_train, qat=True, epochs=cfg["epochs"],
                      repeat=cfg["repeat"], batch_size=cfg["batch_size"],
                      learning_rate=cfg["learning_rate"], augment=augment if aug else None,
                      validation_data=(x_test, ds.y_test) if len(x_test) else None,
                      seed=seed, verbose=verbose)
    tfl = convert.to_int8(model, representative=x_train)
    report = convert.verify(tfl, x_test, ds.y_test, model=model)
    info = convert.model_report(model)
    info.update(flash_bytes=report.flash_bytes, arena_bytes=report.arena_bytes)
    project = None
    if out is not None:
        project = deploy.generate(
            tfl, board=board, app="gesture", out=out, labels=ds.labels,
            source=f"gesture_cnn trained on {ds.name} ({len(ds.y_train)} gestures)",
            settings={"ranges": [float(r) for r in features.IMU_RANGES],
                      "samples": ds.samples_per_gesture, "channels": len(ds.columns),
                      "threshold": 2.5})
        Path(project.path / "model.tflite").write_bytes(tfl)
    device = None
    if emulate:
        from .deploy import emulated
        device = emulated.run(tfl, x_test, source=f"gesture_cnn on {ds.name}",
                              build_dir=None if out is None else Path(out) / "mps2-an386")
    return GestureResult(dataset=ds, x_train=x_train, x_test=x_test, model=model, tflite=tfl,
                         report=report, model_info=info, project=project, device=device,
                         seconds=time.perf_counter() - start, settings=cfg)
