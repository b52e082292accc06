"""Keyword-spotting models: DS-CNN (Hello Edge, MLPerf Tiny) and micro_speech's tiny_conv.

Both take (frames, coefficients) features, e.g. (49, 10) MFCC or (49, 40) log-mel,
and use only layers tfmot's default quantization-aware training wraps and TFLite
Micro runs in int8: Conv2D, DepthwiseConv2D, BatchNormalization, ReLU,
AveragePooling2D, Dense, Dropout, Reshape/Flatten, Softmax.
"""
from __future__ import annotations

from ..errors import ModelError
from ._checks import check_classes


def _input(keras, input_shape, name):
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    if len(shape) != 2 or min(shape) < 1:
        raise ModelError(f"{name} takes input_shape=(frames, coefficients), e.g. (49, 10), "
                         f"got {tuple(input_shape)}.")
    inputs = keras.Input(shape=shape, name="features")
    return inputs, keras.layers.Reshape(shape + (1,), name="add_channel")(inputs), shape


def ds_cnn(input_shape, num_classes, filters=64, blocks=4, first_kernel=(10, 4),
           first_strides=(2, 2), dropout=0.2, l2=1e-4):
    """Depthwise-separable CNN for keyword spotting (Zhang et al. 2017, "Hello Edge").

    Conv2D(first_kernel, first_strides) -> BN -> ReLU, then ``blocks`` times
    [DepthwiseConv2D 3x3 -> BN -> ReLU -> Conv2D 1x1 -> BN -> ReLU], then an average
    pool over the whole feature map, Dropout, Dense and Softmax. With the defaults
    on 49x10 MFCC (the MLPerf Tiny reference layout) it has about 23k weights:
    roughly 40 kB of int8 .tflite and a TFLM arena under 25 kB.

    Args:
        input_shape: (frames, coefficients), e.g. (49, 10); a trailing 1 is accepted.
        num_classes: output classes (12 for the usual Speech Commands setting).
        filters: channels of every layer (64 in DS-CNN-S; 48 for a smaller model).
        blocks: depthwise-separable blocks.
        first_kernel, first_strides: the first convolution (time, frequency).
        dropout: rate before the classifier.
        l2: L2 weight decay on the convolution and dense kernels.

    Returns:
        An uncompiled tf_keras model.

    Raises:
        ModelError: bad shape, too few classes, or a feature map the first stride
            leaves empty.

    Example:
        >>> m = ds_cnn((49, 10), 12)  # doctest: +SKIP
        >>> m.output_shape, m.count_params() < 30000  # doctest: +SKIP
        ((None, 12), True)
    """
    from ._keras import keras
    check_classes(num_classes)
    if filters < 1 or blocks < 0:
        raise ModelError(f"filters must be positive and blocks non-negative, got "
                         f"filters={filters}, blocks={blocks}.")
    layers = keras.layers
    reg = keras.regularizers.l2(l2) if l2 else None
    inputs, x, shape = _input(keras, input_shape, "ds_cnn")
    kernel = (min(first_kernel[0], shape[0]), min(first_kernel[1], shape[1]))
    x = layers.Conv2D(filters, kernel, strides=first_strides, padding="same", use_bias=False,
                      kernel_regularizer=reg, name="conv0")(x)
    x = layers.BatchNormalization(name="bn0")(x)
    x = layers.ReLU(name="relu0")(x)
    for i in range(1, blocks + 1):
        x = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False,
                                   depthwise_regularizer=reg, name=f"dw{i}")(x)
        x = layers.BatchNormalization(name=f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(filters, (1, 1), use_bias=False, kernel_regularizer=reg,
                          name=f"pw{i}")(x)
        x = layers.BatchNormalization(name=f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    h, w = int(x.shape[1]), int(x.shape[2])
    x = layers.AveragePooling2D((h, w), name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, kernel_regularizer=reg, name="logits")(x)
    outputs = layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, outputs, name="ds_cnn")


def tiny_conv(input_shape, num_classes, filters=8, kernel=(10, 8), strides=(2, 2),
              dropout=0.2):
    """micro_speech's "tiny_conv" baseline: one convolution and a dense layer.

    Conv2D(filters, kernel, strides) -> ReLU -> Dropout -> Flatten -> Dense ->
    Softmax, as in TensorFlow's speech_commands example ``create_tiny_conv_model``.
    Small and fast; a useful floor for what DS-CNN should beat.

    Args:
        input_shape: (frames, coefficients), e.g. (49, 40) log-mel or (49, 10) MFCC.
        num_classes: output classes.
        filters, kernel, strides: the convolution (kernel is clipped to the input).
        dropout: rate after the convolution.

    Returns:
        An uncompiled tf_keras model.

    Example:
        >>> m = tiny_conv((49, 40), 12)  # doctest: +SKIP
        >>> m.output_shape  # doctest: +SKIP
        (None, 12)
    """
    from ._keras import keras
    check_classes(num_classes)
    layers = keras.layers
    inputs, x, shape = _input(keras, input_shape, "tiny_conv")
    k = (min(kernel[0], shape[0]), min(kernel[1], shape[1]))
    x = layers.Conv2D(filters, k, strides=strides, padding="same", name="conv")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, outputs, name="tiny_conv")
