"""The board registry: one folder per board under boards/ (carried in the package).

Each ``boards/<name>/board.toml`` says what the board is (CPU, memory, sensors), how it
is flashed, which project templates and firmware it has and, for an emulated board,
how the emulator boots it, so adding a board is adding a folder.

The fit check (:meth:`Board.fit`, :meth:`Board.check_fit`, :func:`fit_report`) sets a
model's flash (its .tflite bytes), tensor arena (``tflm.arena_size``: measured, plus
CMSIS-NN scratch and a margin) and ops against what a board has, less what its Arduino
core, TFLM and the app take (board.toml ``[footprint]``), and the ops its TFLM build can
run (``tflm``, listed in ``boards/common/tflm.toml``).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .._resources import boards_dir
from ..errors import DeployError


def boards_root() -> Path:
    """The folder of board descriptions (``TINYKIT_BOARDS`` overrides it)."""
    return boards_dir()


@dataclass(frozen=True)
class Board:
    """A board description read from ``boards/<name>/board.toml``.

    ``footprint``: what a sketch takes besides the model (``core_*``, ``tflm_*``,
    ``app_*``, ... in bytes, each figure's source in the file); ``reserved_*_bytes`` are
    their sums. ``tflm``: the TFLM build it runs (its ops in ``boards/common/tflm.toml``).
    ``apps``: project templates; ``app_parts``: files the templates take in
    (``${gesture_app}``). Keys tinykit does not know stay in ``extra`` (``fqbn``,
    ``libraries``, ``[flash]``, ...).
    """
    name: str
    title: str
    folder: Path
    cpu: str = ""
    clock_hz: int = 0
    cpu_flags: tuple = ()
    flasher: str = ""
    sensors: tuple = ()
    flash_bytes: int = 0
    ram_bytes: int = 0
    reserved_flash_bytes: int = 0
    reserved_ram_bytes: int = 0
    footprint: dict = field(default_factory=dict)
    tflm: str = ""
    apps: dict = field(default_factory=dict)
    app_parts: dict = field(default_factory=dict)
    firmware: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def template(self, app) -> Path:
        if app not in self.apps:
            raise DeployError(f"board {self.name!r} has no {app!r} project template; it has "
                              f"{sorted(self.apps)}. Add one to {self.folder / 'board.toml'}.")
        return self.folder / self.apps[app]

    def firmware_dir(self, name) -> Path:
        """The source folder of the firmware ``name`` (the board.toml ``[firmware]`` table)."""
        if name not in self.firmware:
            raise DeployError(f"board {self.name!r} has no {name!r} firmware; it has "
                              f"{sorted(self.firmware)} (the [firmware] table of "
                              f"{self.folder / 'board.toml'}).")
        return self.folder / self.firmware[name]    # an absolute path stays as it is

    def template_text(self, app) -> str:
        """The text of the ``app`` template with the board's ``[app_parts]`` in it: each
        ``${part}`` the template names is that file's text (e.g. ``${gesture_app}``, the
        gesture app every IMU board shares), filled later with the same values."""
        text = self.template(app).read_text()
        for part, rel in self.app_parts.items():
            if "${" + part + "}" in text:
                path = self.folder / rel
                if not path.is_file():
                    raise DeployError(f"board {self.name!r}: its [app_parts] {part} = "
                                      f"{rel!r} is not a file ({path}).")
                text = text.replace("${" + part + "}", path.read_text().rstrip("\n"))
        return text

    @property
    def tflm_ops(self):
        """The ops the board's TFLM build can run (a frozenset), or None when the board
        file names no ``tflm`` (then ops are not checked)."""
        return _tflm_ops(str(boards_root()), self.tflm) if self.tflm else None

    def fit(self, model=None, *, flash_bytes=None, arena_bytes=None, ops=None) -> "Fit":
        """How ``model`` (an int8 model; or its ``flash_bytes``, ``arena_bytes`` and
        ``ops``) fits this board: see :class:`Fit`.

        Example:
            >>> board("nano33ble").fit(tfl).fits  # doctest: +SKIP
            True
        """
        if model is not None:
            from ..convert import as_model
            from .tflm import arena_size
            model = as_model(model)
            flash_bytes, arena_bytes, ops = model.flash_bytes, arena_size(model), model.ops
        can_run = self.tflm_ops
        missing = () if can_run is None else tuple(op for op in dict.fromkeys(ops or ())
                                                    if op not in can_run)
        return Fit(board=self.name, title=self.title, flash_bytes=self.flash_bytes,
                   ram_bytes=self.ram_bytes, reserved_flash_bytes=self.reserved_flash_bytes,
                   reserved_ram_bytes=self.reserved_ram_bytes,
                   model_flash_bytes=int(flash_bytes or 0), arena_bytes=int(arena_bytes or 0),
                   missing_ops=missing, tflm=self.tflm)

    def check_fit(self, flash_bytes, arena_bytes, ops=()):
        """Raise DeployError if a model of this size (and these ops) cannot run on the
        board beside its core, TFLM and the app; the message gives the figures, by how
        much it is over and what to try, boards it would fit among them."""
        fit = self.fit(flash_bytes=flash_bytes, arena_bytes=arena_bytes, ops=ops)
        if fit.fits:
            return fit
        others = [f.board for f in fit_report(flash_bytes=flash_bytes, arena_bytes=arena_bytes,
                                              ops=ops, names=_real_boards())
                  if f.fits and f.board != self.name]
        tries = []
        if fit.missing_ops:
            tries.append("a model without those ops (tinykit.models builds use only CONV_2D, "
                         "DEPTHWISE_CONV_2D, pools, FULLY_CONNECTED, RESHAPE and SOFTMAX)")
        if fit.flash_left < 0 or fit.ram_left < 0:
            tries.append("a smaller model (fewer filters or units, a shorter input window)")
        tries.append(f"another board: {', '.join(others)} (`tinykit boards --model M`)"
                     if others else "another board (`tinykit boards --model M` lists them)")
        raise DeployError(f"the model does not fit the {self.title}: "
                          + "; ".join(fit.problems()) + ". Try " + ", or ".join(tries) + ".")


@dataclass(frozen=True)
class Fit:
    """A model against a board: the board's flash and RAM, what its core, TFLM and app
    take (``reserved_*``), the model's flash and the tensor arena a sketch gives it
    (``tflm.arena_size``: measured, plus CMSIS-NN scratch and a margin), what is left
    (``flash_left``/``ram_left``, negative when over) and the model's ops the board's
    TFLM cannot run."""
    board: str
    title: str
    flash_bytes: int
    ram_bytes: int
    reserved_flash_bytes: int
    reserved_ram_bytes: int
    model_flash_bytes: int
    arena_bytes: int
    missing_ops: tuple = ()
    tflm: str = ""

    @property
    def flash_left(self) -> int:
        return self.flash_bytes - self.reserved_flash_bytes - self.model_flash_bytes

    @property
    def ram_left(self) -> int:
        return self.ram_bytes - self.reserved_ram_bytes - self.arena_bytes

    @property
    def fits(self) -> bool:
        return (self.flash_left >= 0 or not self.flash_bytes) and \
            (self.ram_left >= 0 or not self.ram_bytes) and not self.missing_ops

    def problems(self) -> list:
        """What does not fit, with the figures (empty when it fits)."""
        out = []
        for what, need, total, taken, left in (
                ("flash", self.model_flash_bytes, self.flash_bytes, self.reserved_flash_bytes,
                 self.flash_left),
                ("RAM", self.arena_bytes, self.ram_bytes, self.reserved_ram_bytes,
                 self.ram_left)):
            if total and left < 0:
                model = "the model" if what == "flash" else "its tensor arena"
                out.append(f"{model} needs {need:,} bytes of {what}, {total - taken:,} are "
                           f"free ({total:,} less {taken:,} for the core, TFLM and the app): "
                           f"{-left:,} bytes too many")
        if self.missing_ops:
            out.append(f"its ops {', '.join(self.missing_ops)} are not in the board's TFLM "
                       f"({self.tflm})")
        return out


def fit_report(model=None, names=None, *, flash_bytes=None, arena_bytes=None, ops=None):
    """:class:`Fit` of ``model`` (or of its sizes and ops) on each board (default: all).

    Example:
        >>> [f.board for f in fit_report(tfl) if f.fits]  # doctest: +SKIP
        ['mps2-an386', 'nano33ble', ...]
    """
    if model is not None:
        from ..convert import as_model
        from .tflm import arena_size
        model = as_model(model)
        flash_bytes, arena_bytes, ops = model.flash_bytes, arena_size(model), model.ops
    return [board(b).fit(flash_bytes=flash_bytes, arena_bytes=arena_bytes, ops=ops)
            for b in (names if names is not None else boards())]


def fit_table(fits) -> str:
    """The rows of :func:`fit_report` as a text table (what `tinykit boards --model` prints)."""
    rows = [("board", "fits", "flash left", "RAM left", "core+TFLM+app flash/RAM", "missing ops")]
    for f in fits:
        rows.append((f.board, "yes" if f.fits else "NO", f"{f.flash_left:,}", f"{f.ram_left:,}",
                     f"{f.reserved_flash_bytes:,}/{f.reserved_ram_bytes:,}",
                     ", ".join(f.missing_ops) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i in (0, 1, 5) else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in rows)


def _real_boards():
    """The boards one can buy (not the emulated ones), by name."""
    return [name for name in boards() if board(name).flasher != "qemu"]


@lru_cache(maxsize=None)
def _tflm_ops(root, name):
    path = Path(root) / "common" / "tflm.toml"
    try:
        known = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise DeployError(f"cannot read the TFLM builds' op lists ({path}): {e}.") from None
    if name not in known:
        raise DeployError(f"a board names the TFLM build {name!r}, which {path} does not "
                          f"list (it has {sorted(known)}).")
    return frozenset(known[name]["ops"])


_KNOWN = {f.name for f in Board.__dataclass_fields__.values()} - {"folder", "extra"}


def board(name) -> Board:
    """The :class:`Board` called ``name`` (see :func:`boards`).

    Example:
        >>> board("nano33ble").title  # doctest: +SKIP
        'Arduino Nano 33 BLE Sense'
    """
    if isinstance(name, Board):
        return name
    path = boards_root() / str(name) / "board.toml"
    data = _description(path, name)
    kwargs = {k: data.pop(k) for k in list(data) if k in _KNOWN}
    kwargs.setdefault("title", name)
    kwargs["sensors"] = tuple(kwargs.get("sensors", ()))
    kwargs["cpu_flags"] = tuple(kwargs.get("cpu_flags", ()))
    footprint = kwargs.get("footprint")
    if footprint:
        if "reserved_flash_bytes" in kwargs or "reserved_ram_bytes" in kwargs:
            raise DeployError(f"{path}: give either [footprint] or reserved_*_bytes, not both.")
        kwargs["reserved_flash_bytes"] = _footprint_sum(footprint, "_flash", path)
        kwargs["reserved_ram_bytes"] = _footprint_sum(footprint, "_ram", path)
    return Board(folder=path.parent, extra=data, **kwargs)


def _footprint_sum(footprint, suffix, path):
    values = {k: v for k, v in footprint.items() if k.endswith(suffix)}
    bad = {k: v for k, v in values.items() if not isinstance(v, int) or v < 0}
    if bad:
        raise DeployError(f"{path}: [footprint] {bad} should be whole numbers of bytes.")
    return sum(values.values())


def _description(path, name, seen=()):
    """board.toml as a dict; ``extends = "other"`` starts from that board's description
    (its tables merged key by key, its firmware folders kept where they are)."""
    if not path.is_file():
        raise DeployError(f"unknown board {name!r}; known boards: {boards()}.")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise DeployError(f"{path}: not valid TOML ({e}).") from None
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if base_name in seen or base_name == name:
        raise DeployError(f"{path}: boards extend each other in a circle ({base_name!r}).")
    base_path = path.parent.parent / base_name / "board.toml"
    base = _description(base_path, base_name, (*seen, name))
    for table in ("firmware", "apps", "app_parts"):   # files stay where they are
        base[table] = {k: os.path.normpath(base_path.parent / v)
                       for k, v in base.get(table, {}).items()}
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def boards() -> list:
    """Names of the boards described under ``boards/``."""
    root = boards_root()
    return sorted(p.parent.name for p in root.glob("*/board.toml"))
