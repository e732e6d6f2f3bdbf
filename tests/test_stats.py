"""Normalisation statistics come from the training split only, per channel, keyed by name."""

import numpy as np
import pytest

from jaxaudio.stats import channel_stats, stats_arrays


def test_train_split_only_and_per_channel():
    rng = np.random.default_rng(0)
    n_train, n_other = 50, 30
    train = rng.normal(size=(n_train, 3, 4, 6)) * np.array([2.0, 0.5, 0.1])[None, :, None, None] + np.array([-10.0, 1.0, 0.0])[None, :, None, None]
    other = rng.normal(loc=100.0, scale=50.0, size=(n_other, 3, 4, 6))  # val/test: very different
    features = np.concatenate([other[:15], train, other[15:]]).astype(np.float32)
    train_idx = np.arange(15, 15 + n_train)
    stats = channel_stats(features, train_idx, chunk=7)  # chunk not dividing n: exercises chunking
    for k, name in enumerate(["mfcc", "delta", "delta2"]):
        ref = train[:, k].astype(np.float32).astype(np.float64)
        assert stats["channels"][name]["mean"] == pytest.approx(ref.mean(), abs=1e-5)
        assert stats["channels"][name]["std"] == pytest.approx(ref.std(), rel=1e-5)
    assert stats["n_clips"] == n_train
    # with val/test included the statistics would be far off: the check above can fail
    assert abs(features[:, 0].mean() - stats["channels"]["mfcc"]["mean"]) > 10


def test_arrays_by_name_and_zero_std_guard():
    stats = {"channels": {"delta2": {"mean": 3.0, "std": 0.0}, "mfcc": {"mean": 1.0, "std": 2.0}, "delta": {"mean": 2.0, "std": 4.0}}}
    mean, std = stats_arrays(stats)
    np.testing.assert_array_equal(mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(std, [2.0, 4.0, 1.0])
    with pytest.raises(ValueError, match="delta2"):
        stats_arrays({"channels": {"mfcc": {"mean": 0, "std": 1}, "delta": {"mean": 0, "std": 1}}})


def test_no_training_clip_is_an_error():
    with pytest.raises(ValueError, match="no training clips"):
        channel_stats(np.zeros((3, 3, 2, 2), np.float32), [])
