"""The `tinykit` command.

    tinykit demo [--out build] [--fast]    the worked examples end to end on bundled data
    tinykit train gesture|kws DATA          train, quantize, verify and export a model
    tinykit export MODEL.tflite --labels L  export it, or (--board B) make a board project
    tinykit flash PROJECT [--port P]        build a project and flash it to its board
                  [--install]               (installing the core and libraries it needs)
    tinykit capture URL --label L --out D   record labelled gestures or clips from a board
    tinykit monitor URL [--seconds S]       print what a board prints
    tinykit boards [--model M.tflite]       the boards tinykit can generate projects for
                                            (with a model: whether it fits each, and why not)
    tinykit ports                           serial ports (and simulated ones)

Exit codes: 0 done, 1 error (tinykit: error: ... on stderr), 2 bad usage, 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import ParameterError, SetupNeededError, TinykitError


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
    print("(The bundled sample is a few hundred clips: for real accuracy train on the full "
          "data set, see bench/kws.py.)")
    print("\n== Keywords in a stream: the emulated board listens, next to the host ==",
          flush=True)
    from .train import fast_mode
    audio, truth = recipes.keyword_stream(kws, 4 if fast_mode() else 12, seed=args.seed)
    both = recipes.kws_on_device(kws.tflite, kws.settings, kws.dataset.labels, audio, truth,
                                 build_dir=out / "mps2-an386", progress=True)
    print(both.summary())
    print(both.cost_table())
    return 0


def _fast(args):
    if getattr(args, "fast", False):
        os.environ["TINYKIT_FAST"] = "1"


def _train(args):
    _fast(args)
    from . import recipes
    out = Path(args.out)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    if args.task == "gesture":
        result = recipes.gesture(args.data, seed=args.seed, out=out, board=args.board,
                                 **overrides)
        r, folder = result.report, result.project.path
        files = result.project.files
        labels = result.dataset.labels
    else:
        folder = out / "kws"
        result = recipes.kws(args.data, seed=args.seed, out=folder, **overrides)
        r, files, labels = result.report, result.files, result.dataset.labels
    print(f"classes:                     {', '.join(labels)}")
    print(f"int8 test accuracy (TFLM):   {100 * r.int8_accuracy:.1f}%")
    print(f"int8 model / tensor arena:   {r.flash_bytes:,} / {r.arena_bytes:,} bytes")
    print(f"written to {folder}/: {', '.join(p.name for p in files)}")
    return 0


def _read_labels(text):
    path = Path(text)
    if path.is_file():
        labels = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    else:
        labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        raise ParameterError(f"--labels {text!r}: give class names as a,b,c or a labels.txt "
                             f"file (one per line).")
    return labels


def _export(args):
    from . import convert, deploy
    from .features import load_settings
    from .streaming import load_detector
    path = Path(args.model)
    if not path.is_file():
        raise ParameterError(f"{path}: no such model file; give the int8 .tflite written by "
                             f"`tinykit train` (or tinykit.convert).")
    model = convert.as_model(path.read_bytes())
    labels = _read_labels(args.labels)
    features = load_settings(args.features) if args.features else None
    detector = load_detector(args.detector) if args.detector else None
    if args.board:
        project = deploy.generate(model, board=args.board, app=args.app, out=args.out,
                                  labels=labels, features=features, name=args.name,
                                  settings=detector)
        print(f"project for {project.board} ({project.app}) in {project.path}/: "
              f"{', '.join(p.name for p in project.files)}")
        print(f"int8 model {project.flash_bytes:,} bytes, tensor arena {project.arena_bytes:,} "
              f"bytes; flash it with `tinykit flash {project.path} --port PORT`")
    else:
        files = deploy.export(model, args.out, labels=labels, features=features,
                              name=args.name or path.stem, detector=detector)
        print(f"exported to {args.out}/: {', '.join(p.name for p in files)}")
    return 0


def load_project(folder):
    """The :class:`~tinykit.deploy.Project` in ``folder``, rebuilt from its tinykit.json."""
    import json
    from .deploy import Project
    folder = Path(folder)
    meta_path = folder / "tinykit.json"
    if not meta_path.is_file():
        raise ParameterError(f"{folder} is not a tinykit project (no tinykit.json); make one "
                             f"with `tinykit export MODEL --board B` or `tinykit train`.")
    try:
        meta = json.loads(meta_path.read_text())
        board, app = meta["board"], meta["app"]
    except (ValueError, KeyError) as e:
        raise ParameterError(f"{meta_path}: not a tinykit project description ({e}).") from None
    return Project(path=folder, board=board, app=app,
                   files=sorted(p for p in folder.iterdir() if p.is_file()),
                   arena_bytes=meta.get("arena_bytes", meta.get("buffer_bytes", 0)),
                   flash_bytes=meta.get("flash_bytes", 0))


def _flash(args):
    from . import deploy
    project = load_project(args.project)
    b = deploy.board(project.board)
    where = args.port or args.probe or ""
    print(f"flashing {project.path} ({project.app}) to the {b.title} with {b.flasher}"
          f"{' on ' + where if where else ''}", flush=True)
    def run(install):
        return deploy.flash(project, port=args.port, probe=args.probe,
                            compile_only=args.compile_only, install=install)
    try:
        result = run(args.install)
    except SetupNeededError as e:
        if not _consent(e):
            raise
        result = run(True)
    if args.compile_only:
        print(f"built{': ' + str(result) if result else ''}")
    elif hasattr(result, "url") and hasattr(result, "close"):      # a board under QEMU
        with result:
            print(f"the emulated board runs {result.elf.name} and answers "
                  f"tinykit.deploy.evaluate_on_device at {result.url} (stopped on exit)")
    else:
        print("done")
    return 0


def _consent(error) -> bool:
    """On an interactive terminal, show what is missing and the commands that install it,
    and ask; elsewhere (a script, CI) no: the error stands and tells about --install."""
    if not sys.stdin.isatty():
        return False
    print(error, file=sys.stderr)
    try:
        answer = input("install these? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _capture(args):
    from tqdm.auto import tqdm
    from . import capture
    total = args.gestures or args.clips
    unit = "gesture" if args.gestures else "clip" if args.clips else "sample"
    bar = tqdm(total=total, unit=unit, desc=f"{args.label}", disable=args.quiet,
               file=sys.stderr)

    def progress(new, summary):
        if total:
            bar.update(summary.saved - bar.n)
        else:
            bar.update(len(new))
    try:
        summary = capture.record(args.url, label=args.label, out=args.out,
                                 gestures=args.gestures, clips=args.clips, seconds=args.seconds,
                                 baudrate=args.baud, idle_timeout=args.idle, on_data=progress,
                                 refuse_still=args.refuse_still)
    finally:
        bar.close()
    print(summary)
    return 0 if summary.saved else 1


def _monitor(args):
    import time
    from . import capture
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    port = capture.open_port(args.url, baudrate=args.baud, timeout=0.1)
    pending = b""
    try:
        while deadline is None or time.monotonic() < deadline:
            pending += port.read(4096)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                print(line.rstrip(b"\r").decode("utf-8", "replace"), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        if pending:
            print(pending.decode("utf-8", "replace"), flush=True)
        port.close()
    return 0


def _boards(args):
    from . import deploy
    if args.model:
        from .convert import Int8Model
        model = Int8Model.load(args.model)
        print(f"{model.source}: {model.flash_bytes:,} bytes of flash, tensor arena "
              f"{model.arena_bytes:,} bytes (measured), ops {', '.join(model.ops)}")
        print(deploy.fit_table(deploy.fit_report(model)))
        return 0
    for name in deploy.boards():
        b = deploy.board(name)
        print(f"{name:20s} {b.title}  flash {b.flash_bytes:,} B, RAM {b.ram_bytes:,} B, "
              f"apps: {', '.join(sorted(b.apps)) or '-'}")
    return 0


def _ports(args):
    from . import capture
    for port in capture.list_ports(sim=not args.no_sim):
        print(port)
    return 0


def _parser():
    parser = argparse.ArgumentParser(prog="tinykit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the worked examples on the bundled data")
    demo.add_argument("--out", default="build", help="folder for generated projects")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--fast", action="store_true", help="few epochs (same code path)")
    demo.set_defaults(run=_demo)

    train = sub.add_parser("train", help="train, quantize and export a model")
    train.add_argument("task", choices=("gesture", "kws"))
    train.add_argument("data", help="a bundled data set (magic_wand, speech_commands) or a folder")
    train.add_argument("--out", default="build", help="folder for the model and its export")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=_positive_int, help="training epochs (default: the recipe's)")
    train.add_argument("--fast", action="store_true", help="few epochs (same code path)")
    train.add_argument("--board", default="nano33ble", help="gesture: board of the project")
    train.set_defaults(run=_train)

    export = sub.add_parser("export", help="export an int8 model, or make a board project")
    export.add_argument("model", help="the int8 .tflite file")
    export.add_argument("--labels", required=True, help="a,b,c or a labels.txt file")
    export.add_argument("--features", help="the feature settings JSON written beside the model")
    export.add_argument("--detector", help="the keyword detector's settings JSON written beside "
                        "the model (its operating point)")
    export.add_argument("--board", help="generate a project for this board (see `tinykit boards`)")
    export.add_argument("--app", default="gesture", help="the board's project template")
    export.add_argument("--out", default="build", help="output folder")
    export.add_argument("--name", help="project (or file) name")
    export.set_defaults(run=_export)

    flash = sub.add_parser("flash", help="build a project and flash it to its board")
    flash.add_argument("project", help="a project folder (with tinykit.json)")
    flash.add_argument("--port", help="serial port or UF2 drive (none for the emulated board)")
    flash.add_argument("--probe", help="debug probe serial number (openocd, pyocd)")
    flash.add_argument("--compile-only", action="store_true", help="build without flashing")
    flash.add_argument("--install", action="store_true",
                       help="install the core and libraries the board needs (arduino-cli) "
                            "without asking")
    flash.set_defaults(run=_flash)

    cap = sub.add_parser("capture", help="record labelled samples from a board")
    cap.add_argument("url", help="port URL: /dev/ttyACM0, socket://host:port, sim://imu ...")
    cap.add_argument("--label", required=True, help="class name of what is recorded")
    cap.add_argument("--out", required=True, help="data set folder")
    how = cap.add_mutually_exclusive_group(required=True)
    how.add_argument("--gestures", type=_positive_int, help="IMU: this many gestures")
    how.add_argument("--clips", type=_positive_int, help="audio: this many clips")
    how.add_argument("--seconds", type=_positive_float, help="this many seconds of data")
    cap.add_argument("--baud", type=int, default=115200)
    cap.add_argument("--idle", type=_positive_float, default=10.0,
                     help="stop after this many seconds without data")
    cap.add_argument("--refuse-still", action="store_true",
                     help="IMU: set aside gestures with no movement after the trigger")
    cap.add_argument("--quiet", action="store_true", help="no progress bar")
    cap.set_defaults(run=_capture)

    mon = sub.add_parser("monitor", help="print a board's lines until Ctrl-C")
    mon.add_argument("url", help="port URL")
    mon.add_argument("--seconds", type=_positive_float, help="stop after this many seconds")
    mon.add_argument("--baud", type=int, default=115200)
    mon.set_defaults(run=_monitor)

    boards = sub.add_parser("boards", help="list boards (with --model: what fits where)")
    boards.add_argument("--model", help="an int8 .tflite: check that it fits each board")
    boards.set_defaults(run=_boards)
    ports = sub.add_parser("ports", help="list serial ports")
    ports.add_argument("--no-sim", action="store_true", help="leave out the simulated boards")
    ports.set_defaults(run=_ports)
    return parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def main(argv=None):
    """Run the ``tinykit`` command; returns its exit code (0 ok, 1 error, 2 bad usage,
    130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except TinykitError as e:
        print(f"tinykit: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinykit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
