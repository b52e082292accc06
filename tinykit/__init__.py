"""tinykit: from sensor data to an int8 model on a microcontroller, in a notebook.

The workflow is one plain function per step::

    import tinykit
    ds = tinykit.datasets.load("magic_wand")
    x_train = tinykit.features.imu_normalize(ds.x_train)
    model = tinykit.models.gesture_cnn(x_train.shape[1:], ds.num_classes)
    model = tinykit.train.fit(model, x_train, ds.y_train, qat=True)
    tfl = tinykit.convert.to_int8(model, representative=x_train)
    report = tinykit.convert.verify(tfl, tinykit.features.imu_normalize(ds.x_test), ds.y_test)
    project = tinykit.deploy.generate(tfl, board="nano33ble", app="gesture", ...)

Submodules are imported on first use, so ``import tinykit`` is quick and TensorFlow
loads only when a step needs it. TensorFlow's start-up notices and converter prints are
kept quiet (:mod:`tinykit._quiet`); ``TINYKIT_VERBOSE=1`` shows them.
"""
import importlib
import os

# tensorflow-model-optimization (QAT) works only with the legacy tf_keras; this must
# be set before TensorFlow is first imported anywhere in the process.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from . import _quiet  # noqa: E402

_quiet.setup()

__version__ = "0.1.0"

_SUBMODULES = ("errors", "datasets", "features", "models", "train", "convert",
               "capture", "deploy", "widgets", "plots", "streaming", "recipes", "baseline")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tinykit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
