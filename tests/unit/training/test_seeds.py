"""Seeds trained as one vmapped program (:mod:`jaxaudio.training.seeds`) against the reference
of the same seeds trained one by one (:func:`jaxaudio.training.loop.fit`)."""

from dataclasses import replace

import jax
import numpy as np
import pytest
from flax import nnx

from jaxaudio.training.loop import fit
from jaxaudio.training.seeds import check_seed_group, fit_seeds
from jaxaudio.training.settings import TrainSettings
from tests.unit.training.toy import killed_at_validation, toy_data

# Dropout, time shift, mixup and a class-aware sampler: every key stream a seed has.
SETTINGS = TrainSettings(
    arch="cnn",
    model={"channels": [8], "dropout": 0.3},
    epochs=6,
    batch_size=32,
    lr=3e-3,
    patience=2,
    augment={"time_shift": 2, "mixup_alpha": 0.2},
    sampler="balanced",
)


def seeds(*ks, **changes):
    return [replace(SETTINGS, seed=k, **changes) for k in ks]


def assert_same_run(a, b):
    """Two results of one seed: the same epochs, early stop and best epoch, the same
    validation decisions, losses and parameters to float rounding."""
    assert list(a.history["epoch"]) == list(b.history["epoch"])
    assert a.summary["best_epoch"] == b.summary["best_epoch"]
    assert a.summary["stopped_early"] == b.summary["stopped_early"]
    np.testing.assert_array_equal(a.history["val_acc"], b.history["val_acc"])
    np.testing.assert_array_equal(a.history["val_macro_f1"], b.history["val_macro_f1"])
    for col in ("train_loss", "val_loss", "lr"):
        np.testing.assert_allclose(a.history[col], b.history[col], rtol=1e-5, atol=1e-7)
    pa, pb = (jax.tree.leaves(nnx.state(r.model, nnx.Param)) for r in (a, b))
    for x, y in zip(pa, pb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)


def with_views(data, views=2):
    """``data`` with ``views`` rows per training clip (offset copies: the clip, then shifted ones)."""
    x = np.repeat(data.x_train, views, axis=0)
    x += np.tile(0.1 * np.arange(views, dtype=np.float32), len(data.x_train))[:, None, None, None]
    return replace(data, x_train=x, y_train=np.repeat(data.y_train, views), views=views)


def test_vmapped_seeds_equal_separate_runs():
    # offset views too: each seed draws its own view of every clip
    data = with_views(toy_data(128, 32))
    runs = seeds(0, 1, 2)
    alone = [fit(s, data) for s in runs]  # without checkpoints: each seed's last epoch
    together = fit_seeds(runs, data)
    for a, b in zip(alone, together, strict=True):
        assert_same_run(a, b)
        assert b.summary["vmapped_seeds"] == [0, 1, 2]
    # the seeds are different runs, and some left the stack before others (patience 2)
    assert alone[0].history["val_loss"].iloc[0] != alone[1].history["val_loss"].iloc[0]
    assert len({len(r.history) for r in alone}) > 1


def test_a_killed_stack_resumes_every_seed_to_the_uninterrupted_result(tmp_path, monkeypatch):
    data = toy_data(96, 32)
    runs = seeds(0, 1, epochs=5, patience=50, sampler="uniform")
    full = fit_seeds(runs, data, [tmp_path / f"full{s.seed}" for s in runs])

    # Killed in epoch 4 between the seeds' checkpoints: seed 0 has saved epoch 4, seed 1
    # epoch 3 (validation is scored seed 0, then seed 1, each epoch).
    dirs = [tmp_path / f"part{s.seed}" for s in runs]
    killed_at_validation(monkeypatch, 8, lambda: fit_seeds(runs, data, dirs))

    resumed = fit_seeds(runs, data, dirs)
    assert [r.summary["resumed_from_epoch"] for r in resumed] == [4, 3]
    for a, b in zip(full, resumed, strict=True):
        assert_same_run(a, b)


def test_a_streamed_split_trains_the_seeds_one_after_another(caplog):
    runs = seeds(0, 1, epochs=1, device_memory_mb=0.01)
    with caplog.at_level("INFO", logger="jaxaudio.training.seeds"):
        results = fit_seeds(runs, toy_data(64, 32))
    assert "one after another" in caplog.text
    assert [len(r.history) for r in results] == [1, 1]
    assert "vmapped_seeds" not in results[0].summary
    assert results[0].history["val_loss"][0] != results[1].history["val_loss"][0]


def test_a_stack_takes_seeds_of_one_run_only():
    with pytest.raises(ValueError, match="distinct seeds"):
        check_seed_group(seeds(0, 0))
    with pytest.raises(ValueError, match="seed 1 differs from seed 0 in lr, patience"):
        check_seed_group([SETTINGS, replace(SETTINGS, seed=1, lr=0.1, patience=3)])
    check_seed_group(seeds(0, 5))
