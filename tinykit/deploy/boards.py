"""The board registry: one folder per board under boards/ (carried in the package).

Each ``boards/<name>/board.toml`` says what the board is (CPU, memory, sensors), how it
is flashed, which project templates and firmware it has and, for an emulated board,
how the emulator boots it, so adding a board is adding a folder.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .._resources import boards_dir
from ..errors import DeployError


def boards_root() -> Path:
    """The folder of board descriptions (``TINYKIT_BOARDS`` overrides it)."""
    return boards_dir()


@dataclass(frozen=True)
class Board:
    """A board description read from ``boards/<name>/board.toml``."""
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
    apps: dict = field(default_factory=dict)
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

    def check_fit(self, flash_bytes, arena_bytes):
        """Raise DeployError if a model of this size cannot fit beside the firmware."""
        free_flash = self.flash_bytes - self.reserved_flash_bytes
        free_ram = self.ram_bytes - self.reserved_ram_bytes
        if self.flash_bytes and flash_bytes > free_flash:
            raise DeployError(f"the model needs {flash_bytes:,} bytes of flash; the "
                              f"{self.title} has {free_flash:,} left for it. Use a smaller "
                              f"model (fewer filters) or a bigger board.")
        if self.ram_bytes and arena_bytes > free_ram:
            raise DeployError(f"the model needs a {arena_bytes:,}-byte tensor arena; the "
                              f"{self.title} has {free_ram:,} bytes of RAM left for it.")


_KNOWN = {f.name for f in Board.__dataclass_fields__.values()} - {"folder", "extra", "apps"}


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
    return Board(folder=path.parent, apps=data.pop("apps", {}), extra=data, **kwargs)


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
    base["firmware"] = {k: os.path.normpath(base_path.parent / v)
                        for k, v in base.get("firmware", {}).items()}
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
