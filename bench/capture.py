#!/usr/bin/env python
"""Capture benchmark: 16 kHz 16-bit audio frames through a pty pair and from QEMU.

    python bench/capture.py [--seconds 5] [--json FILE]

Scenarios (each streams for ``--seconds``):

- ``pty-realtime``: a writer plays a board streaming 16 kHz audio (paced at the
  audio rate) into one end of a socat pty pair at 921600 baud, the receiver reads
  the other end;
- ``pty-line-rate``: the same, as fast as a 921600-baud line carries (92 160 B/s);
- ``qemu``: the capture firmware on QEMU mps2-an386 streams the compiled-in clip
  in a loop as fast as the emulated UART goes (read over QEMU's TCP serial);
- each again ``+corrupt``: a bit flipped in 2% of frames after the CRC (the pty writer
  also inserts garbage bursts in 1% of gaps; the firmware flips every 50th frame).

Prints a table and writes JSON with, per scenario, ``frames_sent``,
``frames_received``, ``frames_dropped`` (sequence gaps), ``corrupt_injected``,
``corrupt_detected``, ``bytes_per_second`` (received).
"""
import argparse
import json
import random
import sys
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tinykit.capture import PtyPair, emulator, frames, open_port, sim  # noqa: E402
from tinykit.capture.cobs import encode as cobs_encode  # noqa: E402

BAUD = 921600
RATE = 16000
FRAME = 256
KEYS = ("frames_sent", "frames_received", "frames_dropped", "corrupt_injected",
        "corrupt_detected", "bytes_per_second")


def board_writer(port, seconds, paced, corrupt, result):
    """Play a board: info frame, then audio frames of a looping clip, for ``seconds``."""
    pcm = sim.synthetic_audio(1.0)
    rng = random.Random(1)
    line_rate = BAUD / 10                      # bytes/s of an 8N1 line
    t0 = time.monotonic()
    sent = injected = nbytes = 0
    seq = 0
    port.write(b"\x00" + frames.info_frame(seq, board="pty-writer", rate=RATE, format="s16le",
                                           channels=1, frame_samples=FRAME))
    while time.monotonic() - t0 < seconds:
        seq += 1
        k = (seq - 1) % (RATE // FRAME)
        body = bytearray(frames.pack_frame(frames.TYPE_AUDIO, seq, pcm[k * FRAME:(k + 1) * FRAME].tobytes()))
        if corrupt and rng.random() < 0.02:
            bit = rng.randrange(len(body) * 8)
            body[bit // 8] ^= 1 << (bit % 8)
            injected += 1
        wire = cobs_encode(bytes(body)) + b"\x00"
        if corrupt and rng.random() < 0.01:
            wire = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(4, 40))) + b"\x00" + wire
            injected += 1
        port.write(wire)
        sent += 1
        nbytes += len(wire)
        # Pace: at the audio rate (a real board) or at the line rate of 921600 baud.
        due = t0 + (seq * FRAME / RATE if paced else nbytes / line_rate)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    port.flush()
    result.update(frames_sent=sent + 1, corrupt_injected=injected)


def receive(port, until, drain=0.5):
    """Decode frames until ``until()`` is true and nothing arrived for ``drain`` s
    (with ``drain=0``: as soon as ``until()`` is true)."""
    dec = frames.FrameDecoder()
    t0 = time.monotonic()
    last = t0
    done_at = None
    while True:
        data = port.read(max(port.in_waiting, 4096))
        now = time.monotonic()
        if data:
            dec.feed(data)
            last = now
        if done_at is None and until():
            done_at = now
        if done_at is not None and (now - last > drain or now - done_at > drain + 2.0
                                    or drain == 0):
            break
    return dec, min(last, now) - t0


def run_pty(seconds, paced, corrupt):
    with PtyPair() as pair:
        board = open_port(pair.a, baudrate=BAUD, timeout=0.05)
        host = open_port(pair.b, baudrate=BAUD, timeout=0.05)
        result = {}
        w = threading.Thread(target=board_writer, args=(board, seconds, paced, corrupt, result))
        w.start()
        dec, took = receive(host, lambda: not w.is_alive())
        w.join()
        board.close()
        host.close()
    st = dec.stats
    return {**result, "frames_received": st.frames, "frames_dropped": st.dropped,
            "corrupt_detected": st.corrupt, "bytes_per_second": st.bytes / took,
            "out_of_order": st.out_of_order, "seconds": took}


def run_qemu(seconds, corrupt):
    every = 50 if corrupt else 0
    with emulator.start("audio", loops=0, corrupt_every=every) as emu:
        with emu.open(timeout=0.05) as port:
            t_end = time.monotonic() + seconds
            dec, took = receive(port, lambda: time.monotonic() > t_end, drain=0.0)
    st = dec.stats
    last_seq = st.frames + st.dropped - 1          # the highest sequence number seen
    sent = last_seq + 1
    injected = sum(1 for s in range(sent) if every and s % every == every - 1)
    return {"frames_sent": sent, "frames_received": st.frames, "frames_dropped": st.dropped,
            "corrupt_injected": injected, "corrupt_detected": st.corrupt,
            "bytes_per_second": st.bytes / took, "out_of_order": st.out_of_order, "seconds": took}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="streaming time per scenario")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--no-qemu", action="store_true", help="skip the emulated board")
    args = p.parse_args()
    runs = {}
    for corrupt in (False, True):
        tag = "+corrupt" if corrupt else ""
        runs[f"pty-realtime{tag}"] = run_pty(args.seconds, True, corrupt)
        runs[f"pty-line-rate{tag}"] = run_pty(args.seconds, False, corrupt)
        if not args.no_qemu:
            runs[f"qemu{tag}"] = run_qemu(args.seconds, corrupt)
    print(f"\ncapture benchmark: 16 kHz int16 audio, {FRAME}-sample frames, {args.seconds:g} s each")
    print(f"{'scenario':<22}" + "".join(f"{k:>18}" for k in KEYS))
    for name, r in runs.items():
        print(f"{name:<22}" + "".join(f"{r[k]:>18,.0f}" for k in KEYS))
    ok = all(r["frames_received"] + r["frames_dropped"] <= r["frames_sent"] for r in runs.values())
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": args.seconds, "baud": BAUD, "rate": RATE,
                                               "frame_samples": FRAME, "scenarios": runs,
                                               "consistent": ok}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
