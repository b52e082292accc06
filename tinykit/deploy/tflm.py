"""The real TensorFlow Lite Micro + CMSIS-NN on the emulated board.

The Arduino library Chirale_TensorFlowLite (TFLM with CMSIS-NN's kernels, the one Arduino
users install) cross-compiled for the emulated Cortex-M4F (QEMU ``mps2-an386``, DSP
paths): the reference point for tinykit's own kernels, and a check that a generated
sketch computes on the real library what the TFLM Python interpreter computes::

    device = run(tfl, x_test, arduino="../shared/arduino")
    (device.outputs == tinykit.convert.run_tflm(tfl, x_test)).all()
    device.instructions                  # per inference, counted as emulated.run counts

tinykit carries none of the library's sources: ``arduino`` is a folder of Arduino
libraries (as arduino-cli's ``libraries/``) that holds ``Chirale_TensorFlowLite`` and
``ArduinoCore-API`` (and ``Arduino_LSM9DS1`` for the gesture sketch). TFLM is compiled
once (minutes) into the per-user cache beside the emulated board's builds
(``tinykit.deploy.emulated.build``), in a folder named after its sources and flags, and
reused by every later build; nothing is written under ``boards/``.

The firmware: ``boards/mps2-an386/tflm_infer`` (a model on compiled-in inputs, as the
``infer`` firmware does with tinykit's kernels) and ``boards/mps2-an386/tflm`` (a
generated Arduino sketch, setup()/loop() from a small main); both share
``tflm/arduino.mk`` (Serial on UART0, the library's build rules).
"""
from __future__ import annotations

import hashlib
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from .._resources import runtime_dir
from .._tools import require_tool, run_tool
from ..errors import DeployError
from . import codegen, emulated

LIBRARY = "Chirale_TensorFlowLite"
CORE_API = "ArduinoCore-API"
SENSOR = "Arduino_LSM9DS1"

# Kernels of the ops tinykit's model builders emit (gesture CNN, DS-CNN, tiny_conv) and
# common int8 neighbours; a model with another op needs its file added here.
_KERNELS = {"conv", "depthwise_conv", "fully_connected", "pooling", "softmax", "reshape",
            "add", "mul", "quantize", "dequantize", "reduce", "activations", "logistic",
            "concatenation", "pad", "squeeze", "kernel_util", "micro_tensor_utils"}
_NOT_NEEDED = {"all_ops_resolver", "test_helpers", "test_helper_custom_ops", "mock_micro_graph",
               "fake_micro_context", "recording_micro_allocator",
               "recording_single_arena_buffer_allocator"}


def libraries(arduino) -> Path:
    """``arduino`` as an absolute folder, checked to hold the libraries the firmware
    builds against.

    Raises:
        DeployError: ``Chirale_TensorFlowLite`` or ``ArduinoCore-API`` is not in it.
    """
    if arduino is None:
        raise DeployError(f"no folder of Arduino libraries given: pass arduino= the folder "
                          f"that holds {LIBRARY} and {CORE_API} (in the tinykit repository: "
                          f"../shared/arduino beside it).")
    folder = Path(arduino).expanduser().resolve()
    missing = [name for name, marker in ((LIBRARY, "library.properties"),
                                         (CORE_API, "api/ArduinoAPI.h"))
               if not (folder / name / marker).is_file()]
    if missing:
        raise DeployError(f"{' and '.join(missing)} not found in {folder} (no "
                          f"{folder / missing[0]}): pass arduino= a folder holding the real "
                          f"Arduino libraries ({LIBRARY} 2.0.0 from the Library Manager, "
                          f"arduino/{CORE_API}); tinykit does not carry them.")
    return folder


def library_sources(arduino) -> list:
    """The .cpp/.c files of Chirale_TensorFlowLite that the firmware compiles: TFLM's
    interpreter, allocator and planners, the kernels of the ops tinykit's models use
    (the library carries CMSIS-NN's variants of CONV_2D, DEPTHWISE_CONV_2D,
    FULLY_CONNECTED, the pools, SOFTMAX, ADD and MUL, and no reference .cpp for them),
    then CMSIS-NN itself. Not the audio microfrontend, test helpers or the all-ops
    resolver. On a host CMSIS-NN takes its portable C paths; on a Cortex-M4 its DSP
    ones."""
    src = libraries(arduino) / LIBRARY / "src"

    def wanted(p):
        rel = p.relative_to(src).as_posix()
        if "experimental/" in rel or p.stem in _NOT_NEEDED:
            return False
        if "/micro/kernels/" in rel:
            return p.stem.removesuffix("_common") in _KERNELS
        return True
    cpp = [p for p in sorted((src / "tensorflow").rglob("*.cpp")) if wanted(p)]
    return (cpp + sorted((src / "peripherals").glob("*.cpp"))
            + sorted((src / "third_party" / "cmsis_nn" / "Source").rglob("*.c")))


def _arduino_mk(board):
    return emulated.emulated_board(board).firmware_dir("tflm") / "arduino.mk"


def arm_library(arduino, *, build_dir=None, board=emulated.BOARD) -> Path:
    """Where the compiled library goes: ``<cache>/build/<board>/tflm-lib-<digest>/
    libtflm.a``, the digest covering the library's sources (names, sizes, times), the
    compile flags of ``tflm/arduino.mk`` and the board's CPU flags, so that TFLM is
    compiled once and rebuilt only when one of them changes."""
    b = emulated.emulated_board(board)
    flags = "\n".join(line for line in _arduino_mk(board).read_text().splitlines()
                      if re.search(r"FLAGS|DEFS|INCS|TFLM", line) and "LDFLAGS" not in line
                      and not line.startswith("#"))
    digest = hashlib.sha256(f"{flags}\n{' '.join(b.cpu_flags)}\n".encode())
    for s in library_sources(arduino):
        st = s.stat()
        digest.update(f"{s}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    root = Path(build_dir) if build_dir else emulated._cache_root() / "build" / b.name
    return root.resolve() / f"tflm-lib-{digest.hexdigest()[:16]}" / "libtflm.a"


def make_settings(arduino, *, build_dir=None, board=emulated.BOARD) -> str:
    """``tflm.mk``: the make variables of the firmware (where the real libraries are,
    see ``tflm/arduino.mk``)."""
    folder = libraries(arduino)
    return "\n".join([
        codegen.banner("tinykit.deploy.tflm.make_settings", str(folder)).rstrip("\n")
        .replace("//", "#"),
        f"TFLM_SRC := {folder / LIBRARY / 'src'}",
        "TFLM_SOURCES := " + " ".join(str(p) for p in library_sources(folder)),
        f"TFLM_LIB := {arm_library(folder, build_dir=build_dir, board=board)}",
        f"ARDUINO_API := {folder / CORE_API}",
        f"SENSOR_INC := {folder / SENSOR / 'src'}", ""])


def prebuild(arduino, *, build_dir=None, board=emulated.BOARD, timeout=3600) -> Path:
    """Compile TFLM for the board's CPU into its cache folder (``make -j2 ... library``),
    ahead of :func:`tinykit.deploy.emulated.build`, whose make has a 10-minute deadline
    that a cold TFLM build on a busy machine can pass. Returns the library; a library
    already built is returned at once.

    Raises:
        DeployError: the folder lacks the libraries, or the build failed or took longer
            than ``timeout`` seconds.
        ToolNotFoundError: ``arm-none-eabi-g++`` or ``make`` is missing.
    """
    lib = arm_library(arduino, build_dir=build_dir, board=board)
    if lib.is_file():
        return lib
    require_tool(emulated.CROSS + "g++")
    make = require_tool("make")
    b = emulated.emulated_board(board)
    with tempfile.TemporaryDirectory(prefix="tinykit-tflm-") as tmp:
        gen = Path(tmp) / "gen"
        gen.mkdir()
        (gen / "tflm.mk").write_text(make_settings(arduino, build_dir=build_dir, board=board))
        result = run_tool([make, "-j2", "-f", str(_arduino_mk(board).parent / "Makefile"),
                           "library", f"GEN={gen}", f"BUILD={tmp}",
                           f"CPU={' '.join(b.cpu_flags)}", f"RUNTIME={runtime_dir()}"],
                          what=f"compiling {LIBRARY} for the {b.name}", timeout=timeout,
                          check=False)
    if result.returncode != 0 or not lib.is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise DeployError(f"compiling {LIBRARY} for the {b.name} failed (objects kept in "
                          f"{lib}.obj, a new call resumes):\n{tail}")
    return lib


def sketch_sources(project, rows, loops, arduino, *, build_dir=None,
                   board=emulated.BOARD) -> dict:
    """The generated files of the ``tflm`` firmware: the project's sketch and model
    (``tinykit.deploy.generate``), the IMU rows it replays (``tflm_imu.c``: ``rows``
    float rows of aX..gZ, ``loops`` calls of loop()) and ``tflm.mk``; build them with
    ``emulated.build("tflm", files)`` after :func:`prebuild`."""
    files = {p.name: p.read_text() for p in sorted(Path(project.path).iterdir())
             if p.suffix in (".ino", ".cc", ".h")}
    values = ", ".join(codegen.c_float(float(v)) for v in np.asarray(rows).reshape(-1))
    files["tflm_imu.c"] = (codegen.banner("tinykit.deploy.tflm.sketch_sources", "IMU rows")
                           + "#include <stdint.h>\n"
                           f"const float tk_imu_rows[] = {{{values}}};\n"
                           f"const int32_t tk_imu_row_count = {len(rows)};\n"
                           f"const int32_t tk_imu_loops = {loops};\n")
    files["tflm.mk"] = make_settings(arduino, build_dir=build_dir, board=board)
    return files


def scratch_bytes(tfl) -> list:
    """The scratch buffer each op of the model asks the library's CMSIS-NN kernels for
    on a Cortex-M4 with DSP (bytes, one entry per op in the model's order; 0 for ops that
    ask for none). TFLM's Python interpreter runs reference kernels, which ask for none,
    so its measured arena lacks these; the figures follow the ``*_get_buffer_size``
    functions of the CMSIS-NN that Chirale_TensorFlowLite 2.0.0 carries:

    - CONV_2D: none for a 1x1 filter with stride 1 (``arm_convolve_1x1_s8_fast``),
      else an im2col of two columns of int16, ``2 * in_channels * kh * kw * 2``;
    - DEPTHWISE_CONV_2D with depth multiplier 1: one int16 column,
      ``in_channels * kh * kw * 2`` (``arm_depthwise_conv_s8_opt``), else none;
    - AVERAGE_POOL_2D: one int32 sum per channel (``arm_avgpool_s8``);
    - FULLY_CONNECTED (int8), MAX_POOL_2D, SOFTMAX and the rest: none.

    Example:
        >>> scratch_bytes(tfl)  # gesture CNN: RESHAPE, CONV_2D, MAX_POOL_2D, ...  # doctest: +SKIP
        [0, 96, 0, 0, 0]
    """
    from ..convert import as_model
    interp = as_model(tfl)._litert
    tensors = interp.get_tensor_details()

    def shape(i):
        return tuple(int(n) for n in tensors[i]["shape"])
    sizes = []
    for op in interp._get_ops_details():
        name, ins = op["op_name"], op["inputs"]
        size = 0
        if name == "CONV_2D":
            (_, h, w, cin), (_, kh, kw, _) = shape(ins[0]), shape(ins[1])
            _, oh, ow, _ = shape(op["outputs"][0])
            # stride 1 shows as an output as large as the input; on a dimension of 1 the
            # stride cannot be seen, so the larger buffer is assumed
            if not ((kh, kw) == (1, 1) and (oh, ow) == (h, w) and h > 1 and w > 1):
                size = 2 * cin * kh * kw * 2
        elif name == "DEPTHWISE_CONV_2D":
            (n, _, _, cin), (_, kh, kw, cout) = shape(ins[0]), shape(ins[1])
            size = cin * kh * kw * 2 if cin == cout and n == 1 else 0
        elif name == "AVERAGE_POOL_2D":
            size = shape(ins[0])[-1] * 4
        sizes.append(size)
    return sizes


def arena_size(tfl) -> int:
    """The tensor arena a generated sketch (and :func:`run`) gives the model, and the
    figure the boards' fit check uses: what TFLM's Python interpreter measured, plus
    the largest CMSIS-NN scratch buffer (:func:`scratch_bytes`; the library plans each
    one for its op's lifetime only, beside the tensors), plus a margin of max(512
    bytes, 10% of the measured arena) for the allocator's bookkeeping on a 32-bit
    target, rounded up to 16 bytes."""
    from ..convert import as_model
    model = as_model(tfl)
    scratch = max([0] + [-(-s // 16) * 16 for s in scratch_bytes(model)])
    measured = model.arena_bytes
    return -(-(measured + scratch + max(512, measured // 10)) // 16) * 16


def run(tfl, x, arduino, *, build_dir=None, timeout=600, source="",
        board=emulated.BOARD) -> emulated.DeviceRun:
    """Run the int8 model with the real TFLM + CMSIS-NN on the emulated board, for
    every input in ``x``, each inference's instructions counted.

    The ``tflm_infer`` firmware holds the model (``model_data.cc``), a resolver of
    exactly its ops (``op_resolver.h``), a tensor arena of the size a generated sketch
    gets (:func:`arena_size`) and ``x`` quantized.

    Args:
        tfl: the int8 model (``tinykit.convert.to_int8``; .tflite bytes work too).
        x: float inputs, quantized with the model's input scale as on the device.
        arduino: the folder of Arduino libraries (see the module's notes).
        build_dir: where to build (default: the per-user cache).
        timeout: seconds the firmware may take from boot to its last output.
        source: a few words on where the model came from, for the generated files.
        board: the emulated board.

    Returns:
        A :class:`~tinykit.deploy.emulated.DeviceRun`, as ``emulated.run`` returns:
        ``outputs`` (raw int8, one row per input), ``instructions``, the ELF's sizes
        (``text_bytes``: code and constants; ``bss_bytes`` includes the arena) and
        ``arena_used_bytes``, what TFLM used of the arena on the board.

    Raises:
        DeployError: no libraries in ``arduino``, or a build failed.
        ToolNotFoundError: the cross compiler or QEMU is missing.
        DeviceError: the firmware failed (``error: AllocateTensors() failed`` ...),
            faulted or hung.

    Example:
        >>> device = run(tfl, x_test[:10], "../shared/arduino")  # doctest: +SKIP
        >>> int(np.median(device.instructions))  # doctest: +SKIP
        854690
    """
    from ..convert import as_model
    t0 = time.perf_counter()
    arduino = libraries(arduino)
    model = as_model(tfl)
    source = source or model.source
    q = np.asarray(model.quantize(x), dtype=np.int8).reshape(len(x), -1)
    width = int(np.prod(model.output.shape[1:]))
    gen = "tinykit.deploy.tflm.run"
    files = {**codegen.model_sources(model, "g_model", source),
             "op_resolver.h": codegen.op_resolver_header(model.ops, source),
             **emulated.inputs_sources(q, generator=gen, source=source),
             "tflm.mk": make_settings(arduino, build_dir=build_dir, board=board)}
    config = {"TK_ICOUNT_SHIFT": emulated.icount_shift(board),
              "TK_MODEL_INPUT_SIZE": q.shape[1], "TK_MODEL_OUTPUT_SIZE": width,
              "TK_TFLM_ARENA_BYTES": arena_size(model)}
    prebuild(arduino, build_dir=build_dir, board=board)
    elf = emulated.build("tflm_infer", files, config=config, build_dir=build_dir, board=board)
    device = emulated.run_elf(elf, width, timeout=timeout, board=board)
    device.build_seconds = time.perf_counter() - t0 - device.run_seconds
    return device
