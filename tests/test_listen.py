"""The streaming keyword firmware (boards/mps2-an386/listen) against tinykit.streaming: a
stream of bundled Speech Commands test clips played to the emulated board over its UART in
frames; its detections equal tinykit.streaming.detect's on the host with the same int8
model (TFLM), same keywords, times within one hop; bad frames are counted and the board
keeps going."""
import shutil
import struct

import numpy as np
import pytest

import tinykit
from tinykit import convert, recipes, streaming
from tinykit.deploy import listen as L
from tinykit.errors import DeviceError, ParameterError
from tinykit.features import extract
from tinykit.models._keras import keras

MISSING = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make") if shutil.which(t) is None]
needs_qemu = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed; "
                                f"run `sh boards/install-tools.sh`")
# The detector's settings of the default test: low enough that a briefly trained model
# on a few clips detects something (the check is equality with the host, not accuracy).
DETECT = dict(threshold=0.4, window=0.2, suppress=1.0)
EVERY = 5                       # hops between model runs: stride 0.1 s


@pytest.fixture(scope="module")
def ds():
    return tinykit.datasets.load("speech_commands")


@pytest.fixture(scope="module")
def settings(mfcc_settings):
    return mfcc_settings


def small_keyword_model(shape, classes, *, head="dense"):
    """A small Keras keyword model on features of ``shape``: one strided conv, then a
    dense layer (``head="dense"``) or a conv over the whole map (``"conv"``: no
    FULLY_CONNECTED op), softmax."""
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape)
    h = keras.layers.Reshape(tuple(shape) + (1,))(inp)
    h = keras.layers.Conv2D(8, (5, 3), strides=(2, 2), activation="relu")(h)
    if head == "conv":
        h = keras.layers.Reshape((classes,))(keras.layers.Conv2D(classes, h.shape[1:3])(h))
    else:
        h = keras.layers.Dense(classes)(keras.layers.Flatten()(h))
    return keras.Model(inp, keras.layers.Softmax()(h))


def trained_keyword_model(ds, settings, *, head="dense"):
    """:func:`small_keyword_model` briefly trained on the bundled sample's training
    clips, as int8, its input calibrated on the training features."""
    x, y = ds.audio("train")
    f = extract(x, settings)
    m = small_keyword_model(f.shape[1:], ds.num_classes, head=head)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(f, y, epochs=40, batch_size=32, verbose=0)
    return convert.to_int8(m, representative=f)


@pytest.fixture(scope="module")
def model(ds, settings):
    """A small int8 model on 49x10 MFCC, briefly trained."""
    return trained_keyword_model(ds, settings)


def keyword_stream(ds, settings, model, n, *, confident=True, seed=0):
    """int16 stream of n keyword test clips (those the model gets right, when
    ``confident``), with noise and short gaps, and its truth."""
    xt, yt = ds.audio("test")
    keep = [i for i in range(len(yt)) if ds.labels[yt[i]] not in streaming.IGNORED]
    if confident:
        p = model.predict(extract(xt[keep], settings))
        keep = [i for i, row in zip(keep, p) if row.argmax() == yt[i]]
    keep = keep[:n]
    audio, truth = streaming.make_stream(xt[keep], yt[keep], ds.labels, noise=ds.noise,
                                         noise_level=0.02, gap=(0.4, 0.8), seed=seed)
    return L.as_int16(audio), truth


@pytest.fixture(scope="module")
def board(model, settings):
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed; run `sh boards/install-tools.sh`")
    with L.boot_listen(model, settings) as machine:      # built once in the cache
        yield machine


def host_detections(pcm, model, settings, labels, every=EVERY, **kw):
    stride = every * settings.stride_samples / settings.sample_rate
    return streaming.detect(pcm / 32768.0, model, settings, labels, stride=stride, **kw)


def assert_same(device, host, settings):
    hop = settings.stride_samples / settings.sample_rate
    assert [d.label for d in device] == [d.label for d in host]
    for d, h in zip(device, host):
        assert abs(d.time - h.time) <= hop + 1e-9, (d, h)
        # The board quantizes its own features (equal to Python's on >= 99.5% of the
        # values, never a step apart): scores may differ a little, not much.
        assert abs(d.score - h.score) <= 0.05, (d, h)


def expected_runs(hops, settings, every):
    per_clip = settings.clip_samples // settings.stride_samples
    return 0 if hops < per_clip else (hops - per_clip) // every + 1


@needs_qemu
def test_board_detects_what_the_host_detects(board, ds, settings, model):
    pcm, truth = keyword_stream(ds, settings, model, 3)
    host = host_detections(pcm, model, settings, ds.labels, **DETECT)
    heard = L.listen(board.url, model, settings, ds.labels, pcm, every=EVERY, **DETECT)
    print(f"host:   {host}\ndevice: {heard.detections}\n{heard.summary()}")
    assert len(host) >= 2, "the test stream should give real detections"
    assert_same(heard.detections, host, settings)
    hops = len(pcm) // settings.stride_samples
    assert (heard.hops, heard.frames, heard.board_hops) == (hops, hops, hops)
    assert heard.corrupt == heard.missing == heard.malformed == heard.unknown == heard.overruns == 0
    assert heard.runs == expected_runs(hops, settings, EVERY)
    assert heard.counter == "instructions" and heard.frontend_count > 0 < heard.model_count
    assert 0 < heard.realtime_fraction(64e6) < 1


@needs_qemu
def test_bad_frames_are_counted_and_the_board_keeps_going(board, ds, settings, model):
    rng = np.random.default_rng(1)
    pcm = (rng.normal(0, 2000, settings.sample_rate * 6 // 5)).astype(np.int16)   # 1.2 s
    hops = len(pcm) // settings.stride_samples
    sent = {"audio": 0}

    def tamper(direction, wire):
        if wire[:1] == b"\x00" or len(wire) < 600:      # the resync byte, HELLO, END
            return wire
        k = sent["audio"]
        sent["audio"] += 1
        if k == 10:                                      # one flipped byte: a CRC error
            bad = bytearray(wire)
            bad[100] = bad[100] % 255 + 1 if bad[100] != 255 else 1
            return bytes(bad)
        if k == 30:                                      # lost on the way: a gap
            return b""
        if k == 45:                                      # garbage before a good frame
            return b"\x13\x37\x00" + wire
        return wire

    heard = L.listen(board.url, model, settings, ds.labels, pcm, every=EVERY,
                     tamper=tamper, timeout=5.0, **DETECT)
    print(heard.summary())
    assert heard.corrupt == 2                 # the flipped frame, the garbage
    assert heard.missing == 2                 # the flipped frame's and the lost frame's number
    assert heard.frames == hops - 2
    assert heard.board_hops == hops           # missing hops were replaced by silence
    assert heard.runs == expected_runs(hops, settings, EVERY)
    # And it still listens: a clean stream afterwards gives the host's detections.
    again = L.listen(board.url, model, settings, ds.labels, pcm, every=EVERY, **DETECT)
    assert again.corrupt == again.missing == 0 and again.frames == hops
    assert_same(again.detections, host_detections(pcm, model, settings, ds.labels, **DETECT),
                settings)


@needs_qemu
def test_the_board_says_which_model_and_settings_it_runs(board, ds, settings, model):
    heard = L.listen(board.url, model, settings, ds.labels, np.zeros(3200, np.int16))
    info = dict(heard.board)
    assert info["app"] == "listen" and info["classes"] == len(ds.labels)
    assert heard.runs == 0 and heard.detections == []       # less than a second: no window
    info["model_crc32"] ^= 1
    with pytest.raises(DeviceError, match="another model"):
        L._check_board(info, model, settings, len(ds.labels))


def _gaps(values, lo, hi, slack=0.02):
    """Midpoints of the gaps wider than 2 * slack between the sorted ``values`` (and
    ``lo``, ``hi``): settings no value is within ``slack`` of."""
    v = np.unique(np.concatenate([[lo], np.asarray(values, float), [hi]]))
    return [float(round((a + b) / 2, 4)) for a, b in zip(v[:-1], v[1:]) if b - a > 2 * slack]


def strict_settings(times, smoothed, labels, base):
    """min_runs, margin and one keyword's threshold such that the host's detections
    with all three differ from those with any two of them (and from the defaults'),
    and no smoothed value nor margin of a row that could count is within 0.02 of a
    setting: each setting decides something, with room for the board's features.
    ``base``: the threshold and suppress they add to."""
    def found(**kw):
        return streaming.detections_from(times, smoothed, labels, threshold=base["threshold"],
                                         suppress=base["suppress"], **kw)

    best = smoothed.argmax(axis=1)
    top = smoothed.max(axis=1)
    second = np.sort(smoothed, axis=1)[:, -2]
    live = np.array([labels[k] not in streaming.IGNORED for k in best]) & (
        top >= base["threshold"])
    margins = _gaps((top - second)[live], 0.0, 1.0)
    default = found()
    for label in sorted({d.label for d in default}):
        own = top[live & (best == labels.index(label))]
        for t in _gaps(own, base["threshold"], 1.0):
            for margin in margins:
                for min_runs in (2, 3, 4, 5):
                    kw = dict(min_runs=min_runs, margin=margin, thresholds={label: t})
                    strict = found(**kw)
                    if strict and strict != default and all(
                            found(**{k: v for k, v in kw.items() if k != drop}) != strict
                            for drop in kw):
                        return kw, strict, default
    return None, None, default


@needs_qemu
def test_the_board_applies_min_runs_margin_and_per_keyword_thresholds(board, ds, settings,
                                                                      model):
    """min_runs, margin and a per-keyword threshold chosen on the host's posteriors of
    the stream so that leaving out any one of them changes the detections: the board,
    sent them in the long HELLO, detects what the host detects with them; then, sent
    the short HELLO of the defaults, it detects as before again."""
    base = dict(threshold=0.3, window=0.5, suppress=1.0)   # longer runs than DETECT's
    pcm, _ = keyword_stream(ds, settings, model, 20, confident=False, seed=3)
    stride = EVERY * settings.stride_samples / settings.sample_rate
    times, probs = streaming.posteriors(pcm / 32768.0, model, settings, stride)
    smoothed = streaming.smooth(probs, times, base["window"])
    kw, strict, default = strict_settings(times, smoothed, ds.labels, base)
    assert kw, f"no settings change the detections {default}: use another stream"
    host = host_detections(pcm, model, settings, ds.labels, **base, **kw)
    assert host == strict and host != default
    heard = L.listen(board.url, model, settings, ds.labels, pcm, every=EVERY, **base, **kw)
    print(f"settings {kw}\ndefaults: {default}\nhost:     {host}\ndevice:   "
          f"{heard.detections}\n{heard.summary()}")
    assert_same(heard.detections, host, settings)
    assert heard.corrupt == heard.missing == heard.unknown == 0
    # The same board, sent the defaults in the short HELLO of a host before min_runs
    # (0 in its place): it forgot the settings and detects as before.
    part = pcm[:settings.sample_rate * 8]
    before = host_detections(part, model, settings, ds.labels, **base)
    again = L.listen(board.url, model, settings, ds.labels, part, every=EVERY, **base,
                     tamper=edit_hello(lambda p: p[:12] + bytes(4) + p[16:]))
    strict_part = host_detections(part, model, settings, ds.labels, **base, **kw)
    assert before != strict_part
    assert_same(again.detections, before, settings)
    # recipes.kws_on_device passes them to both sides (its own emulated board)
    both = recipes.kws_on_device(model, settings, ds.labels, part, every=EVERY, **base, **kw)
    assert both.same and both.host == strict_part


def edit_hello(change):
    """A ``tamper`` for :func:`listen` that passes ``change(payload)`` for HELLO's payload."""
    from tinykit.capture.frames import FrameDecoder, encode_frame

    def tamper(direction, wire):
        frames = FrameDecoder().feed(wire) if wire != b"\x00" else []
        if len(frames) == 1 and frames[0].type == L.TYPE_HELLO:
            return encode_frame(L.TYPE_HELLO, frames[0].seq, change(frames[0].payload))
        return wire
    return tamper


@needs_qemu
def test_the_board_refuses_a_margin_or_threshold_out_of_range(board, ds, settings, model):
    audio = np.zeros(3200, np.int16)
    for change in (lambda p: p[:32] + struct.pack("<d", 1.5) + p[40:],       # margin
                   lambda p: p[:-8] + struct.pack("<d", -0.25)):             # a threshold
        with pytest.raises(DeviceError, match=r"rejected the settings: .*margin in \[0, 1\]"):
            L.listen(board.url, model, settings, ds.labels, audio, margin=0.1,
                     tamper=edit_hello(change), connect_timeout=3.0)
    # a HELLO of a size the firmware does not take, as a firmware before the long HELLO
    # would see it: the host says to rebuild
    with pytest.raises(DeviceError, match="firmware predates min_runs, margin"):
        L.listen(board.url, model, settings, ds.labels, audio, margin=0.1,
                 tamper=edit_hello(lambda p: p[:-8]), connect_timeout=3.0)
    heard = L.listen(board.url, model, settings, ds.labels, audio, margin=0.1)
    assert heard.runs == 0 and "error" not in heard.board     # and it listens again


def test_the_hello_is_short_for_the_defaults_and_long_with_the_new_settings():
    limits = [0.6] * 5
    short = L._hello(5, 5, 0b11, 0.6, 1.0, 1, 0.0, limits)
    assert len(short) == L.HELLO.size == 32
    assert L.HELLO.unpack(short) == (5, 5, 3, 1, 0.6, 1.0)
    for min_runs, margin, per in [(2, 0.0, limits), (1, 0.1, limits),
                                  (1, 0.0, [0.6, 0.6, 0.8, 0.6, 0.6])]:
        long = L._hello(5, 5, 0b11, 0.6, 1.0, min_runs, margin, per)
        assert len(long) == 32 + 8 + 8 * 5
        assert L.HELLO.unpack(long[:32])[3] == min_runs
        assert list(np.frombuffer(long[32:], "<f8")) == [margin] + per
    info = {"app": "listen", "protocol": L.PROTOCOL, "error": "HELLO of the wrong size"}
    with pytest.raises(DeviceError, match="predates min_runs"):
        L._check_board(info, b"", None, 5, hello_size=80)
    with pytest.raises(DeviceError, match="rejected the settings"):
        L._check_board(info, b"", None, 5)


@pytest.mark.skipif(not (shutil.which("gcc") or shutil.which("cc")), reason="no host C compiler")
def test_stream_posteriors_on_the_c_kernels_are_tflms(ds, settings, model):
    """The keyword bench scores its streams with the C kernels (faster): the posteriors
    must be TFLM's, bit for bit, whichever way they are asked for."""
    pcm, truth = keyword_stream(ds, settings, model, 6, confident=False, seed=1)
    audio = pcm / 32768.0
    times, probs = streaming.posteriors(audio, model, settings, 0.2)
    c_times, c_probs = streaming.posteriors(audio, model, settings, 0.2, on="c", batch=7)
    assert len(probs) > 20 and np.array_equal(times, c_times)
    np.testing.assert_array_equal(c_probs, probs)
    (t, p, tr), = recipes.kws_posteriors(model, settings, [(audio, truth)])  # on "c"
    det = streaming.KeywordDetector().options(settings)["stride"]
    assert np.array_equal(p, streaming.posteriors(audio, model, settings, det)[1]) and tr == truth


def test_frames_with_a_full_cobs_block_before_a_zero_decode():
    """254 non-zero bytes then a zero: the encoder used to drop that zero, so about one
    audio frame in 1600 of a real stream reached the board (and FrameDecoder) corrupt."""
    from tinykit.capture import cobs
    from tinykit.capture.frames import TYPE_AUDIO, FrameDecoder, encode_frame
    for data in (bytes([7]) * 254 + b"\x00\x05", bytes([7]) * 254 + b"\x00",
                 bytes([7]) * 508 + b"\x00\x00", bytes([7]) * 254, bytes(300)):
        assert cobs.decode(cobs.encode(data)) == data
    pcm = np.full(320, 0x0707, np.int16)
    pcm[127 - 4] = 0                                      # header (8) + 246 bytes, then 0
    frame = encode_frame(TYPE_AUDIO, 0x01010101, pcm.tobytes())
    got = FrameDecoder().feed(frame)
    assert len(got) == 1 and np.array_equal(got[0].samples(), pcm)


def test_bad_arguments_are_parameter_errors(ds, settings, model):
    audio = np.zeros(settings.sample_rate, np.int16)
    url = "loop://"
    with pytest.raises(ParameterError, match="every"):
        L.listen(url, model, settings, ds.labels, audio, every=0)
    with pytest.raises(ParameterError, match="labels"):
        L.listen(url, model, settings, ds.labels[:3], audio)
    with pytest.raises(ParameterError, match="window"):
        L.listen(url, model, settings, ds.labels, audio, every=1, window=5.0)
    with pytest.raises(ParameterError, match="mono"):
        L.listen(url, model, settings, ds.labels, np.zeros((2, 100)))
    with pytest.raises(ParameterError, match="threshold"):
        L.listen(url, model, settings, ds.labels, audio, threshold=2.0)
    with pytest.raises(ParameterError, match=r"min_runs=0: .*>= 1"):
        L.listen(url, model, settings, ds.labels, audio, min_runs=0)
    with pytest.raises(ParameterError, match=r"margin=-0.5: .*\[0, 1\]"):
        L.listen(url, model, settings, ds.labels, audio, margin=-0.5)
    with pytest.raises(ParameterError, match=r"\['maybe'\], not among the labels"):
        L.listen(url, model, settings, ds.labels, audio, thresholds={"maybe": 0.5})


@pytest.mark.slow
@needs_qemu
def test_every_keyword_test_clip_default_settings(board, ds, settings, model):
    """All keyword test clips (about a minute of audio), the detector's defaults."""
    pcm, truth = keyword_stream(ds, settings, model, 1000, confident=False, seed=2)
    host = host_detections(pcm, model, settings, ds.labels)
    heard = L.listen(board.url, model, settings, ds.labels, pcm, every=EVERY)
    print(f"host:   {host}\ndevice: {heard.detections}\n{heard.summary()}")
    print("host", streaming.evaluate(host, truth), "\ndevice",
          streaming.evaluate(heard.detections, truth))
    assert_same(heard.detections, host, settings)
    assert heard.corrupt == heard.missing == heard.overruns == 0
    assert heard.frames == heard.hops == len(pcm) // settings.stride_samples
