"""Generate a board project (sketch, model array, op resolver) from a template."""
from __future__ import annotations

import json
import math
import string
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DeployError
from .boards import board as get_board
from . import codegen
from .codegen import c_float, c_string_list


@dataclass
class Project:
    """A generated project folder and what went into it."""
    path: Path
    board: str
    app: str
    files: list = field(default_factory=list)
    arena_bytes: int = 0
    flash_bytes: int = 0

    @property
    def main_file(self) -> Path:
        return self.files[0]

    def __repr__(self):
        return (f"Project({self.app!r} for {self.board!r} at {self.path}: "
                f"{', '.join(p.name for p in self.files)})")


def write_model_sources(folder, tfl, ops, source="") -> list:
    """Write ``model_data.h``/``model_data.cc`` (the model as a 16-byte aligned const
    array ``g_model``) and ``op_resolver.h`` (exactly ``ops``) into ``folder``.

    Returns:
        The three paths written.
    """
    files = codegen.model_sources(tfl, "g_model", source)
    files["op_resolver.h"] = codegen.op_resolver_header(ops, source)
    return codegen.write(folder, files)


def _arena_with_margin(measured):
    # The board's allocator is the one TFLM's Python interpreter measured; a margin
    # covers alignment differences between 64-bit host and 32-bit target pointers.
    return int(math.ceil((measured + max(512, measured // 10)) / 16) * 16)


def generate(tfl, board="nano33ble", app="gesture", out="build", *, labels, settings=None,
             name=None, source="") -> Project:
    """Write a ready-to-build project for ``board`` running the int8 model ``tfl``.

    The project folder ``out/<name>/`` holds the app (e.g. ``<name>.ino``) filled from
    the board's template, ``model_data.h/.cc`` (the model as a 16-byte aligned const
    array), ``op_resolver.h`` (exactly the model's ops) and ``tinykit.json`` (labels,
    quantization and feature settings, for the record).

    Args:
        tfl: int8 .tflite bytes (from ``tinykit.convert.to_int8``).
        board: a name from ``tinykit.deploy.boards()`` or a Board.
        app: which template of the board (``"gesture"``).
        out: parent folder of the project.
        labels: class names, in output order.
        settings: app-specific values for the template (e.g. ``ranges``,
            ``samples``, ``threshold`` for gestures).
        name: project (and sketch) name; default ``f"{app}_{board}"``.
        source: a few words on where the model came from, written in the headers.

    Returns:
        A :class:`Project`.

    Raises:
        DeployError: unknown board or app, a model too big for the board, or labels that
            do not match the model's outputs.

    Example:
        >>> project = generate(tfl, "nano33ble", "gesture", labels=ds.labels,
        ...                    settings={"ranges": IMU_RANGES})  # doctest: +SKIP
    """
    from .. import __version__
    from ..convert import arena_bytes, io_details, ops
    b = get_board(board)
    template = b.template(app)
    tfl = bytes(tfl)
    io = io_details(tfl)
    n_out = int(io["output_shape"][-1])
    labels = list(labels)
    if len(labels) != n_out:
        raise DeployError(f"{len(labels)} labels given but the model has {n_out} outputs.")
    arena = arena_bytes(tfl)
    b.check_fit(len(tfl), arena)
    name = name or f"{app}_{b.name}"
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    model_ops = ops(tfl)
    values = {
        "version": __version__, "board_title": b.title, "model_source": source or "int8 model",
        "labels": c_string_list(labels), "labels_comment": ", ".join(labels),
        "num_labels": str(n_out), "model_array": "g_model",
        "input_scale": c_float(io["input_scale"]),
        "input_zero_point": str(io["input_zero_point"]),
        "output_scale": c_float(io["output_scale"]),
        "output_zero_point": str(io["output_zero_point"]),
        "arena_measured": str(arena), "arena_size": str(_arena_with_margin(arena)),
        "libraries": ", ".join(b.extra.get("libraries", [])) or "none",
    }
    settings = dict(settings or {})
    for key, value in settings.items():
        if isinstance(value, (list, tuple)):
            values[key] = ", ".join(c_float(v) if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, float):
            values[key] = c_float(value)
        else:
            values[key] = str(value)
    try:
        text = string.Template(template.read_text()).substitute(values)
    except KeyError as e:
        raise DeployError(f"the template {template} needs a value for {e.args[0]!r}: pass it "
                          f"in settings={{{e.args[0]!r}: ...}}.") from None
    main = folder / (f"{name}.ino" if template.name.endswith(".ino.tmpl")
                     else template.name.removesuffix(".tmpl"))
    main.write_text(text)
    files = [main] + write_model_sources(folder, tfl, model_ops, source)
    meta = {"generator": f"tinykit {__version__}", "board": b.name, "app": app,
            "labels": labels, "ops": model_ops, "flash_bytes": len(tfl), "arena_bytes": arena,
            "io": {k: (list(v) if isinstance(v, tuple) else v) for k, v in io.items()},
            "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}}
    (folder / "tinykit.json").write_text(json.dumps(meta, indent=2) + "\n")
    return Project(path=folder, board=b.name, app=app, files=files + [folder / "tinykit.json"],
                   arena_bytes=arena, flash_bytes=len(tfl))
