"""train.fit's options: label smoothing, mixup, the focal loss, and the augmentation made
in a worker thread while Keras trains (a run stays repeatable)."""
import re

import numpy as np
import pytest

from tinykit import convert, models, recipes, train
from tinykit.errors import ModelError, ParameterError


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(0, 0.3, (n, 12, 4)).astype(np.float32)
    x[np.arange(n), y * 4, :] += 2.0              # a bump whose place tells the class
    return x, y


def _noisy(x, seed=None):
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (x + rng.normal(0, 0.1, x.shape)).astype(np.float32)


def _fit(**options):
    x, y = _data()
    net = models.build("tiny_conv", (12, 4), 3, seed=0)
    return train.fit(net, x, y, qat=False, epochs=4, batch_size=16, augment=_noisy, seed=5,
                     verbose=False, **options), x, y


def test_a_run_with_augmentation_made_in_a_thread_is_repeatable(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "0")
    a, x, _ = _fit()
    b, _, _ = _fit()
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c, _, _ = _fit(mixup=0.4, label_smoothing=0.1)
    assert not all(np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))
    assert (c.predict(x, verbose=0).argmax(axis=1) == np.arange(len(x)) % 3).mean() > 0.6


def test_mixup_mixes_examples_and_targets_alike():
    from tinykit.models._keras import keras
    x, y = _data(32)
    onehot = np.eye(3, dtype=np.float32)[y]
    batches = train._sequence(keras, x, onehot, 16, None, np.random.default_rng(0), mixup=0.4)
    xb, yb = batches[0]
    idx = batches.order[:16]
    np.testing.assert_allclose(yb.sum(axis=1), 1.0, rtol=1e-6)
    lam = yb.max(axis=1)                           # the first example keeps the larger weight
    assert lam.min() >= 0.5 and (lam < 0.999).any()
    # every mixed input is lam * its own example + (1 - lam) * another of the batch
    for i in range(16):
        others = (xb[i] - lam[i] * x[idx[i]]) / max(1 - lam[i], 1e-6)
        assert any(np.allclose(others, x[j], atol=1e-3) for j in idx) or lam[i] > 0.999
    batches.close()


def test_bad_options_are_refused():
    x, y = _data(8)
    net = models.build("tiny_conv", (12, 4), 3, seed=0)
    with pytest.raises(ModelError, match=r"label_smoothing must be in \[0, 1\)"):
        train.fit(net, x, y, label_smoothing=1.0, verbose=False)
    with pytest.raises(ModelError, match="mixup must be a Beta parameter >= 0"):
        train.fit(net, x, y, mixup=-0.2, verbose=False)
    with pytest.raises(ParameterError, match="kws\\(\\) has no setting mix_up; the settings are"):
        recipes.kws("speech_commands", mix_up=0.2)


def test_distillation_moves_the_targets_towards_the_teacher():
    from tinykit.models._keras import keras
    x, y = _data(32)
    onehot = np.eye(3, dtype=np.float32)[y]
    teacher = models.build("tiny_conv", (12, 4), 3, seed=1)
    batches = train._sequence(keras, x, onehot, 16, _noisy, np.random.default_rng(0),
                              teacher=teacher, distill=0.25)
    for epoch in range(2):
        xb, yb = batches[0]
        idx = batches.order[:16]
        expect = 0.75 * onehot[idx] + 0.25 * teacher.predict(xb, verbose=0)
        np.testing.assert_allclose(yb, expect, atol=1e-5)
        assert not np.allclose(yb, onehot[idx])
        batches.on_epoch_end()        # the next epoch's inputs: the teacher's view follows
    batches.close()


def test_a_distilled_model_learns_and_a_mismatched_teacher_is_refused(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "0")
    teacher, x, y = _fit()
    student, _, _ = _fit(teacher=teacher, distill=0.5)
    assert (student.predict(x, verbose=0).argmax(axis=1) == y).mean() > 0.6
    net = models.build("tiny_conv", (12, 4), 3, seed=0)
    with pytest.raises(ModelError, match="the teacher maps"):
        train.fit(net, x, y, teacher=models.build("tiny_conv", (12, 4), 4, seed=0),
                  verbose=False)
    with pytest.raises(ModelError, match=r"distill must be in \[0, 1\]"):
        train.fit(net, x, y, teacher=teacher, distill=1.5, verbose=False)


def test_class_weights_weigh_each_example_and_move_the_decisions(monkeypatch):
    from tinykit.models._keras import keras
    x, y = _data(32)
    weights = train._example_weights({0: 3.0}, y, 3)
    batches = train._sequence(keras, x, y, 16, None, np.random.default_rng(0), weights=weights)
    _, yb, wb = batches[0]
    np.testing.assert_array_equal(wb, np.where(yb == 0, 3.0, 1.0))
    batches.close()
    monkeypatch.setenv("TINYKIT_FAST", "0")
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, (96, 12, 4)).astype(np.float32)   # nothing tells the classes
    share = {}
    for w in (1.0, 8.0):
        net = models.build("tiny_conv", (12, 4), 3, seed=0)
        net = train.fit(net, noise, np.arange(96) % 3, qat=False, epochs=6, batch_size=16,
                        class_weight={0: w}, seed=5, verbose=False)
        share[w] = (net.predict(noise, verbose=0).argmax(axis=1) == 0).mean()
    assert share[8.0] > 0.8 and share[8.0] > share[1.0] + 0.3
    net = models.build("tiny_conv", (12, 4), 3, seed=0)
    with pytest.raises(ModelError, match=r"class_weight names class 3; the model's classes"):
        train.fit(net, noise, np.arange(96) % 3, class_weight={3: 2.0}, verbose=False)
    with pytest.raises(ModelError, match=r"class_weight\[0\] must be a positive number"):
        train.fit(net, noise, np.arange(96) % 3, class_weight={0: 0}, verbose=False)


def test_the_moving_average_of_the_weights_is_what_a_phase_returns(monkeypatch):
    from tinykit.models._keras import keras
    net = models.build("tiny_conv", (12, 4), 3, seed=0)
    avg = train._moving_average(keras, 0.5)
    avg.set_model(net)
    start = net.get_weights()
    avg.on_train_begin()
    seen = []
    for step in range(1, 40):
        now = [w + step for w in start]            # the weights after each step
        net.set_weights(now)
        avg.on_train_batch_end(step)
        seen.append(now)
    avg.on_train_end()
    expect = [w.astype(np.float64) for w in start]
    for step, now in enumerate(seen, 1):
        d = min(0.5, (1 + step) / (10 + step))
        expect = [d * e + (1 - d) * w for e, w in zip(expect, now)]
    for got, want in zip(net.get_weights(), expect):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert not np.allclose(net.get_weights()[0], seen[-1][0])
    monkeypatch.setenv("TINYKIT_FAST", "0")
    a, x, y = _fit(average=0.9)
    b, _, _ = _fit()
    assert (a.predict(x, verbose=0).argmax(axis=1) == y).mean() > 0.6
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])
    # QAT's ranges (NumPy scalars) are averaged too: the int8 model still works
    q = train.fit(models.build("tiny_conv", (12, 4), 3, seed=0), x, y, qat=True, epochs=4,
                  qat_epochs=2, batch_size=16, average=0.9, seed=5, verbose=False)
    assert convert.verify(convert.to_int8(q, representative=x), x, y).int8_accuracy > 0.6
    with pytest.raises(ModelError, match=r"average must be a decay in \[0, 1\)"):
        _fit(average=1.0)


def test_the_recipe_passes_feature_size_band_floor_and_first_strides_on(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "1")
    r = recipes.kws("speech_commands", n_mfcc=13, fmin=125.0, amin=1e-6, first_strides=(2, 3),
                    augment=False, verbose=False)
    assert r.settings.n_mfcc == 13 and r.settings.shape == (49, 13)
    assert r.settings.fmin == 125.0 and recipes.KWS_DEFAULTS["fmin"] != 125.0
    assert r.settings.amin == 1e-6 and recipes.KWS_DEFAULTS["amin"] != 1e-6
    conv0 = r.float_model.get_layer("conv0")
    assert conv0.strides == (2, 3) and conv0.output_shape[1:3] == (25, 5)
    assert tuple(r.tflite.input.shape) == (1, 49, 13)


def test_the_recipe_passes_blocks_on_and_refuses_malformed_strides(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "1")
    r = recipes.kws("speech_commands", filters=8, blocks=2, augment=False, verbose=False)
    names = [layer.name for layer in r.float_model.layers]
    assert sum(re.fullmatch(r"dw\d+", n) is not None for n in names) == 2
    assert r.float_model.count_params() < 2000
    for bad in (2, (2,), (2, 0), (2.5, 2), "22"):
        with pytest.raises(ParameterError, match="first_strides=.*two positive whole numbers"):
            recipes.kws("speech_commands", first_strides=bad, verbose=False)


def test_the_focal_loss_weighs_each_example_by_how_wrong_it_is(monkeypatch):
    monkeypatch.setenv("TINYKIT_FAST", "0")
    net, x, y = _fit(focal=2.0)
    assert (net.predict(x, verbose=0).argmax(axis=1) == y).mean() > 0.6
    # the loss the model trained with: cross-entropy times (1 - p)^2, p its label's share
    p = np.float32([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    target = np.eye(3, dtype=np.float32)[[0, 2]]
    each = -(1 - np.float32([0.7, 0.3])) ** 2 * np.log([0.7, 0.3])
    assert float(net.loss(target, p)) == pytest.approx(each.mean(), rel=1e-4)
    plain, _, _ = _fit()
    assert not all(np.array_equal(a, b) for a, b in zip(net.get_weights(), plain.get_weights()))
    for bad in (-1.0, True, "2"):
        with pytest.raises(ModelError, match="focal must be the focal loss' gamma >= 0"):
            train.fit(models.build("tiny_conv", (12, 4), 3), x, y, focal=bad, verbose=False)
