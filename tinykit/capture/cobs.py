"""Consistent Overhead Byte Stuffing (COBS): frames with no 0x00 inside.

COBS rewrites a packet so it contains no zero byte; a single 0x00 then marks the end
of each frame on the wire, and a receiver that joins mid-stream (or after garbage)
resynchronises at the next 0x00. The overhead is one byte per 254 bytes of data.
"""
from __future__ import annotations


class CobsError(ValueError):
    """A COBS packet is malformed (a zero byte inside, or a code past the end)."""


def encode(data: bytes) -> bytes:
    """COBS-encode ``data``; the result contains no 0x00 (the delimiter is not added).

    Example:
        >>> encode(b"\\x11\\x00\\x22")
        b'\\x02\\x11\\x02"'
        >>> decode(encode(bytes(300))) == bytes(300)
        True
    """
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        # A block is up to 254 non-zero bytes, ended by a zero or by the end of data.
        end = start
        while end < n and end - start < 254 and data[end] != 0:
            end += 1
        out.append(end - start + 1)
        out += data[start:end]
        if end >= n:
            break
        if end - start < 254:        # the block ended at a zero (not full)
            start = end + 1          # the zero is implied by the code byte
            if start == n:           # data ends with a zero: one more empty block
                out.append(1)
                break
        else:
            start = end              # a full 254-byte block: no zero implied
    return bytes(out)


def decode(packet: bytes) -> bytes:
    """Decode one COBS packet (without its 0x00 delimiter).

    Raises:
        CobsError: the packet contains 0x00 or a code byte points past its end.

    Example:
        >>> decode(b'\\x02\\x11\\x02"')
        b'\\x11\\x00"'
    """
    out = bytearray()
    i = 0
    n = len(packet)
    while i < n:
        code = packet[i]
        if code == 0:
            raise CobsError(f"zero byte at offset {i} inside a COBS packet")
        end = i + code
        if end > n:
            raise CobsError(f"code {code} at offset {i} runs past the packet end ({n} bytes)")
        block = packet[i + 1:end]
        if 0 in block:
            raise CobsError(f"zero byte inside a COBS block at offset {i}")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)
