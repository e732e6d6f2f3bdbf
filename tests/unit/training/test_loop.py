"""Models and the training loop: shapes, learning, selection, determinism, normalisation,
streaming, mixed precision (:mod:`jaxaudio.training.loop`)."""

import logging
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxaudio.features.streaming import NpyRows
from jaxaudio.models.registry import build_model
from jaxaudio.training.loop import Progress, TrainData, fit, step_constants
from jaxaudio.training.settings import TrainSettings
from tests.unit.training.toy import C, toy, toy_data


@pytest.mark.parametrize(
    "arch, options",
    [
        ("cnn", {"channels": [8, 16]}),
        ("cnn", {"channels": [8, 16], "pool": "time"}),
        ("vit", {"patch": [4, 4], "dim": 16, "depth": 1, "heads": 2, "mlp_dim": 32}),
        ("vit", {"patch": [2, 2], "dim": 16, "depth": 1, "heads": 2, "mlp_dim": 32, "stem": [8]}),
        ("mlp", {"hidden": [32], "dropout": 0.5}),
    ],
)
def test_models_shapes_and_modes(arch, options):
    model = build_model(arch, C, (3, 16, 12), options, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 3, 16, 12)).astype(np.float32)
    model.eval()
    a, b = model(x), model(x)
    assert a.shape == (5, C) and np.allclose(a, b)  # eval: deterministic
    model.train()
    c = model(x, rngs=nnx.Rngs(dropout=0))
    assert not np.allclose(a, c)  # train mode: dropout / batch statistics change outputs


@pytest.mark.parametrize(
    "arch, options",
    [
        ("cnn", {"channels": [8, 16]}),
        ("vit", {"patch": [4, 4], "dim": 32, "depth": 1, "heads": 2, "mlp_dim": 64}),
        ("mlp", {"hidden": [64]}),
    ],
)
def test_learns_and_is_deterministic(arch, options, tmp_path):
    data = toy_data(160, 48)
    s = TrainSettings(
        arch=arch, model=options, epochs=12, batch_size=32, lr=3e-3, patience=20, seed=0
    )
    r1 = fit(s, data, ckpt_dir=tmp_path / "a")
    r2 = fit(s, data, ckpt_dir=tmp_path / "b")
    assert r1.history["val_macro_f1"].max() > 0.8  # chance is 0.25
    assert r1.summary["best_epoch"] == int(r1.history["val_macro_f1"].idxmax()) + 1
    np.testing.assert_array_equal(r1.history["val_loss"], r2.history["val_loss"])
    np.testing.assert_array_equal(r1.history["train_loss"], r2.history["train_loss"])


def test_weighted_training_changes_the_result(tmp_path):
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=2, batch_size=32)
    a = fit(
        s,
        toy_data(96, 32, weight_vector=np.array([1, 1, 1, 10], np.float32)),
        ckpt_dir=tmp_path / "w",
    )
    b = fit(s, toy_data(96, 32), ckpt_dir=tmp_path / "u")
    assert not np.allclose(a.history["train_loss"], b.history["train_loss"])


def test_cnn_time_pooling_head_sees_coefficient_position():
    # pool="time" flattens (F', C): 16 rows -> 2 pools -> 4 rows x 16 channels = 64 head inputs
    m = build_model("cnn", C, (3, 16, 12), {"channels": [8, 16], "pool": "time"}, seed=0)
    assert m.head.kernel[...].shape == (4 * 16, C)
    assert build_model("cnn", C, (3, 16, 12), {"channels": [8, 16]}, seed=0).head.kernel[
        ...
    ].shape == (16, C)
    with pytest.raises(ValueError, match="pool"):
        build_model("cnn", C, (3, 16, 12), {"pool": "max"}, seed=0)


def test_augmented_training_learns_and_changes_the_path(tmp_path):
    data = toy_data(160, 48)
    base = dict(
        arch="cnn", model={"channels": [8, 16]}, epochs=8, batch_size=32, lr=3e-3, patience=20
    )
    plain = fit(TrainSettings(**base), data, ckpt_dir=tmp_path / "p")
    # (no time shift: the toy's evidence is a 4-frame tiling that a roll by 1-3 frames breaks)
    aug = {
        "freq_masks": 1,
        "freq_mask_width": 2,
        "time_masks": 1,
        "time_mask_width": 2,
        "mixup_alpha": 0.2,
    }
    # augmentation regularises, so it learns more slowly: give it more epochs
    augmented = fit(
        TrainSettings(**{**base, "epochs": 20}, augment=aug), data, ckpt_dir=tmp_path / "a"
    )
    assert augmented.history["val_macro_f1"].max() > 0.8
    assert not np.allclose(plain.history["train_loss"], augmented.history["train_loss"][:8])


def test_coefficient_normalisation_uses_given_statistics(tmp_path):
    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    s = TrainSettings(
        arch="cnn", model={"channels": [8]}, epochs=2, batch_size=32, normalise="coefficient"
    )
    with pytest.raises(ValueError, match="statistics"):
        fit(s, TrainData(x, y, xv, yv, C), ckpt_dir=tmp_path / "x")
    mean, std = x.mean(axis=(0, 3))[:, :, None], x.std(axis=(0, 3))[:, :, None]
    r = fit(s, TrainData(x, y, xv, yv, C, mean=mean, std=std), ckpt_dir=tmp_path / "y")
    # the same data pre-normalised and trained raw follows the same path
    raw = fit(
        TrainSettings(**{**s.__dict__, "normalise": False}),
        TrainData((x - mean) / std, y, (xv - mean) / std, yv, C),
        ckpt_dir=tmp_path / "z",
    )
    np.testing.assert_allclose(r.history["train_loss"], raw.history["train_loss"], rtol=1e-4)


def test_masks_fill_with_the_channel_mean_of_raw_features_and_0_once_normalised():
    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    data = TrainData(x, y, xv, yv, C, mean=mean, std=std, channel_mean=mean)
    raw = step_constants(TrainSettings(arch="cnn", normalise=False), data)
    np.testing.assert_allclose(np.asarray(raw.mask_fill).ravel(), x.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(raw.mean), 0.0)  # the batch itself stays raw
    normed = step_constants(TrainSettings(arch="cnn", normalise=True), data)
    np.testing.assert_array_equal(np.asarray(normed.mask_fill), 0.0)  # (μ − μ) / σ


def test_training_streams_when_the_split_exceeds_the_memory_budget(tmp_path, caplog):
    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    np.save(tmp_path / "x.npy", np.concatenate([x, xv]))
    base = dict(arch="cnn", model={"channels": [8]}, epochs=3, batch_size=32, lr=3e-3, patience=50)
    resident = fit(TrainSettings(**base), TrainData(x, y, xv, yv, C), ckpt_dir=tmp_path / "r")
    on_disk = TrainData(
        NpyRows(tmp_path / "x.npy", np.arange(96)),
        y,
        NpyRows(tmp_path / "x.npy", np.arange(96, 128)),
        yv,
        C,
    )
    with caplog.at_level(logging.INFO, logger="jaxaudio.training.loop"):
        # 96 clips x 2.3 KiB = 0.21 MiB > 0.1
        streamed = fit(
            TrainSettings(**base, device_memory_mb=0.1), on_disk, ckpt_dir=tmp_path / "s"
        )
    assert "streaming batches" in caplog.text
    np.testing.assert_allclose(
        streamed.history["train_loss"], resident.history["train_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(
        streamed.history["val_loss"], resident.history["val_loss"], rtol=1e-4
    )


@pytest.mark.parametrize(
    "arch, options",
    [
        ("cnn", {"channels": [8, 16]}),
        ("vit", {"patch": [4, 4], "dim": 32, "depth": 1, "heads": 2, "mlp_dim": 64}),
    ],
)
def test_bfloat16_mixed_precision_learns_with_float32_master_state(arch, options, tmp_path):
    data = toy_data(160, 48)
    base = dict(arch=arch, model=options, epochs=12, batch_size=32, lr=3e-3, patience=20)
    f32 = fit(TrainSettings(**base), data, ckpt_dir=tmp_path / "f32")
    bf16 = fit(TrainSettings(**base, compute_dtype="bfloat16"), data, ckpt_dir=tmp_path / "bf16")
    assert bf16.history["val_macro_f1"].max() > 0.8  # chance is 0.25
    # same start: the first epoch's loss differs only by bfloat16 rounding (8-bit mantissa)
    np.testing.assert_allclose(
        bf16.history["train_loss"][0], f32.history["train_loss"][0], rtol=0.02
    )
    # but it is a different computation, not float32 under another name
    assert bf16.history["train_loss"][0] != f32.history["train_loss"][0]
    state = nnx.state(bf16.model)
    assert {leaf.dtype for leaf in jax.tree.leaves(state)} <= {
        jnp.dtype("float32"),
        jnp.dtype("uint32"),
        jnp.dtype("int32"),
    }
    with pytest.raises(ValueError, match="compute_dtype"):
        fit(TrainSettings(**base, compute_dtype="float16"), data, ckpt_dir=tmp_path / "bad")


def test_progress_keeps_the_first_best_and_stops_after_patience_epochs_without_one():
    """Macro-F1 0.5, 0.7, 0.7 (a tie: not better), 0.6 with patience 2: best is epoch 2, and
    epochs 3 and 4 are the two without improvement, so the run stops after epoch 4."""
    p = Progress()
    stopped = []
    for epoch, f1 in enumerate([0.5, 0.7, 0.7, 0.6], start=1):
        p.record({"epoch": epoch, "val_macro_f1": f1}, patience=2)
        stopped.append(p.stopped)
    assert p.best == {"f1": 0.7, "epoch": 2}
    assert p.bad_epochs == 2 and stopped == [False, False, False, True]
    assert Progress.from_meta(p.meta()) == p  # what a checkpoint saves restores the same progress


def test_the_epochs_row_and_summary_count_what_ran(tmp_path):
    """History has one row per epoch with the columns of history.csv; the summary's counts
    follow from it (96 clips, 3 epochs, batch 32: 3 steps an epoch, the rate of step 9)."""
    s = TrainSettings(
        arch="cnn", model={"channels": [8]}, epochs=3, batch_size=32, lr=1e-3, schedule="constant"
    )
    r = fit(s, toy_data(96, 32), ckpt_dir=tmp_path / "c")
    assert list(r.history.columns) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_acc",
        "val_macro_f1",
        "lr",
        "seconds",
    ]
    assert list(r.history["epoch"]) == [1, 2, 3] and np.allclose(r.history["lr"], 1e-3)
    assert r.summary["epochs_run"] == 3 and r.summary["resumed_from_epoch"] == 0
    # counted from the returned model's parameters
    assert r.summary["n_params"] == sum(
        p.size for p in jax.tree.leaves(nnx.state(r.model, nnx.Param))
    )
    assert r.summary["samples_per_second_this_run"] > 0


@pytest.mark.parametrize(
    "change",
    [{"sampler": "balanced"}, {"sampler": "sqrt"}, {"focal_gamma": 2.0}, {"label_smoothing": 0.1}],
    ids=["balanced", "sqrt", "focal", "smoothing"],
)
def test_the_plans_alternatives_train_and_change_the_path(change, tmp_path):
    """Each Phase 2 alternative reaches the compiled epoch (the losses differ from the plain
    run's from the first epoch) and the toy is still learnt."""
    s = TrainSettings(arch="cnn", model={"channels": [8, 16]}, epochs=8, batch_size=32, lr=3e-3)
    data = toy_data(160, 48)
    plain = fit(s, data, ckpt_dir=tmp_path / "plain")
    other = fit(replace(s, **change), data, ckpt_dir=tmp_path / "other")
    assert not np.allclose(other.history["train_loss"], plain.history["train_loss"])
    assert other.history["val_macro_f1"].max() > 0.7  # chance is 0.25


def test_a_sampler_needs_one_class_per_clip(tmp_path):
    y = np.eye(C, dtype=np.float32)[np.arange(64) % C]  # multi-hot targets
    x = toy(64, 0)[0]
    data = TrainData(x, y, x[:16], y[:16], C)
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=1, objective="sigmoid")
    with pytest.raises(ValueError, match="training.sampler: balanced needs one class per clip"):
        fit(replace(s, sampler="balanced"), data, ckpt_dir=tmp_path)
