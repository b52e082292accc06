"""The one place tinykit imports Keras: tf_keras, the flavour tfmot's QAT accepts."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tf_keras as keras  # noqa: E402

__all__ = ["keras"]
