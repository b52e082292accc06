"""Capture without hardware: protocols, loop://, sim://, the recorder's guarantees."""
import random
import threading
import wave
from pathlib import Path

import numpy as np
import pytest
import serial

from tinykit import capture
from tinykit.capture import cobs, frames, sim
from tinykit.capture.imu_lines import HEADER_LINE, ImuLineParser, gesture_text
from tinykit.datasets import load_imu, read_imu_csv
from tinykit.errors import CaptureError

REVELIO = Path(__file__).resolve().parents[1] / "datasets/magic_wand/train/Revelio.csv"
FAST_IMU = f"sim://imu?data={REVELIO}&speed=max&loops=1"


def expected_csv(gestures):
    """The file record() must write for these gestures: header, rows, empty line each."""
    text = HEADER_LINE + "\n" + "".join(gesture_text(g, newline="\n") for g in gestures)
    return text


# -- COBS and frames -------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 253, 254, 255, 508, 1000])
def test_cobs_round_trip_has_no_zero(n):
    rng = random.Random(n)
    for _ in range(20):
        data = bytes(rng.choice([0, 0, 1, 255, rng.randrange(256)]) for _ in range(n))
        enc = cobs.encode(data)
        assert 0 not in enc
        assert cobs.decode(enc) == data


def test_cobs_rejects_zero_and_overrun():
    with pytest.raises(cobs.CobsError):
        cobs.decode(b"\x03\x01\x00")
    with pytest.raises(cobs.CobsError):
        cobs.decode(b"\x05\x01\x02")


def test_frames_clean_stream_in_any_chunking():
    pcm = sim.synthetic_audio(0.25)
    wire = frames.audio_frames(pcm, 256)
    dec = frames.FrameDecoder()
    got, pos, rng = [], 0, random.Random(1)
    while pos < len(wire):
        step = rng.randrange(1, 700)
        got += dec.feed(wire[pos:pos + step])
        pos += step
    assert np.array_equal(np.concatenate([f.samples() for f in got]), pcm)
    assert (dec.stats.dropped, dec.stats.corrupt, dec.stats.out_of_order) == (0, 0, 0)


def test_every_flipped_bit_is_detected_and_never_delivered():
    pcm = np.arange(-2000, 2000, dtype=np.int16)
    good = {k: bytes(f) for k, f in enumerate(
        frames.audio_frames(pcm, 100).split(b"\x00")[:-1])}
    rng = random.Random(7)
    wire = bytearray()
    damaged = set()
    for k, enc in good.items():
        enc = bytearray(enc)
        if k % 3 == 1:                          # flip one bit inside the frame
            enc[rng.randrange(len(enc))] ^= 1 << rng.randrange(8)
            damaged.add(k)
        wire += enc + b"\x00"
        if k % 7 == 3:                          # garbage between frames
            wire += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 50))) + b"\x00"
    dec = frames.FrameDecoder()
    got = dec.feed(bytes(wire))
    assert [f.seq for f in got] == [k for k in good if k not in damaged]
    for f in got:                               # what is delivered is exactly what was sent
        assert f.payload == pcm[f.seq * 100:(f.seq + 1) * 100].tobytes()
    assert dec.stats.dropped == len(damaged)
    assert dec.stats.corrupt >= len(damaged) + len([k for k in good if k % 7 == 3])


def test_out_of_order_and_duplicates_are_counted_not_delivered():
    wire = b"".join(frames.encode_frame(frames.TYPE_AUDIO, s, b"\x01\x00") for s in [0, 1, 3, 2, 3, 4])
    dec = frames.FrameDecoder()
    assert [f.seq for f in dec.feed(wire)] == [0, 1, 3, 4]
    assert (dec.stats.dropped, dec.stats.out_of_order) == (1, 2)


def test_garbage_without_delimiter_resyncs():
    wire = frames.audio_frames(np.zeros(1024, np.int16), 256)
    dec = frames.FrameDecoder()
    first, rest = wire[:wire.index(0) + 1], wire[wire.index(0) + 1:]
    got = dec.feed(first + bytes(range(1, 256)) * 20 + b"\x00" + rest)
    assert [f.seq for f in got] == [0, 1, 2, 3]
    assert (dec.stats.corrupt, dec.stats.corrupt_bytes) == (1, 255 * 20)


def test_imu_line_parser_counts_bad_lines():
    p = ImuLineParser()
    lines = p.feed(b"aX,aY,aZ,gX,gY,gZ\r\n1,2,3,4,5,6\r\n1,2\xff,3,4,5,6\r\n1,2,3\r\n\r\n")
    assert [l.kind for l in lines] == ["header", "row", "bad", "bad", "blank"]
    assert (p.stats.rows, p.stats.corrupt) == (1, 2)


def test_first_line_mid_stream_is_not_trusted():
    p = ImuLineParser()
    lines = p.feed(b"075,0.330,1.093,8.789,-25.269,5.800\r\n1,2,3,4,5,6\r\n")
    assert [l.kind for l in lines] == ["bad", "row"]
    assert p.stats.corrupt == 0 and p.stats.skipped_bytes > 0


# -- ports -------------------------------------------------------------------------
def test_list_ports_has_sim_entries():
    urls = [p.url for p in capture.list_ports()]
    assert "sim://imu" in urls and "sim://audio" in urls


def test_open_port_says_what_is_wrong():
    with pytest.raises(CaptureError, match="cannot open port"):
        capture.open_port("/dev/ttyNOPE42")
    with pytest.raises(CaptureError, match="cannot open port"):
        capture.open_port("sim://imu?bogus=1")


def test_sim_is_registered_with_pyserial():
    with serial.serial_for_url(FAST_IMU, timeout=1) as port:
        assert port.readline() == b"aX,aY,aZ,gX,gY,gZ\r\n"


def test_sim_prints_exactly_like_imu_capture():
    gestures = read_imu_csv(REVELIO).gestures[:2]
    want = (HEADER_LINE + "\r\n" + "".join(gesture_text(g) for g in gestures)).encode()
    with capture.open_port(FAST_IMU, timeout=1) as port:
        got = port.read(len(want))
    assert got == want


def test_sim_is_paced_at_the_real_rate():
    """At speed=1 the sim releases each frame no earlier than its time in the recording,
    so 0.25 s of audio cannot arrive in less than 0.25 s (there is no upper bound: a busy
    machine may be slower). What arrives is the whole tone, in order."""
    import time
    pcm = sim.synthetic_audio(0.25)                      # 4000 samples at 16 kHz
    t = time.monotonic()                                 # before the port opens
    with capture.open_port("sim://audio?rate=16000&loops=1&seconds=0.25", timeout=2) as port:
        dec = frames.FrameDecoder()
        got = []
        while sum(map(len, got)) < len(pcm):
            data = port.read(port.in_waiting or 1)      # returns within the 2 s timeout
            if not data:
                break                                    # the stream ended
            got += [f.samples() for f in dec.feed(data) if f.type == frames.TYPE_AUDIO]
        took = time.monotonic() - t
    assert np.array_equal(np.concatenate(got), pcm)
    assert (dec.stats.dropped, dec.stats.corrupt, dec.stats.out_of_order) == (0, 0, 0)
    assert took >= 0.25 - 1e-6


# -- recording -------------------------------------------------------------------
def test_record_over_loop(tmp_path):
    gestures = read_imu_csv(REVELIO).gestures[:3]
    text = (HEADER_LINE + "\r\n" + "".join(gesture_text(g) for g in gestures)).encode()
    port = capture.open_port("loop://", timeout=0.05)
    writer = threading.Thread(target=port.write, args=(text,), daemon=True)
    writer.start()
    s = capture.record(port, label="Revelio", out=tmp_path, gestures=3)
    writer.join(5)
    port.close()
    assert (s.saved, s.corrupt, s.discarded) == (3, 0, 0)
    assert (tmp_path / "Revelio.csv").read_text() == expected_csv(gestures)


def test_record_sim_imu_byte_exact_and_loadable(tmp_path):
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=4)
    assert s.saved == 4 and s.kind == "imu" and s.stopped == "done"
    gestures = read_imu_csv(REVELIO).gestures[:4]
    assert (tmp_path / "Revelio.csv").read_text() == expected_csv(gestures)
    capture.record(FAST_IMU, label="Alohomora", out=tmp_path, gestures=2)
    ds = load_imu(tmp_path)
    assert ds.labels == ["Alohomora", "Revelio"]
    assert len(ds.y_train) + len(ds.y_test) == 6
    meta = (tmp_path / "Revelio.capture.json").read_text()
    assert '"board": "sim"' in meta and "sim://imu" in meta and '"rate": 119' in meta


def test_record_motion_trigger_on_a_continuous_stream(tmp_path):
    url = f"sim://imu?data={REVELIO}&speed=max&loops=1&mode=stream&gap=0.5"
    s = capture.record(url, label="Revelio", out=tmp_path, gestures=3, trigger="motion")
    got = read_imu_csv(tmp_path / "Revelio.csv").gestures
    assert s.saved == 3 and got.shape == (3, 119, 6)
    for g in got:     # each starts with the row that crossed the threshold
        assert np.abs(g[0, :3]).sum() >= 2.5


def test_record_audio_clips_wav(tmp_path):
    s = capture.record("sim://audio?speed=max&loops=0", label="yes", out=tmp_path, seconds=2.5)
    assert s.kind == "audio" and s.saved == 3
    files = sorted((tmp_path / "yes").glob("*.wav"))
    assert [f.name for f in files] == ["yes_0.wav", "yes_1.wav", "yes_2.wav"]
    pcm = sim.synthetic_audio(1.0)
    with wave.open(str(files[0])) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), pcm)
    with wave.open(str(files[2])) as w:
        assert w.getnframes() == 8000


def test_corrupt_imu_lines_are_never_written(tmp_path):
    url = f"sim://imu?data={REVELIO}&speed=max&loops=1&corrupt=0.01&garbage=0.01&seed=3"
    s = capture.record(url, label="Revelio", out=tmp_path, gestures=30, idle_timeout=0.5)
    assert s.corrupt > 0 and s.discarded > 0
    src = {g.tobytes() for g in read_imu_csv(REVELIO).gestures}
    got = read_imu_csv(tmp_path / "Revelio.csv").gestures
    assert len(got) == s.saved > 0
    for g in got:     # every gesture written is one the board sent, intact
        rounded = np.asarray([[float(f"{v:.3f}") for v in row] for row in g], np.float32)
        assert rounded.tobytes() in {np.round(np.frombuffer(b, np.float32).reshape(119, 6)
                                              .astype(np.float64), 3).astype(np.float32).tobytes()
                                     for b in src}


def test_corrupt_audio_frames_are_never_written(tmp_path):
    url = "sim://audio?speed=max&loops=0&corrupt=0.05&garbage=0.02&seed=5"
    with capture.open_port(url) as port:
        s = capture.record(port, label="yes", out=tmp_path, clips=5)
        injected = port.injected
    assert s.saved == 5 and s.corrupt > 0 and injected > 0
    # Each clip is a run of whole, intact frames of the (looping) source: after a lost
    # frame the clip in progress is dropped and a new one starts at the next frame.
    looped = np.tile(sim.synthetic_audio(1.0), 3)
    starts = range(0, 16000, 256)
    for f in (tmp_path / "yes").glob("*.wav"):
        with wave.open(str(f)) as w:
            clip = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        assert any(np.array_equal(clip, looped[k:k + 16000]) for k in starts), f.name


def test_keyboard_interrupt_keeps_every_complete_gesture(tmp_path):
    seen = []

    def on_data(rows, summary):
        seen.append(summary.saved)
        if summary.saved >= 2:
            raise KeyboardInterrupt
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=10, on_data=on_data)
    assert s.stopped == "interrupted" and s.saved >= 2
    assert read_imu_csv(tmp_path / "Revelio.csv").gestures.shape[0] == s.saved
    assert '"stopped": "interrupted"' in (tmp_path / "Revelio.capture.json").read_text()


def test_still_gestures_are_refused_on_request_and_kept_aside(tmp_path):
    from tinykit.datasets import still_gestures
    played = read_imu_csv(REVELIO).gestures
    still = still_gestures(played).tolist()
    moving = [i for i in range(len(played)) if i not in still]
    assert still and still[0] < moving[5]          # a knock among the first gestures
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=6, refuse_still=True)
    refused = [i for i in still if i < moving[5]]  # those received before the 6th moving one
    assert (s.saved, s.still) == (6, len(refused))
    assert (tmp_path / "Revelio.csv").read_text() == expected_csv(played[moving[:6]])
    assert s.still_file == tmp_path / ".still" / "Revelio.csv"
    assert np.array_equal(read_imu_csv(s.still_file).gestures, played[refused])
    assert f"refused {s.still} still" in str(s)
    assert '"still": %d' % s.still in (tmp_path / "Revelio.capture.json").read_text()
    ds = load_imu(tmp_path)                      # the refused ones are not a label
    assert ds.labels == ["Revelio"] and len(ds.y_train) + len(ds.y_test) == 6
    # Off by default: the same session keeps every gesture.
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path / "all", gestures=6)
    assert s.saved == 6 and s.still == 0
    with pytest.raises(CaptureError, match="refuse_still=True needs gestures=N"):
        capture.record(FAST_IMU, label="R", out=tmp_path, samples=500, refuse_still=True)
    with pytest.raises(CaptureError, match="trigger 'auto', 'board' or 'motion'"):
        capture.record(FAST_IMU, label="R", out=tmp_path, gestures=2, trigger="window",
                       refuse_still=True)


def test_interrupted_session_refusing_still_keeps_every_gesture_received(tmp_path):
    def on_data(rows, summary):
        if summary.saved + summary.still >= 4:
            raise KeyboardInterrupt
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=20,
                       refuse_still=True, on_data=on_data)
    assert s.stopped == "interrupted" and s.saved + s.still >= 4 and s.still >= 1
    saved = read_imu_csv(tmp_path / "Revelio.csv").gestures
    aside = read_imu_csv(s.still_file).gestures
    played = read_imu_csv(REVELIO).gestures
    assert len(saved) == s.saved and len(aside) == s.still
    # Every complete gesture received is on disk, in one file or the other, in order.
    got = {g.tobytes() for g in np.concatenate([saved, aside])}
    assert got == {g.tobytes() for g in played[:s.saved + s.still]}


@pytest.mark.parametrize("cut", [5000, 12345, 20000])
def test_unplugged_keeps_every_complete_gesture(tmp_path, cut):
    stream = b"".join(b for _, b in sim.imu_stream(read_imu_csv(REVELIO).gestures, loops=1))
    sent = stream[:cut]
    complete = (sent.count(b"\n") - 1) // 120       # header, then 119 rows + 1 empty line
    rows_after = sent.split(b"\n")[1:]
    if len(rows_after) % 120 == 120 - 1 or (len(rows_after) - 1) % 120 == 119:
        complete += 1                                 # last row received, empty line not yet
    with pytest.raises(CaptureError, match="stopped sending") as err:
        capture.record(FAST_IMU + f"&unplug={cut}", label="Revelio", out=tmp_path, gestures=50)
    s = err.value.summary
    assert s.stopped == "unplugged"
    got = read_imu_csv(tmp_path / "Revelio.csv").gestures
    assert len(got) == s.saved == complete
    assert (tmp_path / "Revelio.csv").read_text() == expected_csv(read_imu_csv(REVELIO).gestures[:complete])


def test_unplugged_audio_keeps_complete_clips(tmp_path):
    with pytest.raises(CaptureError) as err:
        capture.record("sim://audio?speed=max&loops=0&unplug=100000", label="yes", out=tmp_path, clips=5)
    assert err.value.summary.saved == 3              # 100 kB hold 3.1 s of audio
    assert sorted(p.name for p in (tmp_path / "yes").iterdir()) == ["yes_0.wav", "yes_1.wav", "yes_2.wav"]


def test_resumed_session_continues_numbering(tmp_path):
    capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=2)
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=3)
    assert (s.first_index, s.saved, s.total) == (2, 3, 5)
    gestures = read_imu_csv(REVELIO).gestures
    want = expected_csv(gestures[:2]) + expected_csv(gestures[:3])[len(HEADER_LINE) + 1:]
    assert (tmp_path / "Revelio.csv").read_text() == want
    a = capture.record("sim://audio?speed=max", label="yes", out=tmp_path, clips=2)
    b = capture.record("sim://audio?speed=max", label="yes", out=tmp_path, clips=2)
    assert (a.first_index, b.first_index) == (0, 2)
    assert sorted(p.name for p in (tmp_path / "yes").iterdir()) == [f"yes_{i}.wav" for i in range(4)]
    assert (tmp_path / "Revelio.capture.json").read_text().count('"started"') == 2


def test_torn_last_gesture_is_cut_before_appending(tmp_path):
    capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=2)
    path = tmp_path / "Revelio.csv"
    with open(path, "a") as f:                      # a crash in the middle of a write
        f.write("1.000,2.000,3.000,4.000,5.000,6.000\n1.000,2.0")
    s = capture.record(FAST_IMU, label="Revelio", out=tmp_path, gestures=1)
    assert s.first_index == 2
    assert read_imu_csv(path).gestures.shape[0] == 3 and not read_imu_csv(path).skipped


def test_bad_arguments_are_refused_at_the_door(tmp_path):
    with pytest.raises(CaptureError, match="how much"):
        capture.record(FAST_IMU, label="x", out=tmp_path)
    with pytest.raises(CaptureError, match="file name"):
        capture.record(FAST_IMU, label="a/b", out=tmp_path, gestures=1)
    with pytest.raises(CaptureError, match="clips= is for audio"):
        capture.record(FAST_IMU, label="x", out=tmp_path, clips=1)
    with pytest.raises(CaptureError, match="no data"):
        capture.record("loop://", label="x", out=tmp_path, gestures=1, idle_timeout=0.2)


@pytest.mark.skipif(__import__("shutil").which("socat") is None,
                    reason="socat not installed; run `sh boards/install-tools.sh`")
def test_record_through_a_pty_pair(tmp_path):
    """Through the kernel's tty layer, as from a USB board: audio at 921600 baud."""
    pcm = sim.synthetic_audio(1.0)
    wire = b"\x00" + frames.info_frame(0, board="pty", rate=16000) + frames.audio_frames(pcm, 256, 1) * 1
    with capture.PtyPair() as pair:
        board = capture.open_port(pair.a, baudrate=921600)
        host = capture.open_port(pair.b, baudrate=921600)   # opening flushes: open first
        writer = threading.Thread(target=board.write, args=(wire,), daemon=True)
        writer.start()
        s = capture.record(host, label="yes", out=tmp_path, clips=1)
        writer.join(5)
        board.close()
        host.close()
    assert (s.saved, s.board, s.dropped, s.corrupt) == (1, "pty", 0, 0)
    with wave.open(str(tmp_path / "yes" / "yes_0.wav")) as w:
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), pcm)
