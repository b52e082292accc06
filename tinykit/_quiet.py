"""Keep TensorFlow quiet, so that the first line a student reads is not a false alarm.

TensorFlow prints from three places, and each needs its own switch:

* its C++ libraries write to the process's file descriptors 1 and 2, below Python:
  while ``import tensorflow`` loads them (oneDNN and CUDA notices, "All log messages
  before absl::InitializeLog()"), and later through its logger (``E0000 ... cuInit``);
* the TFLite converter prints ``fully_quantize: 0, inference_type: 6, ...`` from C++;
* its Python loggers (``tensorflow``, ``absl``) warn about tf.function retracing and
  deprecated arguments.

:func:`setup` (run by ``import tinykit``) sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless it is
already set, and arranges for the first ``import tensorflow`` to run inside
:func:`captured`, then lowers the Python loggers to errors. :func:`captured` also wraps
the converter. Nothing is lost when something fails: if the wrapped code raises, all
it printed is shown; when it succeeds, lines that are not TensorFlow's known notices
are shown too.

``TINYKIT_VERBOSE=1`` turns all of this off: TensorFlow then prints as usual.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

ENV = "TINYKIT_VERBOSE"

# Lines TensorFlow prints when nothing is wrong (absl's C++ log prefix: a severity
# letter, MMDD, a time, a thread id and file:line; and the converter's settings line).
NOISE = re.compile(r"^(?:[IWE]\d{4} \S+\s+\d+ \S+:\d+\] "
                   r"|WARNING: All log messages before absl::InitializeLog\(\)"
                   r"|fully_quantize: \d)")


def verbose() -> bool:
    """True when ``TINYKIT_VERBOSE`` is set (to anything but ``0``/``false``/``no``)."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


class captured:
    """Run a block with file descriptors 1 and 2 sent to temporary files.

    On an exception everything the block printed goes to ``sys.stderr`` (so the reason
    of a failure stays visible); otherwise only the lines that :data:`NOISE` does not
    match are passed on, each to the stream it was written to. Does nothing when
    :func:`verbose` is true or the descriptors cannot be duplicated.

    Example:
        >>> with captured():  # doctest: +SKIP
        ...     tfl = converter.convert()
    """

    def __enter__(self):
        self._saved = []
        if verbose():
            return self
        _flush()
        try:
            self._files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
            for fd, f in zip((1, 2), self._files):
                self._saved.append(os.dup(fd))
                os.dup2(f.fileno(), fd)
        except OSError:      # no usable descriptors (an embedded interpreter): print as is
            self._restore()
            return self
        return self

    def __exit__(self, kind, exc, tb):
        if not self._saved:
            return False
        _flush()
        self._restore()
        streams = (sys.stdout, sys.stderr)
        for stream, f in zip(streams, self._files):
            f.seek(0)
            text = f.read().decode("utf-8", "replace")
            f.close()
            if kind is None:
                text = "".join(line for line in text.splitlines(keepends=True)
                               if not NOISE.match(line))
            stream = sys.stderr if kind is not None else stream
            if text and stream is not None:
                stream.write(text)
        return False

    def _restore(self):
        for fd, saved in zip((1, 2), self._saved):
            os.dup2(saved, fd)
            os.close(saved)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def quiet_python_loggers():
    """Show only errors from TensorFlow's and absl's Python loggers (unless verbose)."""
    if verbose():
        return
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "absl.logging" in sys.modules:
        sys.modules["absl.logging"].set_verbosity("error")


@contextlib.contextmanager
def tensorflow_errors_only():
    """Inside the block TensorFlow's Python logger shows only errors, whatever its level
    outside (used around training, which may warn about tf.function retracing)."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    if not verbose():
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first ``import tensorflow`` inside :class:`captured`, wherever it is."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once; the other finders find the real spec
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_quietly(module):
            with captured():
                exec_module(module)
            quiet_python_loggers()

        spec.loader.exec_module = exec_quietly
        return spec


def setup():
    """Quiet TensorFlow for this process, unless ``TINYKIT_VERBOSE`` is set.

    Safe to call more than once; called by ``import tinykit``.
    """
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:       # imported before tinykit: too late to capture
        quiet_python_loggers()
    elif not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
