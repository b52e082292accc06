"""The `tinykit` command.

    tinykit demo [--out build] [--fast]    the worked examples end to end on bundled data
    tinykit boards                          the boards tinykit can generate projects for
    tinykit ports                           serial ports (and simulated ones)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import TinykitError


def _demo(args):
    if args.fast:
        os.environ["TINYKIT_FAST"] = "1"
    from . import recipes
    print("== Gesture recognition (IMU) on the bundled magic_wand data ==", flush=True)
    result = recipes.gesture("magic_wand", seed=args.seed, out=args.out, emulate=True)
    r = result.report
    print()
    print(f"float test accuracy (Keras):   {100 * r.float_accuracy:.1f}%")
    print(f"int8 test accuracy (TFLM):     {100 * r.int8_accuracy:.1f}%")
    print(f"int8 model:                    {r.flash_bytes:,} bytes")
    print(f"tensor arena (TFLM, measured): {r.arena_bytes:,} bytes")
    print(f"params / MACs:                 {result.model_info['params']:,} / "
          f"{result.model_info['macs']:,}")
    print(f"TFLM vs LiteRT:                max {r.litert_max_lsb} LSB apart")
    print(f"ops:                           {', '.join(r.ops)}")
    print(f"Arduino sketch:                {result.project.main_file}")
    print(f"pipeline time:                 {result.seconds:.1f} s")
    print(recipes.device_summary(result.device, r, result.dataset.y_test))
    print()
    print("== Keyword spotting (microphone) on the bundled Speech Commands sample ==", flush=True)
    out = Path(args.out) / "kws"
    kws = recipes.kws("speech_commands", seed=args.seed, out=out, emulate=True, epochs=40,
                      batch_size=16)
    base = recipes.kws(kws.dataset, model="tiny_conv", seed=args.seed, prepared=kws.prepared,
                       epochs=40, batch_size=16)
    k = kws.report
    print()
    print(f"test clips (speaker-disjoint):   {len(kws.y_test)} of {kws.dataset.num_classes} classes")
    print(f"DS-CNN float / int8 (TFLM):      {100 * kws.float_accuracy:.1f}% / "
          f"{100 * k.int8_accuracy:.1f}%")
    print(f"tiny_conv baseline int8:         {100 * base.report.int8_accuracy:.1f}%")
    print(f"int8 model / tensor arena:       {k.flash_bytes:,} / {k.arena_bytes:,} bytes")
    print(f"exported to:                     {out}/ ({', '.join(p.name for p in kws.files)})")
    print(recipes.device_summary(kws.device, k, kws.y_test))
    print("\n(The bundled sample is a few hundred clips: for real accuracy train on the full "
          "data set, see bench/kws.py.)")
    return 0


def _boards(args):
    from . import deploy
    for name in deploy.boards():
        b = deploy.board(name)
        print(f"{name:14s} {b.title}  flash {b.flash_bytes:,} B, RAM {b.ram_bytes:,} B, "
              f"apps: {', '.join(sorted(b.apps)) or '-'}")
    return 0


def _ports(args):
    from . import capture
    for port in capture.list_ports():
        print(port)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tinykit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the worked examples on the bundled data")
    demo.add_argument("--out", default="build", help="folder for generated projects")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--fast", action="store_true", help="few epochs (same code path)")
    demo.set_defaults(run=_demo)
    sub.add_parser("boards", help="list boards").set_defaults(run=_boards)
    sub.add_parser("ports", help="list serial ports").set_defaults(run=_ports)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except TinykitError as e:
        print(f"tinykit: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
