"""A small CNN for IMU gestures, built from layers that tfmot can quantize."""
from __future__ import annotations

from ..errors import ModelError
from ._checks import check_classes


def gesture_cnn(input_shape, num_classes, filters=(16, 24, 32), kernel_size=5,
                dense_units=0, dropout=0.25, l2=1e-4, name="gesture_cnn"):
    """A 1-D convolutional network over time written with Conv2D (k, 1) kernels.

    tfmot's quantization-aware training cannot wrap Conv1D, so the (time, channels)
    input is reshaped to (time, 1, channels) and every convolution uses a (k, 1)
    kernel: the same computation, in layers QAT and TFLite Micro both support.
    Each block is Conv2D -> BatchNorm -> ReLU -> MaxPool(2, 1); the head is
    Flatten -> Dropout -> Dense -> Softmax.

    Args:
        input_shape: (time, channels), e.g. (119, 6).
        num_classes: number of labels.
        filters: output channels of each convolution block.
        kernel_size: taps along time.
        dense_units: width of an extra hidden Dense layer (0: none).
        dropout: dropout rate before the classifier.
        l2: L2 weight decay on the kernels.
        name: the Keras model's name.

    Returns:
        An uncompiled tf_keras model.

    Example:
        >>> m = gesture_cnn((119, 6), 5)  # doctest: +SKIP
        >>> m.output_shape  # doctest: +SKIP
        (None, 5)
    """
    from ._keras import keras
    if len(input_shape) != 2:
        raise ModelError(f"gesture_cnn takes input_shape=(time, channels), got {input_shape}.")
    check_classes(num_classes)
    layers, reg = keras.layers, keras.regularizers.l2(l2)
    time, channels = input_shape
    inputs = keras.Input(shape=(time, channels), name="imu")
    x = layers.Reshape((time, 1, channels))(inputs)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, (kernel_size, 1), padding="same", use_bias=False,
                          kernel_regularizer=reg, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D((2, 1), name=f"pool{i}")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", kernel_regularizer=reg)(x)
    x = layers.Dense(num_classes, kernel_regularizer=reg, name="logits")(x)
    outputs = layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


#: The shape of :func:`gesture_small`: the smallest gesture_cnn whose grouped-fold
#: accuracy on magic_wand (still recordings dropped) is within 1 point of the
#: default's, found by bench/gesture_search.py.
SMALL = dict(filters=(4, 4, 8), kernel_size=5)


def gesture_small(input_shape, num_classes, filters=SMALL["filters"],
                  kernel_size=SMALL["kernel_size"], dense_units=0, dropout=0.25, l2=1e-4):
    """:func:`gesture_cnn` with fewer filters (:data:`SMALL`): on magic_wand an int8
    model of 6.1 kB instead of 15.2 kB and a TFLM arena of 4.2 kB instead of 6.1 kB, at
    the same grouped-fold accuracy (bench/gesture_search.py, bench/gesture.py).

    Example:
        >>> m = gesture_small((119, 6), 5)  # doctest: +SKIP
        >>> m.count_params() < 4000  # doctest: +SKIP
        True
    """
    return gesture_cnn(input_shape, num_classes, filters=filters, kernel_size=kernel_size,
                       dense_units=dense_units, dropout=dropout, l2=l2, name="gesture_small")
