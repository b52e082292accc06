"""Boards QEMU emulates as they are, for real: the image the tests run under QEMU,
written by the board's own tool, answers on the board's UART as TFLM computes.

- Netduino Plus 2: in DFU mode (BOOT0 high at reset: the STM32's ROM bootloader, USB
  0483:df11, written by dfu-util), a 3.3 V USB-serial adapter on USART1 (PA9 TX, PA10
  RX); set TINYKIT_NETDUINO_PORT to the adapter's port (e.g. /dev/ttyUSB0).
- BBC micro:bit v1: plugged in by USB (its MICROBIT drive mounted: the .hex is copied
  there); set TINYKIT_MICROBIT_PORT to its serial port (e.g. /dev/ttyACM0)."""
import os

import numpy as np
import pytest

from tinykit import convert, deploy
from tinykit.deploy import emulated
from tinykit.models._keras import keras

BOARDS = {"netduinoplus2": ("TINYKIT_NETDUINO_PORT", "put it in DFU mode (BOOT0 high), wire "
                            "a USB-serial adapter to PA9/PA10"),
          "microbit": ("TINYKIT_MICROBIT_PORT", "plug it in (its MICROBIT drive mounted)")}


@pytest.mark.hardware
@pytest.mark.parametrize("name", sorted(BOARDS))
def test_the_real_board_computes_what_tflm_computes(tmp_path, name):
    variable, how = BOARDS[name]
    port = os.environ.get(variable)
    if not port:
        pytest.skip(f"no {name}: {how} and set {variable} to its serial port")
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 3, 1))
    h = keras.layers.Conv2D(4, (3, 3), padding="same", activation="relu")(inp)
    out = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    x = np.random.default_rng(0).normal(size=(6, 8, 3, 1)).astype(np.float32)
    tfl = convert.to_int8(keras.Model(inp, out), representative=x)
    project = emulated.generate_project(tfl, out=tmp_path, board=name, kernels="plain")
    deploy.flash(project)                       # the board runs the harness once written
    check = deploy.evaluate_on_device(port, tfl, x, connect_timeout=30)
    np.testing.assert_array_equal(check.outputs, convert.run_tflm(tfl, x))
    assert check.board["board"] == name and check.stack_bytes > 0
