"""Models and the training loop: shapes, learning, selection, determinism, resume."""

import numpy as np
import pytest
from flax import nnx

from jaxaudio.models.registry import build_model
from jaxaudio.training.loop import TrainSettings, train

C = 4


TEMPLATES = np.random.default_rng(42).normal(size=(C, 3, 4, 4)).astype(np.float32)


def toy(n, seed):
    """Class c adds its own 3x4x4 template, tiled over the 16x12 map, to unit noise.

    Every 4x4 patch carries the evidence, so a CNN and a ViT can both learn it in a few
    dozen steps; the noise keeps it from being trivial (chance is 1/C).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    x = rng.normal(size=(n, 3, 16, 12)).astype(np.float32)
    x += np.tile(TEMPLATES[y], (1, 1, 4, 3)) * 0.5
    return x, y


@pytest.mark.parametrize("arch, options", [("cnn", {"channels": [8, 16]}), ("cnn", {"channels": [8, 16], "pool": "time"}), ("vit", {"patch": [4, 4], "dim": 16, "depth": 1, "heads": 2, "mlp_dim": 32})])
def test_models_shapes_and_modes(arch, options):
    model = build_model(arch, C, (3, 16, 12), options, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 3, 16, 12)).astype(np.float32)
    model.eval()
    a, b = model(x), model(x)
    assert a.shape == (5, C) and np.allclose(a, b)  # eval: deterministic
    model.train()
    c = model(x, rngs=nnx.Rngs(dropout=0))
    assert not np.allclose(a, c)  # train mode: dropout / batch statistics change outputs


@pytest.mark.parametrize("arch, options", [("cnn", {"channels": [8, 16]}), ("vit", {"patch": [4, 4], "dim": 32, "depth": 1, "heads": 2, "mlp_dim": 64})])
def test_learns_and_is_deterministic(arch, options, tmp_path):
    x, y = toy(160, 0)
    xv, yv = toy(48, 1)
    s = TrainSettings(arch=arch, model=options, epochs=12, batch_size=32, lr=3e-3, patience=20, seed=0)
    r1 = train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "a")
    r2 = train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "b")
    assert r1.history["val_macro_f1"].max() > 0.8  # chance is 0.25
    assert r1.summary["best_epoch"] == int(r1.history["val_macro_f1"].idxmax()) + 1
    np.testing.assert_array_equal(r1.history["val_loss"], r2.history["val_loss"])
    np.testing.assert_array_equal(r1.history["train_loss"], r2.history["train_loss"])


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    import jaxaudio.training.loop as train_mod

    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=6, batch_size=32, lr=3e-3, patience=50)
    full = train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "full")

    # A run that dies during epoch 4 (after epoch 3's checkpoint was written).
    real = train_mod.validation_metrics
    calls = {"n": 0}

    def dying(*args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(*args)

    monkeypatch.setattr(train_mod, "validation_metrics", dying)
    with pytest.raises(KeyboardInterrupt):
        train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "part")
    monkeypatch.setattr(train_mod, "validation_metrics", real)

    resumed = train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "part")
    assert resumed.summary["resumed_from_epoch"] == 3
    assert list(resumed.history["epoch"]) == list(range(1, 7))
    np.testing.assert_allclose(resumed.history["val_loss"], full.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(resumed.history["train_loss"], full.history["train_loss"], rtol=1e-6)


def test_weighted_training_changes_the_result(tmp_path):
    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=2, batch_size=32)
    a = train(s, x, y, xv, yv, C, class_weights=np.array([1, 1, 1, 10], np.float32), ckpt_dir=tmp_path / "w")
    b = train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "u")
    assert not np.allclose(a.history["train_loss"], b.history["train_loss"])


def test_cnn_time_pooling_head_sees_coefficient_position():
    # pool="time" flattens (F', C): 16 rows -> 2 pools -> 4 rows x 16 channels = 64 head inputs
    m = build_model("cnn", C, (3, 16, 12), {"channels": [8, 16], "pool": "time"}, seed=0)
    assert m.head.kernel[...].shape == (4 * 16, C)
    assert build_model("cnn", C, (3, 16, 12), {"channels": [8, 16]}, seed=0).head.kernel[...].shape == (16, C)
    with pytest.raises(ValueError, match="pool"):
        build_model("cnn", C, (3, 16, 12), {"pool": "max"}, seed=0)


def test_augmented_training_learns_and_changes_the_path(tmp_path):
    x, y = toy(160, 0)
    xv, yv = toy(48, 1)
    base = dict(arch="cnn", model={"channels": [8, 16]}, epochs=8, batch_size=32, lr=3e-3, patience=20)
    plain = train(TrainSettings(**base), x, y, xv, yv, C, ckpt_dir=tmp_path / "p")
    # (no time shift: the toy's evidence is a 4-frame tiling that a roll by 1-3 frames breaks)
    aug = {"freq_masks": 1, "freq_mask_width": 2, "time_masks": 1, "time_mask_width": 2, "mixup_alpha": 0.2}
    # augmentation regularises, so it learns more slowly: give it more epochs
    augmented = train(TrainSettings(**{**base, "epochs": 20}, augment=aug), x, y, xv, yv, C, ckpt_dir=tmp_path / "a")
    assert augmented.history["val_macro_f1"].max() > 0.8
    assert not np.allclose(plain.history["train_loss"], augmented.history["train_loss"][:8])


def test_coefficient_normalisation_uses_given_statistics(tmp_path):
    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=2, batch_size=32, normalise="coefficient")
    with pytest.raises(ValueError, match="statistics"):
        train(s, x, y, xv, yv, C, ckpt_dir=tmp_path / "x")
    mean, std = x.mean(axis=(0, 3))[:, :, None], x.std(axis=(0, 3))[:, :, None]
    r = train(s, x, y, xv, yv, C, mean=mean, std=std, ckpt_dir=tmp_path / "y")
    # the same data pre-normalised and trained raw follows the same path
    raw = train(TrainSettings(**{**s.__dict__, "normalise": False}), (x - mean) / std, y, (xv - mean) / std, yv, C, ckpt_dir=tmp_path / "z")
    np.testing.assert_allclose(r.history["train_loss"], raw.history["train_loss"], rtol=1e-4)


DATA_PARALLEL_SCRIPT = """
import json, logging, sys
import numpy as np
import jax
logging.basicConfig(level=logging.INFO)
sys.path.insert(0, {root!r})
from tests.unit.training.test_loop import toy, C
from jaxaudio.training.loop import TrainSettings, train
assert len(jax.devices()) == 4, jax.devices()
x, y = toy(128, 0)
xv, yv = toy(32, 1)
out = {{}}
for dp in (False, True):
    s = TrainSettings(arch="cnn", model={{"channels": [8, 16]}}, epochs=4, batch_size=32, lr=3e-3, patience=50, data_parallel=dp)
    r = train(s, x, y, xv, yv, C, ckpt_dir={tmp!r} + f"/dp{{dp}}")
    out[str(dp)] = {{"train": r.history["train_loss"].tolist(), "val": r.history["val_loss"].tolist()}}
print("RESULT" + json.dumps(out))
"""


def test_four_device_data_parallel_matches_one_device(tmp_path):
    """XLA's host platform split into 4 CPU devices: the same loss curve within float tolerance."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", DATA_PARALLEL_SCRIPT.format(root=root, tmp=str(tmp_path))],
                          capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "batch of 32 split over 4 devices" in proc.stderr  # the parallel run really was split
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    one, four = out["False"], out["True"]
    np.testing.assert_allclose(four["train"], one["train"], rtol=1e-4)
    np.testing.assert_allclose(four["val"], one["val"], rtol=1e-4)


def test_data_parallel_batch_must_split_evenly(monkeypatch):
    import jax

    import jaxaudio.training.loop as train_mod

    monkeypatch.setattr(jax, "local_devices", lambda: ["d0", "d1", "d2"])
    with pytest.raises(ValueError, match="batch_size 32 is not a multiple of the 3 devices"):
        train_mod.data_parallel_mesh(32)


def test_scanned_stepwise_and_streamed_epochs_apply_the_same_updates(tmp_path):
    """The one-program epoch (lax.scan), the per-batch loop and the epoch streamed from the
    cache file through a prefetch thread: same batches, masks and keys, so same updates."""
    import jax
    import jax.numpy as jnp

    from jaxaudio.features.streaming import NpyRows
    from jaxaudio.training.loop import epoch_layout, make_optimizer, make_steps

    x, y = toy(70, 0)  # 70 = 2 x 32 + 6: the last batch is completed with masked clips
    np.save(tmp_path / "x.npy", np.concatenate([np.zeros((5, *x.shape[1:]), np.float32), x]))
    on_disk = NpyRows(tmp_path / "x.npy", np.arange(5, 75))  # rows 5.. of the file are x
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=1, batch_size=32)
    batch, steps = epoch_layout(len(x), s.batch_size)
    assert (batch, steps) == (32, 3)
    out = {}
    for mode in ("steps", "scan", "stream"):
        tx, _ = make_optimizer(s, steps)
        state, _, epoch, _ = make_steps(build_model("cnn", C, x.shape[1:], s.model, 0), tx, None, len(x), batch, epoch_mode=mode)
        data = (on_disk, y) if mode == "stream" else (jnp.asarray(x), jnp.asarray(y, jnp.int32))
        args = (*data, jnp.zeros((3, 1, 1)), jnp.ones((3, 1, 1)), jnp.ones(C))
        state, losses = epoch(state, *args, jax.random.key(1), jax.random.key(2), 0)
        out[mode] = (np.asarray(losses), jax.tree.leaves(state.params))
    for mode in ("scan", "stream"):
        np.testing.assert_allclose(out[mode][0], out["steps"][0], rtol=1e-5)
        for a, b in zip(out[mode][1], out["steps"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_training_streams_when_the_split_exceeds_the_memory_budget(tmp_path, caplog):
    import logging

    from jaxaudio.features.streaming import NpyRows

    x, y = toy(96, 0)
    xv, yv = toy(32, 1)
    np.save(tmp_path / "x.npy", np.concatenate([x, xv]))
    base = dict(arch="cnn", model={"channels": [8]}, epochs=3, batch_size=32, lr=3e-3, patience=50)
    resident = train(TrainSettings(**base), x, y, xv, yv, C, ckpt_dir=tmp_path / "r")
    with caplog.at_level(logging.INFO, logger="jaxaudio.training.loop"):
        streamed = train(
            TrainSettings(**base, device_memory_mb=0.1),  # 96 clips x 2.3 KiB = 0.21 MiB > 0.1
            NpyRows(tmp_path / "x.npy", np.arange(96)), y, NpyRows(tmp_path / "x.npy", np.arange(96, 128)), yv, C,
            ckpt_dir=tmp_path / "s",
        )
    assert "streaming batches" in caplog.text
    np.testing.assert_allclose(streamed.history["train_loss"], resident.history["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(streamed.history["val_loss"], resident.history["val_loss"], rtol=1e-4)


@pytest.mark.parametrize("arch, options", [("cnn", {"channels": [8, 16]}), ("vit", {"patch": [4, 4], "dim": 32, "depth": 1, "heads": 2, "mlp_dim": 64})])
def test_bfloat16_mixed_precision_learns_with_float32_master_state(arch, options, tmp_path):
    import jax
    import jax.numpy as jnp

    x, y = toy(160, 0)
    xv, yv = toy(48, 1)
    base = dict(arch=arch, model=options, epochs=12, batch_size=32, lr=3e-3, patience=20)
    f32 = train(TrainSettings(**base), x, y, xv, yv, C, ckpt_dir=tmp_path / "f32")
    bf16 = train(TrainSettings(**base, compute_dtype="bfloat16"), x, y, xv, yv, C, ckpt_dir=tmp_path / "bf16")
    assert bf16.history["val_macro_f1"].max() > 0.8  # chance is 0.25
    # same start: the first epoch's loss differs only by bfloat16 rounding (8-bit mantissa)
    np.testing.assert_allclose(bf16.history["train_loss"][0], f32.history["train_loss"][0], rtol=0.02)
    # but it is a different computation, not float32 under another name
    assert bf16.history["train_loss"][0] != f32.history["train_loss"][0]
    state = nnx.state(bf16.model)
    assert {leaf.dtype for leaf in jax.tree.leaves(state)} <= {jnp.dtype("float32"), jnp.dtype("uint32"), jnp.dtype("int32")}
    with pytest.raises(ValueError, match="compute_dtype"):
        train(TrainSettings(**base, compute_dtype="float16"), x, y, xv, yv, C, ckpt_dir=tmp_path / "bad")
