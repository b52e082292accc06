"""Model builders: functions returning uncompiled tf_keras models that QAT can wrap.

    model = tinykit.models.gesture_cnn((119, 6), 5)
    model = tinykit.models.build("ds_cnn", (49, 10), 12, filters=64)   # by name
    model = tinykit.models.build("gesture_small", (119, 6), 5)         # the small gesture CNN
"""
import inspect

from ..errors import ModelError
from .gesture import gesture_cnn, gesture_small
from .kws import ds_cnn, tiny_conv

#: The builders :func:`build` knows, by name.
BUILDERS = {f.__name__: f for f in (gesture_cnn, gesture_small, ds_cnn, tiny_conv)}


def build(name, input_shape, num_classes, *, seed=None, **options):
    """The model ``name`` (a key of :data:`BUILDERS`) with ``options`` for its builder.

    Options the builder does not take are refused, naming the ones it does. With a
    ``seed``, the initial weights are the same on every call (Python, numpy and
    TensorFlow are seeded before the layers are made), so a training is repeatable.

    Raises:
        ModelError: an unknown name or option.

    Example:
        >>> m = build("tiny_conv", (49, 10), 12)  # doctest: +SKIP
        >>> m.name  # doctest: +SKIP
        'tiny_conv'
    """
    if name not in BUILDERS:
        raise ModelError(f"unknown model {name!r}; tinykit.models builds {sorted(BUILDERS)}.")
    builder = BUILDERS[name]
    takes = [p for p in inspect.signature(builder).parameters
             if p not in ("input_shape", "num_classes")]
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise ModelError(f"{name} takes no option {', '.join(unknown)}; its options are "
                         f"{', '.join(takes)}.")
    if seed is not None:
        from ._keras import keras
        keras.utils.set_random_seed(int(seed))
    return builder(input_shape, num_classes, **options)


__all__ = ["BUILDERS", "build", "ds_cnn", "gesture_cnn", "gesture_small", "tiny_conv"]
