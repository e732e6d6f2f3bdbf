"""Epochs: the plan (permutation, padding, keys) and the three runners
(:mod:`jaxaudio.training.epochs`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxaudio.features.streaming import NpyRows
from jaxaudio.models.registry import build_model
from jaxaudio.training.epochs import (
    PERMUTATION_STREAM,
    EpochKeys,
    EpochSpec,
    epoch_layout,
    epoch_plan,
    epoch_runner,
    run_keys,
)
from jaxaudio.training.optim import make_optimizer
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.state import TrainState
from jaxaudio.training.steps import StepConfig, StepConstants
from tests.unit.training.toy import C, toy


def test_epoch_layout():
    assert epoch_layout(70, 32) == (32, 3)  # ceil(70 / 32)
    assert epoch_layout(64, 32) == (32, 2)
    assert epoch_layout(10, 64) == (10, 1)  # a split smaller than the batch: one full batch


def test_the_plan_covers_every_clip_once_and_pads_with_masked_real_clips():
    perm_key, base_key = jax.random.key(3), jax.random.key(4)
    plan = epoch_plan(perm_key, base_key, 5, n=70, batch=32)
    idx, mask, keys = np.asarray(plan.rows), np.asarray(plan.mask), plan.key
    assert idx.shape == mask.shape == (3, 32)
    perm = np.asarray(jax.random.permutation(perm_key, 70))
    flat, m = idx.ravel(), mask.ravel()
    np.testing.assert_array_equal(flat[:70], perm)  # batch b is perm[bB:(b+1)B]
    np.testing.assert_array_equal(flat[70:], perm[:26])  # 3 x 32 - 70 = 26 padding rows: real clips
    np.testing.assert_array_equal(
        m, (np.arange(96) < 70).astype(np.float32)
    )  # ... with loss mask 0
    assert sorted(flat[m == 1]) == list(range(70))  # every clip exactly once
    for b in range(3):  # batch b of epoch e: fold_in(k, e S + b)
        expected = jax.random.key_data(jax.random.fold_in(base_key, 5 * 3 + b))
        np.testing.assert_array_equal(jax.random.key_data(keys[b]), expected)


def test_with_views_each_clip_is_read_once_in_one_of_its_views():
    """A split of V rows per clip (the clip, then its offset copies): the plan reads clip i
    once, as row i V + v; the j-th clip read takes view v_j ~ U{0..V-1} from fold_in(perm_key, 1);
    the order is the plain plan's."""
    perm_key, base_key = jax.random.key(3), jax.random.key(4)
    plain = np.asarray(epoch_plan(perm_key, base_key, 5, n=70, batch=32).rows).ravel()
    plan = epoch_plan(perm_key, base_key, 5, n=70, batch=32, views=5)
    rows, mask = np.asarray(plan.rows).ravel(), np.asarray(plan.mask).ravel()
    clip, view = np.divmod(rows, 5)
    np.testing.assert_array_equal(clip, plain)  # same clips in the same order
    assert sorted(clip[mask == 1]) == list(range(70))  # every clip exactly once
    v = np.asarray(jax.random.randint(jax.random.fold_in(perm_key, 1), (70,), 0, 5))
    np.testing.assert_array_equal(view[:70], v)  # the j-th clip read takes view v[j]
    assert set(view[:70]) == set(range(5))  # the aligned clip and all four copies occur


def test_run_keys_are_two_streams_of_the_seed():
    keys = run_keys(7)
    np.testing.assert_array_equal(
        jax.random.key_data(keys.step), jax.random.key_data(jax.random.key(7))
    )
    np.testing.assert_array_equal(
        jax.random.key_data(keys.permutation),
        jax.random.key_data(jax.random.fold_in(jax.random.key(7), 2**30)),
    )
    # The stream's value is part of every run's result: changing it reshuffles every epoch, so
    # results and checkpoints made before could not be reproduced.
    assert PERMUTATION_STREAM == 2**30


def test_scanned_stepwise_and_streamed_epochs_apply_the_same_updates(tmp_path):
    """The one-program epoch (lax.scan), the per-batch loop and the epoch streamed from the
    cache file through a prefetch thread: same batches, masks and keys, so same updates."""
    x, y = toy(70, 0)  # 70 = 2 x 32 + 6: the last batch is completed with masked clips
    np.save(tmp_path / "x.npy", np.concatenate([np.zeros((5, *x.shape[1:]), np.float32), x]))
    on_disk = NpyRows(tmp_path / "x.npy", np.arange(5, 75))  # rows 5.. of the file are x
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=1, batch_size=32)
    batch, steps = epoch_layout(len(x), s.batch_size)
    assert (batch, steps) == (32, 3)
    consts = StepConstants(jnp.zeros((3, 1, 1)), jnp.ones((3, 1, 1)), jnp.ones(C))
    keys = EpochKeys(step=jax.random.key(2), permutation=jax.random.key(1))
    out = {}
    for mode in ("steps", "scan", "stream"):
        tx, _ = make_optimizer(s, steps)
        state = TrainState.create(build_model("cnn", C, x.shape[1:], s.model, 0), tx)
        data = (on_disk, y) if mode == "stream" else (jnp.asarray(x), jnp.asarray(y, jnp.int32))
        spec = EpochSpec(consts, keys, batch, StepConfig())
        state, losses = epoch_runner(mode)(state, *data, 0, spec)
        out[mode] = (np.asarray(losses), jax.tree.leaves(state.params))
    for mode in ("scan", "stream"):
        np.testing.assert_allclose(out[mode][0], out["steps"][0], rtol=1e-5)
        for a, b in zip(out[mode][1], out["steps"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_unknown_epoch_mode():
    with pytest.raises(ValueError, match="epoch_mode"):
        epoch_runner("async")
