#!/usr/bin/env python
"""Device benchmark: tinykit's generated C on the emulated Cortex-M4F, plain vs DSP kernels.

    python bench/device.py [--json FILE] [--inputs N] [--models gesture_cnn,ds_cnn,tiny_conv]

For each model (built with ``tinykit.models.build``, UNTRAINED: random weights and
random BatchNorm statistics, quantized post-training on random data; instruction
counts and sizes depend on the shapes, not on training) and each kernel set ("plain":
the reference loops of tk_kernels.c; "dsp": tk_fast.c with the weights re-laid out),
runs N random test vectors on QEMU mps2-an386 with -icount and prints a table.
``instructions_per_inference`` is counted by the firmware's own timer
(boards/common/tk_cycles.h; exact, the same on every run; the median over the inputs),
``text_bytes`` is .text + .rodata of the whole firmware less the compiled-in test
vectors, ``ram_bytes`` is .data + .bss (activations, scratch, firmware state; the stack
is not included), ``mismatches`` counts output bytes that differ from the TFLite Micro
interpreter's.

JSON: ``{"models": [{"model", "kernels", "trained", "macs", "instructions_per_inference",
"instructions_per_mac", "text_bytes", "ram_bytes", "mismatches", "inputs"}, ...]}``.
"""
import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from tinykit import convert, models  # noqa: E402
from tinykit._tools import run_tool  # noqa: E402
from tinykit.deploy import emulated  # noqa: E402
from tinykit.models._keras import keras  # noqa: E402

#: name -> (input shape, classes), the shapes the notebooks use.
MODELS = {"gesture_cnn": ((119, 6), 5), "ds_cnn": ((49, 10), 12), "tiny_conv": ((49, 40), 12)}


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


def _symbol_bytes(elf, names):
    nm = run_tool(["arm-none-eabi-nm", "-S", str(elf)], what="arm-none-eabi-nm",
                  timeout=30).stdout
    total = 0
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            total += int(parts[1], 16)
    return total


def measure(name, kernels, n_inputs, build_dir=None):
    tfl, rep = untrained(name)
    x = np.random.default_rng(1).normal(size=(n_inputs,) + rep.shape[1:]).astype(np.float32)
    device = emulated.run(tfl, x, build_dir=build_dir, timeout=900, kernels=kernels,
                          source=f"untrained {name}")
    want = convert.run_tflm(tfl, x)
    from tinykit.deploy.cmodel import generate_c_model
    macs = generate_c_model(tfl, kernels=kernels)[2]["macs"]
    per = int(np.median(device.instructions))
    inputs = _symbol_bytes(device.elf, {"tk_inputs"})
    return {"model": name, "kernels": kernels, "trained": False, "macs": macs,
            "instructions_per_inference": per, "instructions_per_mac": round(per / macs, 3),
            "instructions_min_max": [int(device.instructions.min()),
                                     int(device.instructions.max())],
            "text_bytes": device.text_bytes - inputs, "ram_bytes": device.data_bytes +
            device.bss_bytes, "mismatches": int((device.outputs != want).sum()),
            "inputs": n_inputs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--inputs", type=int, default=10, help="test vectors per model")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--kernels", default="plain,dsp")
    ap.add_argument("--build-dir", default=None)
    args = ap.parse_args(argv)
    rows = []
    head = (f"{'model':12} {'kernels':7} {'MACs':>9} {'instr/inference':>15} {'per MAC':>7} "
            f"{'text B':>7} {'RAM B':>6} {'mismatches':>10}")
    print(head)
    for name in args.models.split(","):
        for kernels in args.kernels.split(","):
            r = measure(name, kernels, args.inputs, args.build_dir)
            rows.append(r)
            print(f"{r['model']:12} {r['kernels']:7} {r['macs']:9,} "
                  f"{r['instructions_per_inference']:15,} {r['instructions_per_mac']:7.2f} "
                  f"{r['text_bytes']:7,} {r['ram_bytes']:6,} {r['mismatches']:10}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"models": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
