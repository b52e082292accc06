"""tinykit's one exception family.

Every error tinykit raises on purpose is a :class:`TinykitError`. Each class also
inherits from the built-in exception it resembles, so ``except ValueError`` keeps
working for code that does not know tinykit.

Messages say what was found, what was expected and what to do, e.g.::

    DatasetError: punch.csv, line 17: expected 6 columns (aX,aY,aZ,gX,gY,gZ), found 4.
"""


class TinykitError(Exception):
    """Base class of every error tinykit raises on purpose."""


class ParameterError(TinykitError, ValueError):
    """An argument has a value a function cannot use (out of range, wrong kind)."""


class DatasetError(TinykitError, ValueError):
    """A data set or a file in it cannot be read as what it claims to be."""


class DownloadError(TinykitError, ConnectionError):
    """A public data set could not be fetched (offline, bad checksum, HTTP error)."""


class ModelError(TinykitError, ValueError):
    """A model does not fit what a step expects (shape, layer types, Keras flavour)."""


class ConversionError(TinykitError, RuntimeError):
    """Conversion to int8 TFLite, or running it on an interpreter, failed."""


class DeployError(TinykitError, RuntimeError):
    """A board project could not be generated, built or flashed."""


class DeviceError(DeployError):
    """A board (real or emulated) did not run the firmware to the end: it faulted,
    stopped answering or printed something else than expected. ``lines`` holds the
    last lines it printed."""

    def __init__(self, message, lines=()):
        self.lines = list(lines)
        super().__init__(message)


class SetupNeededError(DeployError):
    """A tool is there but lacks what a board needs (arduino-cli without the board's core
    or libraries, or with other versions). ``commands`` holds the commands that install
    them (each a list of arguments), for a caller that asks the user's consent first."""

    def __init__(self, message, commands=()):
        self.commands = [list(c) for c in commands]
        super().__init__(message)


class ToolNotFoundError(DeployError, FileNotFoundError):
    """An external program (compiler, flasher, emulator) is not installed."""

    def __init__(self, tool, hint):
        self.tool = tool
        self.hint = hint
        super().__init__(f"`{tool}` was not found on PATH. {hint}")


class CaptureError(TinykitError, OSError):
    """Reading from a board or port failed, or its data could not be decoded."""
