"""Normalisation statistics come from the training split only, per channel, keyed by name."""

import numpy as np
import pytest

from jaxaudio.features.stats import channel_stats, norm_mode, stats_arrays


def test_train_split_only_and_per_channel():
    rng = np.random.default_rng(0)
    n_train, n_other = 50, 30
    train = (
        rng.normal(size=(n_train, 3, 4, 6)) * np.array([2.0, 0.5, 0.1])[None, :, None, None]
        + np.array([-10.0, 1.0, 0.0])[None, :, None, None]
    )
    other = rng.normal(loc=100.0, scale=50.0, size=(n_other, 3, 4, 6))  # val/test: very different
    features = np.concatenate([other[:15], train, other[15:]]).astype(np.float32)
    train_idx = np.arange(15, 15 + n_train)
    stats = channel_stats(features, train_idx, chunk=7)  # chunk not dividing n: exercises chunking
    for k, name in enumerate(["mfcc", "delta", "delta2"]):
        ref = train[:, k].astype(np.float32).astype(np.float64)
        assert stats["channels"][name]["mean"] == pytest.approx(ref.mean(), abs=1e-5)
        assert stats["channels"][name]["std"] == pytest.approx(ref.std(), rel=1e-5)
        # per (channel, coefficient): numpy over clips and frames of the training rows only
        np.testing.assert_allclose(
            stats["coefficients"][name]["mean"], ref.mean(axis=(0, 2)), atol=1e-5
        )
        np.testing.assert_allclose(
            stats["coefficients"][name]["std"], ref.std(axis=(0, 2)), rtol=1e-5
        )
    assert stats["n_clips"] == n_train
    # with val/test included the statistics would be far off: the check above can fail
    assert abs(features[:, 0].mean() - stats["channels"]["mfcc"]["mean"]) > 10


def test_arrays_by_name_and_zero_std_guard():
    stats = {
        "channels": {
            "delta2": {"mean": 3.0, "std": 0.0},
            "mfcc": {"mean": 1.0, "std": 2.0},
            "delta": {"mean": 2.0, "std": 4.0},
        }
    }
    mean, std = stats_arrays(stats)
    assert mean.shape == (3, 1, 1)  # broadcasts against one (C, F, T) stack
    np.testing.assert_array_equal(mean.ravel(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(std.ravel(), [2.0, 4.0, 1.0])
    with pytest.raises(ValueError, match="delta2"):
        stats_arrays({"channels": {"mfcc": {"mean": 0, "std": 1}, "delta": {"mean": 0, "std": 1}}})


def test_no_training_clip_is_an_error():
    with pytest.raises(ValueError, match="no training clips"):
        channel_stats(np.zeros((3, 3, 2, 2), np.float32), [])


def test_per_coefficient_arrays_normalise_each_row_to_unit_variance():
    rng = np.random.default_rng(1)
    scale = np.array(
        [100.0, 3.0, 0.1, 0.0]
    )  # MFCC 0 spans far more than high coefficients; one constant
    x = (rng.normal(size=(40, 3, 4, 9)) * scale[None, None, :, None] + 5.0).astype(np.float32)
    stats = channel_stats(x, np.arange(40))
    mean, std = stats_arrays(stats, "coefficient")
    assert mean.shape == (3, 4, 1)
    z = (x - mean) / std
    np.testing.assert_allclose(z[:, :, :3].std(axis=(0, 3)), 1.0, rtol=1e-4)
    np.testing.assert_allclose(z.mean(axis=(0, 3)), 0.0, atol=1e-4)
    assert np.all(std[:, 3] == 1.0)  # zero-spread coefficient: divide by 1, not 0
    # per-channel statistics leave the coefficients' relative scale in place
    mc, sc = stats_arrays(stats, "channel")
    assert ((x - mc) / sc)[:, 0, 0].std() > 10 * ((x - mc) / sc)[:, 0, 2].std()


def test_norm_mode_accepts_booleans_and_names():
    assert [norm_mode(v) for v in (False, True, "none", "channel", "coefficient")] == [
        "none",
        "channel",
        "none",
        "channel",
        "coefficient",
    ]
    with pytest.raises(ValueError, match="normalise"):
        norm_mode("global")
