"""The device check over serial (tinykit.deploy.evaluate_on_device): the emulated board
runs the harness firmware, the host streams the bundled test set through it over a TCP
serial port; its outputs equal TFLM's, and a frame corrupted or lost on the way is
detected and sent again, a board that stops answering is a DeviceError."""
import shutil
import subprocess

import numpy as np
import pytest

from tinykit import datasets, deploy, features, models
from tinykit import convert
from tinykit.capture import cobs
from tinykit.capture.frames import encode_frame
from tinykit.deploy import device, emulated
from tinykit.errors import DeviceError, ParameterError

MISSING = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make") if shutil.which(t) is None]
needs_board = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed; "
                                 f"run `sh boards/install-tools.sh`")


@pytest.fixture(scope="module")
def wand():
    """A small gesture CNN (untrained: the check is the bytes) for the bundled magic_wand
    data, and its test split: 714-byte inputs, sent in three chunks."""
    ds = datasets.load("magic_wand", seed=0)
    x_train, x_test = features.imu_normalize(ds.x_train), features.imu_normalize(ds.x_test)
    model = models.build("gesture_cnn", x_train.shape[1:], ds.num_classes, filters=(4, 4, 4))
    tfl = convert.to_int8(model, representative=x_train[:32], source="a test gesture CNN")
    return tfl, x_test, ds.y_test


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("build")


@pytest.fixture(scope="module")
def board(wand, build_dir):
    with emulated.boot_harness(wand[0], build_dir=build_dir) as machine:
        yield machine


#: Every core class QEMU emulates, with the kernels its -mcpu gets: the Cortex-M0 (no
#: DSP extension) the plain C, the others the fast kernels (the M3's without SMLAD).
CORES = [("microbit", "cortex-m0", "plain"), ("mps2-an385", "cortex-m3", "dsp"),
         ("mps2-an386", "cortex-m4", "dsp"), ("netduinoplus2", "cortex-m4", "dsp"),
         ("mps2-an500", "cortex-m7", "dsp"), ("mps2-an505", "cortex-m33", "dsp")]


@needs_board
@pytest.mark.parametrize("name, cpu, kernels", CORES)
def test_every_core_class_answers_the_device_check_as_tflm_does(wand, build_dir, name, cpu,
                                                                kernels):
    """The harness built with the board's own -mcpu and port (the STM32's USART1, the
    nRF51's UART with its six-byte receive FIFO) takes every request frame and answers
    as TFLM does; the DSP kernels use SMLAD where the core has it, never elsewhere."""
    tfl, x, y = wand
    b = deploy.board(name)
    assert f"-mcpu={cpu}" in b.cpu_flags
    with emulated.boot_harness(tfl, build_dir=build_dir, board=name, kernels=kernels) as machine:
        check = deploy.evaluate_on_device(machine.url, tfl, x[:4], y[:4], timeout=30)
        elf = machine.elf
    np.testing.assert_array_equal(check.outputs, tfl.run(x[:4]))
    assert check.board["board"] == name and check.resends == 0
    assert check.instructions.min() > 1000 and 0 < check.stack_bytes < 2048
    code = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    has_dsp = cpu in ("cortex-m4", "cortex-m7", "cortex-m33") and kernels == "dsp"
    assert ("\tsmlad" in code) == has_dsp


def flip_once(direction, nth, frame_type=None):
    """A tamper hook flipping one bit in the nth frame going ``direction`` (of
    ``frame_type`` when given); records what it did."""
    seen = []

    def tamper(way, wire):
        if way != direction or len(wire) < 8:
            return wire
        body = cobs.decode(wire[:-1])
        if frame_type is not None and body[0] != frame_type:
            return wire
        seen.append(len(seen))
        if len(seen) != nth:
            return wire
        bad = bytearray(wire)
        at = len(bad) // 2
        bad[at] ^= 0x10 if bad[at] != 0x10 else 0x20    # never makes a 0x00
        return bytes(bad)
    tamper.seen = seen
    return tamper


@needs_board
def test_the_emulated_board_answers_every_test_vector_as_tflm_does(wand, board):
    tfl, x, y = wand
    check = deploy.evaluate_on_device(board.url, tfl, x, y, timeout=20)
    reference = tfl.run(x)
    np.testing.assert_array_equal(check.outputs, reference)
    assert check.outputs.dtype == np.int8 and check.outputs.shape == (len(x), 5)
    assert check.mismatches == 0 and check.byte_agreement == 1.0
    assert check.label_agreement == 1.0
    assert check.accuracy == check.reference_accuracy == np.mean(reference.argmax(1) == y)
    assert check.board["input_size"] == 119 * 6 and check.board["max_payload"] == 256
    assert check.seconds.shape == (len(x),)
    assert "byte-equal to TFLM" in check.summary()
    # The harness counts each inference's instructions (QEMU -icount): exact, so the
    # same input costs the same every time, and the stack each used (it paints it).
    assert check.board["counter"] == "instructions"
    again = deploy.evaluate_on_device(board.url, tfl, x[:2], timeout=20)
    np.testing.assert_array_equal(again.instructions, check.instructions[:2])
    assert again.stack_bytes == check.stack_bytes > 0
    assert check.instructions.min() > 1000


@needs_board
def test_a_request_corrupted_on_the_way_is_answered_as_corrupt_and_sent_again(wand, board):
    tfl, x, _ = wand
    tamper = flip_once("to_device", 2, frame_type=device.TYPE_INPUT)
    check = deploy.evaluate_on_device(board.url, tfl, x[:3], timeout=20, tamper=tamper)
    assert len(tamper.seen) > 2
    assert check.corrupt_requests == 1 and check.resends >= 1
    np.testing.assert_array_equal(check.outputs, tfl.run(x[:3]))


@needs_board
def test_an_answer_corrupted_on_the_way_is_detected_and_asked_again(wand, board):
    tfl, x, _ = wand
    tamper = flip_once("from_device", 3, frame_type=device.TYPE_ANSWER)
    check = deploy.evaluate_on_device(board.url, tfl, x[:3], timeout=20, tamper=tamper)
    assert check.corrupt_answers == 1 and check.resends >= 1 and check.resyncs == 0
    np.testing.assert_array_equal(check.outputs, tfl.run(x[:3]))


@needs_board
def test_a_lost_answer_is_asked_again_after_its_deadline(wand, board):
    tfl, x, _ = wand
    dropped = []

    def lose_the_first_outputs(way, wire):
        body = cobs.decode(wire[:-1])
        if (way == "from_device" and body[0] == device.TYPE_ANSWER and not dropped
                and len(body) > 12 + device.ANSWER.size):      # an answer with outputs
            dropped.append(wire)
            return b""
        return wire
    check = deploy.evaluate_on_device(board.url, tfl, x[:2], timeout=1.0,
                                      tamper=lose_the_first_outputs)
    assert dropped and check.lost_answers >= 1 and check.resends >= 1
    assert check.resyncs == 0               # the board answered the resent request again
    np.testing.assert_array_equal(check.outputs, tfl.run(x[:2]))


@needs_board
def test_a_board_that_lost_the_sequence_is_greeted_again(wand, board):
    tfl, x, _ = wand
    sent = []

    def restart_before_the_second_input(way, wire):
        body = cobs.decode(wire[:-1])
        if way == "to_device" and body[:1] == bytes([device.TYPE_INPUT]):
            sent.append(body)
            if len(sent) == 4:              # input 1, chunk 0: the board "restarted"
                return encode_frame(device.TYPE_HELLO, 12345, b"") + wire
        return wire
    check = deploy.evaluate_on_device(board.url, tfl, x[:2], timeout=20,
                                      tamper=restart_before_the_second_input)
    assert check.resyncs == 1
    np.testing.assert_array_equal(check.outputs, tfl.run(x[:2]))


@needs_board
def test_a_board_that_stops_answering_is_a_device_error(wand, build_dir):
    tfl, x, _ = wand
    # HELLO and the first chunk are answered, then nothing.
    with emulated.boot_harness(tfl, build_dir=build_dir,
                               config={"TK_HARNESS_STOP_AFTER": 2}) as machine:
        with pytest.raises(DeviceError, match="did not answer input 0 after 2 attempts"):
            deploy.evaluate_on_device(machine.url, tfl, x[:2], timeout=0.5, retries=1)


@needs_board
def test_a_board_running_another_model_is_a_device_error(wand, board):
    tfl, x, _ = wand
    other = convert.Int8Model(bytes(tfl) + b"\0\0\0\0")     # same tensors, other bytes
    with pytest.raises(DeviceError, match="runs another model"):
        deploy.evaluate_on_device(board.url, other, x[:1], timeout=20)


def test_arguments_are_checked_at_the_door(wand):
    tfl, x, y = wand
    with pytest.raises(ParameterError, match="labels for"):
        deploy.evaluate_on_device("loop://", tfl, x, y[:-1])
    with pytest.raises(ParameterError, match="timeout"):
        deploy.evaluate_on_device("loop://", tfl, x, timeout=0)


C_CHECK = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tk_link.h"
/* Reads bytes on stdin, prints one line per frame end: "ok <type> <seq> <len>" or
 * "bad <status>". */
int main(void)
{
    static uint8_t buf[64];
    tk_frame_reader r;
    tk_frame_in f;
    int c;
    tk_frame_reader_init(&r, buf, sizeof buf);
    while ((c = getchar()) != EOF) {
        tk_link_status s = tk_frame_reader_feed(&r, (uint8_t)c, &f);
        if (s == TK_LINK_OK) {
            printf("ok %d %u %u\n", f.type, (unsigned)f.seq, (unsigned)f.length);
        } else if (s != TK_LINK_PENDING) {
            printf("bad %d\n", (int)s);
        }
    }
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")
def test_the_c_decoder_accepts_good_frames_and_names_bad_ones(root, tmp_path):
    (tmp_path / "check.c").write_text(C_CHECK)
    common = root / "boards" / "common"
    exe = tmp_path / "check"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-fsanitize=address,undefined",
                    "-I", str(common), str(tmp_path / "check.c"), str(common / "tk_link.c"),
                    str(common / "tk_frame.c"), "-o", str(exe)], check=True, timeout=120)
    good = encode_frame(0x21, 7, bytes(range(1, 40)))
    bad_crc = bytearray(encode_frame(0x21, 8, b"\x05" * 10))
    bad_crc[5] ^= 0x01
    rng = np.random.default_rng(1)
    stream = (b"\x00" + good + bytes(bad_crc) + b"\x01" * 200 + b"\x00"     # too long
              + b"\x03\x01\x00"                                             # not COBS
              + encode_frame(0x20, 9, b"") + b"\x00\x00"
              + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes() + b"\x00"
              + encode_frame(0x21, 10, b"\x00" * 30))
    out = subprocess.run([str(exe)], input=stream, capture_output=True, timeout=60, check=True)
    lines = out.stdout.decode().splitlines()
    assert lines[:5] == ["ok 33 7 39", "bad 4", "bad 5", "bad 1", "ok 32 9 0"]
    assert lines[-1] == "ok 33 10 30"       # found again after random garbage
    assert not out.stderr
