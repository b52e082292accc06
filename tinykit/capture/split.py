"""Cutting a byte stream into pieces at a delimiter, the first step of every decoder."""
from __future__ import annotations


class Splitter:
    """Cuts a byte stream at ``delimiter``, keeping the unfinished piece between calls.

    ``split(data)`` returns the pieces completed by ``data``, without the delimiter. A
    piece that grows past ``max_len`` bytes is garbage (a lost delimiter): it is not
    kept, and comes out as an ``int``, the number of bytes thrown away, once its
    delimiter arrives.

    Example:
        >>> s = Splitter(b"\\n", max_len=4)
        >>> s.split(b"ab\\ncd"), s.split(b"\\nlong line\\nx")
        ([b'ab'], [b'cd', 9])
    """

    def __init__(self, delimiter: bytes, max_len: int):
        self.delimiter = delimiter
        self.max_len = max_len
        self._buf = bytearray()
        self._lost = 0          # bytes thrown away since the piece grew too long

    def split(self, data: bytes) -> list:
        out, start = [], 0
        while True:
            end = data.find(self.delimiter, start)
            self._append(data[start:] if end < 0 else data[start:end])
            if end < 0:
                return out
            out.append(self._lost or bytes(self._buf))
            self._buf.clear()
            self._lost = 0
            start = end + len(self.delimiter)

    def _append(self, piece):
        if self._lost:
            self._lost += len(piece)
            return
        self._buf += piece
        if len(self._buf) > self.max_len:
            self._lost = len(self._buf)
            self._buf.clear()
