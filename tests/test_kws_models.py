"""KWS models build, use only QAT-friendly layers, and fit the flash/arena budget."""
import numpy as np
import pytest

import tinykit  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tinykit.errors import ModelError
from tinykit.models.kws import ds_cnn, tiny_conv

ALLOWED = {"InputLayer", "Reshape", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "ReLU",
           "AveragePooling2D", "Dense", "Dropout", "Flatten", "Softmax"}


@pytest.mark.parametrize("build,shape", [(ds_cnn, (49, 10)), (ds_cnn, (49, 40)),
                                         (tiny_conv, (49, 10)), (tiny_conv, (49, 40, 1))])
def test_models_build_and_quantize_model_accepts_them(build, shape):
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras
    model = build(shape, 12)
    assert isinstance(model, keras.Model)
    assert model.output_shape == (None, 12)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert kinds <= ALLOWED, kinds - ALLOWED
    q = tfmot.quantization.keras.quantize_model(model)
    x = np.random.default_rng(0).normal(size=(4,) + tuple(shape)).astype(np.float32)
    p = q.predict(x, verbose=0)
    assert p.shape == (4, 12) and np.allclose(p.sum(axis=1), 1, atol=1e-4)


def test_ds_cnn_size_is_the_reference_layout():
    m = ds_cnn((49, 10), 12)
    assert 20_000 < m.count_params() < 26_000
    assert m.get_layer("relu0").output_shape == (None, 25, 5, 64)
    assert ds_cnn((49, 10), 12, filters=32).count_params() < 9_000


def test_bad_arguments():
    with pytest.raises(ModelError, match="input_shape=\\(frames, coefficients\\)"):
        ds_cnn((16000,), 12)
    with pytest.raises(ModelError, match="num_classes"):
        tiny_conv((49, 10), 1)


def test_ds_cnn_int8_fits_flash_and_arena_budget():
    convert = pytest.importorskip("tinykit.convert")
    import tensorflow_model_optimization as tfmot
    q = tfmot.quantization.keras.quantize_model(ds_cnn((49, 10), 12))
    x = np.random.default_rng(0).normal(size=(32, 49, 10)).astype(np.float32)
    tfl = convert.to_int8(q, representative=x)
    assert len(tfl) <= 50_000
    assert tfl.arena_bytes <= 25_000
    assert set(tfl.ops) <= {"RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D",
                                     "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"}
