#!/usr/bin/env python
"""Device benchmark: tinykit's generated C on the emulated Cortex-M4F, plain vs DSP kernels,
beside the real TFLM + CMSIS-NN.

    python bench/device.py [--json FILE] [--inputs N] [--models gesture_cnn,ds_cnn,tiny_conv]
                           [--kernels plain,dsp,tflm-cmsis-nn] [--arduino DIR]

For each model (built with ``tinykit.models.build``, UNTRAINED: random weights and
random BatchNorm statistics, quantized post-training on random data; instruction
counts and sizes depend on the shapes, not on training) and each kernel set ("plain":
the reference loops of tk_kernels.c; "dsp": tk_fast.c with the weights re-laid out;
"tflm-cmsis-nn": the real TensorFlow Lite Micro with CMSIS-NN's kernels of the Arduino
library Chirale_TensorFlowLite, built for the same board by ``tinykit.deploy.tflm.run``
from ``--arduino``, default ``../shared/arduino`` beside the project; its rows are
skipped, with the reason printed, when the library is not there), runs N random test
vectors on QEMU mps2-an386 with -icount and prints a table. tinykit's kernels run in
the device-check harness, which gets the vectors over the UART
(``tinykit.deploy.emulated.run``, the host code of ``evaluate_on_device``); the TFLM
firmware has them compiled in. ``instructions_per_inference`` is counted by the
firmware's own timer around the model's call (boards/common/tk_cycles.h; exact, the
same on every run; the median over the inputs), ``text_bytes`` is .text + .rodata of
the whole firmware (less compiled-in test vectors), ``ram_bytes`` is .data + .bss
(activations, scratch, firmware state and buffers) plus ``stack_bytes``, the stack the
inference used, measured by the harness (it paints the stack before each call; not
measured for tflm-cmsis-nn: None, and its RAM includes the tensor arena as a generated
sketch sizes it, ``tinykit.deploy.tflm.arena_size``: TFLM's Python interpreter's figure
plus the largest CMSIS-NN scratch buffer plus a margin of max(512 B, 10%)), ``macs`` are
the model's (counted by tinykit's generator), ``mismatches`` counts output bytes that
differ from the TFLite Micro interpreter's: 0 for every kernel set, the real library's
too (``to_int8`` gives dense layers one weight scale, as the library's CMSIS-NN
FULLY_CONNECTED requires; tests/test_arduino_real.py).

With ``--kws-stream`` it also checks keyword spotting on the device: the DS-CNN of
``tinykit.recipes.kws`` (trained on the bundled Speech Commands sample, or ``--kws-data``)
with the C audio front end on the emulated board. ``feature_match`` and
``max_feature_step`` compare the board's int8 input tensors with Python's on every test
clip; then a stream of test keywords over noise is played to the streaming firmware
(``tinykit.deploy.listen``) and to ``tinykit.streaming.detect`` with the same int8 model,
and their detections are compared (same labels, times within one hop); instructions per
second of audio (front end, model every ``--every`` hops) give the share of a 64 MHz
Cortex-M4.

JSON: ``{"models": [{"model", "kernels", "trained", "macs", "instructions_per_inference",
"instructions_per_mac", "text_bytes", "ram_bytes", "stack_bytes", "mismatches", "inputs"},
...], "tflm_arena": [{"model", "arena_bytes", "arena_measured_bytes", "scratch_bytes",
"arena_used_bytes"}, ...],
"kws_stream": {"feature_match", "max_feature_step", "host_detections",
"device_detections", "same_detections", "frontend_instructions_per_second",
"model_instructions_per_second", "realtime_fraction_64mhz", "frontend_ram_bytes",
...}}``.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from tinykit import convert, models  # noqa: E402
from tinykit.deploy import emulated, tflm  # noqa: E402
from tinykit.errors import DeployError  # noqa: E402
from tinykit.models._keras import keras  # noqa: E402

#: name -> (input shape, classes), the shapes the notebooks use.
MODELS = {"gesture_cnn": ((119, 6), 5), "ds_cnn": ((49, 10), 12), "tiny_conv": ((49, 40), 12)}
#: tinykit's kernel sets, and the real TFLM + CMSIS-NN they are compared with.
KERNELS = ("plain", "dsp", "tflm-cmsis-nn")
REAL_TFLM = "tflm-cmsis-nn"


def untrained(name, seed=0):
    """An int8 model of ``name`` with random weights and BatchNorm statistics, and
    random test vectors for it."""
    shape, classes = MODELS[name]
    keras.utils.set_random_seed(seed)
    model = models.build(name, shape, classes)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                               rng.normal(0, 0.2, beta.shape).astype(np.float32),
                               rng.normal(0, 0.2, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 2.0, var.shape).astype(np.float32)])
    rep = rng.normal(size=(64,) + shape).astype(np.float32)
    return convert.to_int8(model, representative=rep), rep


def measure(name, kernels, n_inputs, build_dir=None, arduino=None):
    tfl, rep = untrained(name)
    x = np.random.default_rng(1).normal(size=(n_inputs,) + rep.shape[1:]).astype(np.float32)
    if kernels == REAL_TFLM:
        device = tflm.run(tfl, x, arduino, build_dir=build_dir, timeout=900,
                          source=f"untrained {name}")
    else:
        device = emulated.run(tfl, x, build_dir=build_dir, timeout=300, kernels=kernels,
                              source=f"untrained {name}")
    want = convert.run_tflm(tfl, x)
    from tinykit.deploy.cmodel import generate_c_model
    macs = generate_c_model(tfl, kernels="plain")[2]["macs"]
    per = int(np.median(device.instructions))
    inputs = emulated.symbol_bytes(device.elf, {"tk_inputs"})  # tflm_infer's test vectors
    real = kernels == REAL_TFLM
    row = {"model": name, "kernels": kernels, "trained": False, "macs": macs,
           "instructions_per_inference": per, "instructions_per_mac": round(per / macs, 3),
           "instructions_min_max": [int(device.instructions.min()),
                                    int(device.instructions.max())],
           "text_bytes": device.text_bytes - inputs, "ram_bytes": device.ram_bytes,
           "stack_bytes": None if real else device.stack_bytes,
           "mismatches": int((device.outputs != want).sum()), "inputs": n_inputs}
    arena = ({"model": name, "arena_bytes": tflm.arena_size(tfl),
              "arena_measured_bytes": tfl.arena_bytes,
              "scratch_bytes": max(tflm.scratch_bytes(tfl)),
              "arena_used_bytes": device.arena_used_bytes} if real else None)
    return row, arena


def kws_stream(data, every, epochs, clips, build_dir):
    """The keyword spotter on the emulated board: features, stream, cost (see the top)."""
    from tinykit import recipes
    from tinykit.deploy import audio_frontend
    kws = recipes.kws(data, epochs=epochs, batch_size=16, verbose=False)
    ds, clip_sets, _, settings = kws.prepared
    x_test, y_test = clip_sets["test"]
    model = kws.tflite
    frontend = audio_frontend.run_emulated(x_test, settings, model, build_dir=build_dir)
    match = audio_frontend.parity(frontend, x_test, settings, model)
    audio, truth = recipes.keyword_stream(kws, clips)
    both = recipes.kws_on_device(model, settings, ds.labels, audio, truth, every=every,
                                 build_dir=build_dir)
    heard = both.device
    rate = heard.per_second()
    return {"model": kws.name, "trained_on": str(ds.path), "epochs": epochs,
            "int8_accuracy": kws.report.int8_accuracy, "test_clips": len(y_test),
            "feature_match": match["feature_match"], "max_feature_step": match["max_feature_step"],
            "stream_seconds": heard.seconds, "keywords": len(both.truth),
            "every_hops": every,
            "host_detections": [[d.label, d.time] for d in both.host],
            "device_detections": [[d.label, d.time] for d in heard.detections],
            "same_detections": both.same,
            "host_scores": both.host_scores, "device_scores": both.device_scores,
            "frontend_instructions_per_second": rate["frontend"],
            "model_instructions_per_second": rate["model"],
            "realtime_fraction_64mhz": heard.realtime_fraction(64e6),
            "frontend_ram_bytes": both.frontend_ram_bytes,
            "corrupt_frames": heard.corrupt, "missing_frames": heard.missing}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--inputs", type=int, default=10, help="test vectors per model")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--arduino", default=str(ROOT.parent / "shared" / "arduino"),
                    help=f"folder of Arduino libraries holding {tflm.LIBRARY}, for "
                         f"{REAL_TFLM}")
    ap.add_argument("--build-dir", default=None)
    ap.add_argument("--kws-stream", action="store_true", help="also keyword spotting on the device")
    ap.add_argument("--kws-data", default="speech_commands")
    ap.add_argument("--kws-epochs", type=int, default=40)
    ap.add_argument("--clips", type=int, default=20, help="keyword clips in the stream")
    ap.add_argument("--every", type=int, default=10, help="hops between model runs")
    args = ap.parse_args(argv)
    rows, arenas = [], []
    kernel_sets = args.kernels.split(",")
    unknown = sorted(set(kernel_sets) - set(KERNELS))
    if unknown:
        ap.error(f"--kernels {','.join(unknown)}: expected some of {','.join(KERNELS)}")
    if REAL_TFLM in kernel_sets:
        try:
            tflm.libraries(args.arduino)
        except DeployError as err:
            print(f"{REAL_TFLM} rows skipped (--arduino {args.arduino}): {err}")
            kernel_sets.remove(REAL_TFLM)
    head = (f"{'model':12} {'kernels':13} {'MACs':>9} {'instr/inference':>15} {'per MAC':>7} "
            f"{'text B':>7} {'RAM B':>6} {'mismatches':>10}")
    print(head)
    for name in args.models.split(","):
        for kernels in kernel_sets:
            r, arena = measure(name, kernels, args.inputs, args.build_dir, args.arduino)
            rows.append(r)
            arenas += [arena] if arena else []
            print(f"{r['model']:12} {r['kernels']:13} {r['macs']:9,} "
                  f"{r['instructions_per_inference']:15,} {r['instructions_per_mac']:7.2f} "
                  f"{r['text_bytes']:7,} {r['ram_bytes']:6,} {r['mismatches']:10}", flush=True)
    for a in arenas:
        print(f"{REAL_TFLM} {a['model']}: RAM includes the tensor arena as a generated sketch "
              f"sizes it, {a['arena_bytes']:,} B (interpreter {a['arena_measured_bytes']:,} B, "
              f"CMSIS-NN scratch {a['scratch_bytes']:,} B), of which TFLM used "
              f"{a['arena_used_bytes']:,} B")
    result = {"models": rows}
    if arenas:
        result["tflm_arena"] = arenas
    if args.kws_stream:
        k = kws_stream(args.kws_data, args.every, args.kws_epochs, args.clips, args.build_dir)
        result["kws_stream"] = k
        print(f"\nkeyword spotting on the device ({k['model']}, int8 "
              f"{100 * k['int8_accuracy']:.1f}% on {k['test_clips']} test clips):")
        print(f"  features: {100 * k['feature_match']:.2f}% of int8 inputs equal to Python's, "
              f"max {k['max_feature_step']} step apart")
        print(f"  stream {k['stream_seconds']:.1f} s, {k['keywords']} keywords, model every "
              f"{k['every_hops']} hops: host {len(k['host_detections'])} detections, device "
              f"{len(k['device_detections'])}, same: {k['same_detections']}")
        print(f"  {k['frontend_instructions_per_second'] / 1e6:.2f} M (front end) + "
              f"{k['model_instructions_per_second'] / 1e6:.2f} M (model) instructions per "
              f"second of audio: {100 * k['realtime_fraction_64mhz']:.1f}% of 64 MHz; front-end "
              f"buffers {k['frontend_ram_bytes']:,} B RAM")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
