"""The Netduino Plus 2 itself: the image the tests run under QEMU, written by dfu-util.

Needs the board in DFU mode (BOOT0 high at reset: the STM32's ROM bootloader, USB
0483:df11) and a 3.3 V USB-serial adapter on USART1 (PA9 TX, PA10 RX); set
TINYKIT_NETDUINO_PORT to the adapter's port (e.g. /dev/ttyUSB0)."""
import os
import time

import numpy as np
import pytest

from tinykit import convert, deploy
from tinykit.deploy import emulated
from tinykit.models._keras import keras

PORT = os.environ.get("TINYKIT_NETDUINO_PORT")


@pytest.mark.hardware
@pytest.mark.skipif(not PORT, reason="no Netduino Plus 2: put it in DFU mode (BOOT0 high), "
                                     "wire a USB-serial adapter to PA9/PA10 and set "
                                     "TINYKIT_NETDUINO_PORT to its port")
def test_the_real_board_computes_what_tflm_computes(tmp_path):
    import serial
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 3, 1))
    h = keras.layers.Conv2D(4, (3, 3), padding="same", activation="relu")(inp)
    out = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    x = np.random.default_rng(0).normal(size=(6, 8, 3, 1)).astype(np.float32)
    tfl = convert.to_int8(keras.Model(inp, out), representative=x)
    project = emulated.generate_project(tfl, x, out=tmp_path, board="netduinoplus2")
    with serial.serial_for_url(PORT, 115200, timeout=1) as uart:
        uart.reset_input_buffer()
        deploy.flash(project)                   # dfu-util ... -s 0x08000000:leave: it runs
        text, deadline = b"", time.monotonic() + 60
        while b"done" not in text and time.monotonic() < deadline:
            text += uart.read(4096)
    lines = text.decode("ascii", "replace").replace("\r", "").split("\n")
    outputs, _ticks = emulated.infer_outputs(lines, project)
    np.testing.assert_array_equal(outputs, convert.run_tflm(tfl, x))
