"""The binary framed protocol for high-rate data (16 kHz 16-bit audio).

On the wire every frame is ``COBS(header + payload + crc) 0x00``:

=======  ======  ===============================================================
offset   size    field (little-endian)
=======  ======  ===============================================================
0        1       type: 0x01 audio (int16 mono PCM), 0x10 info (UTF-8 JSON)
1        1       version (1)
2        2       payload length in bytes
4        4       sequence number, +1 per frame of any type, wraps at 2**32
8        n       payload
8+n      4       CRC-32 (zlib/IEEE 802.3) of bytes 0 .. 8+n-1
=======  ======  ===============================================================

The receiver (:class:`FrameDecoder`) splits at 0x00, so it resynchronises after any
garbage; it counts frames lost (sequence gaps), corrupt (COBS or CRC failure, wrong
length) and out of order, and hands on only frames whose CRC matches.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import cobs
from .split import Splitter

TYPE_AUDIO = 0x01
TYPE_INFO = 0x10
VERSION = 1
HEADER = struct.Struct("<BBHI")
CRC = struct.Struct("<I")
MAX_PAYLOAD = 1024
# Longest legal encoded frame: header + payload + crc, plus COBS overhead.
MAX_ENCODED = HEADER.size + MAX_PAYLOAD + CRC.size + (HEADER.size + MAX_PAYLOAD + CRC.size) // 254 + 2
# A backward sequence jump larger than this is a board restart, not a late frame.
RESTART_JUMP = 1024


@dataclass
class Frame:
    """One frame that passed the CRC check."""
    type: int
    seq: int
    payload: bytes

    def samples(self) -> np.ndarray:
        """The payload of an audio frame as int16 samples."""
        return np.frombuffer(self.payload, dtype="<i2")

    def info(self) -> dict:
        """The payload of an info frame as a dict."""
        return json.loads(self.payload.decode("utf-8"))


def pack_frame(type_: int, seq: int, payload: bytes) -> bytes:
    """Header + payload + CRC-32, before COBS (what the CRC protects)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"frame payload is {len(payload)} bytes; at most {MAX_PAYLOAD} allowed")
    body = HEADER.pack(type_, VERSION, len(payload), seq & 0xFFFFFFFF) + bytes(payload)
    return body + CRC.pack(zlib.crc32(body))


def encode_frame(type_: int, seq: int, payload: bytes) -> bytes:
    """One frame as sent on the wire: COBS-encoded, ending with the 0x00 delimiter.

    Example:
        >>> wire = encode_frame(TYPE_AUDIO, 7, b"\\x01\\x00\\x02\\x00")
        >>> wire[-1], 0 in wire[:-1]
        (0, False)
        >>> FrameDecoder().feed(wire)[0].samples().tolist()
        [1, 2]
    """
    return cobs.encode(pack_frame(type_, seq, payload)) + b"\x00"


def audio_frames(samples, frame_samples=256, first_seq=0) -> bytes:
    """Wire bytes of int16 ``samples`` cut into audio frames of ``frame_samples``."""
    pcm = np.asarray(samples, dtype="<i2")
    out = bytearray()
    for k, start in enumerate(range(0, len(pcm), frame_samples)):
        out += encode_frame(TYPE_AUDIO, first_seq + k, pcm[start:start + frame_samples].tobytes())
    return bytes(out)


def info_frame(seq: int, **info) -> bytes:
    """Wire bytes of an info frame (board, rate, format...)."""
    return encode_frame(TYPE_INFO, seq, json.dumps(info, separators=(",", ":")).encode())


@dataclass
class FrameStats:
    """Counters of a :class:`FrameDecoder`.

    ``dropped`` counts missing sequence numbers (frames lost or rejected as corrupt);
    ``corrupt`` counts chunks between delimiters that failed COBS, length or CRC;
    ``skipped_bytes`` are bytes before the first good frame (joining mid-stream).
    """
    frames: int = 0
    dropped: int = 0
    corrupt: int = 0
    out_of_order: int = 0
    restarts: int = 0
    bytes: int = 0
    skipped_bytes: int = 0
    corrupt_bytes: int = 0
    by_type: dict = field(default_factory=dict)


class FrameDecoder:
    """Incremental receiver: ``feed(bytes)`` returns the good frames, in order.

    Example:
        >>> wire = audio_frames(range(1024), frame_samples=256)
        >>> dec = FrameDecoder()
        >>> bad = bytearray(wire); bad[600] ^= 0x10       # a flipped bit in frame 1
        >>> [f.seq for f in dec.feed(b"junk\\x00" + bytes(bad))]
        [0, 2, 3]
        >>> dec.stats.corrupt, dec.stats.dropped
        (1, 1)
    """

    def __init__(self):
        self.stats = FrameStats()
        self._splitter = Splitter(b"\x00", MAX_ENCODED)
        self._synced = False
        self._expect = None

    def feed(self, data: bytes) -> list:
        self.stats.bytes += len(data)
        out = []
        for chunk in self._splitter.split(data):
            if isinstance(chunk, int):          # no delimiter for too long: garbage
                self._bad(chunk)
            elif chunk:
                frame = self._decode(chunk)
                if frame is None:
                    self._bad(len(chunk))
                elif self._accept(frame):
                    out.append(frame)
        return out

    def _bad(self, n):
        if self._synced:
            self.stats.corrupt += 1
            self.stats.corrupt_bytes += n
        else:
            self.stats.skipped_bytes += n

    @staticmethod
    def _decode(chunk):
        try:
            body = cobs.decode(chunk)
        except cobs.CobsError:
            return None
        if len(body) < HEADER.size + CRC.size:
            return None
        type_, version, length, seq = HEADER.unpack_from(body)
        if version != VERSION or len(body) != HEADER.size + length + CRC.size:
            return None
        if CRC.unpack_from(body, len(body) - CRC.size)[0] != zlib.crc32(body[:-CRC.size]):
            return None
        return Frame(type_, seq, body[HEADER.size:HEADER.size + length])

    def _accept(self, frame):
        st = self.stats
        self._synced = True
        if self._expect is not None:
            gap = (frame.seq - self._expect) & 0xFFFFFFFF
            if gap >= 0x80000000:                      # behind what we expected
                if 0x100000000 - gap <= RESTART_JUMP:
                    st.out_of_order += 1
                    return False
                st.restarts += 1
            else:
                st.dropped += gap
        self._expect = (frame.seq + 1) & 0xFFFFFFFF
        st.frames += 1
        st.by_type[frame.type] = st.by_type.get(frame.type, 0) + 1
        return True
