"""Model builders: functions returning uncompiled tf_keras models that QAT can wrap."""
from .gesture import gesture_cnn
from .kws import ds_cnn, tiny_conv
