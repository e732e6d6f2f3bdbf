"""Augmentations against numpy references: roll, band masks, mixup."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxaudio.training.augment import AugmentSettings, augment_batch, mixup


def batch(b=6, c=3, f=10, t=20, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(b, c, f, t)).astype(np.float32))


def test_all_off_is_identity():
    x = batch()
    assert not AugmentSettings().active
    np.testing.assert_array_equal(augment_batch(jax.random.key(0), x, AugmentSettings()), x)


def test_time_shift_is_a_per_clip_circular_roll_within_range():
    x = batch(b=16)
    y = np.asarray(augment_batch(jax.random.key(1), x, AugmentSettings(time_shift=3)))
    shifts = []
    for i in range(16):
        # the matching np.roll must exist and reproduce every channel and coefficient
        found = [
            s for s in range(-3, 4) if np.array_equal(y[i], np.roll(np.asarray(x[i]), s, axis=-1))
        ]
        assert len(found) == 1, f"clip {i} is not a roll by -3..3"
        shifts.append(found[0])
    assert len(set(shifts)) > 1  # drawn per clip, not one shift for the batch


def test_masks_zero_whole_bands_across_channels():
    x = batch(b=32) + 10.0  # no natural zeros
    a = AugmentSettings(freq_masks=1, freq_mask_width=3, time_masks=2, time_mask_width=4)
    y = np.asarray(augment_batch(jax.random.key(2), x, a))
    zero = y == 0.0
    assert zero.any()
    # a zeroed cell is zero in all channels (same mask for MFCC, Δ, Δ²); the rest untouched
    assert np.array_equal(zero[:, 0], zero[:, 1]) and np.array_equal(zero[:, 0], zero[:, 2])
    np.testing.assert_array_equal(y[~zero], np.asarray(x)[~zero])
    for i in range(32):
        rows = np.flatnonzero(zero[i, 0].all(axis=1))  # fully masked coefficient rows
        assert len(rows) <= 3
        cols = np.flatnonzero(zero[i, 0].all(axis=0))  # fully masked frames
        assert len(cols) <= 2 * 4
        # every zero cell lies in a masked row or a masked column
        r, c = np.nonzero(zero[i, 0])
        assert np.all(np.isin(r, rows) | np.isin(c, cols))


def test_masks_fill_each_channel_with_its_given_mean():
    # raw (not normalised) features: a masked cell takes its channel's training mean, not 0,
    # which for a log-mel in dB re the clip's peak is its loudest level
    x = batch(b=16) - 40.0
    fill = jnp.asarray([-35.0, 0.5, -0.25]).reshape(3, 1, 1)
    a = AugmentSettings(freq_masks=2, freq_mask_width=4, time_masks=1, time_mask_width=5)
    y = np.asarray(augment_batch(jax.random.key(4), x, a, fill))
    plain = np.asarray(augment_batch(jax.random.key(4), x, a))  # same key: same bands, 0 fill
    masked = plain == 0.0
    assert masked.any() and masked.sum() < masked.size
    for c, value in enumerate([-35.0, 0.5, -0.25]):
        np.testing.assert_array_equal(y[:, c][masked[:, c]], value)
    np.testing.assert_array_equal(y[~masked], np.asarray(x)[~masked])


def test_mixup_is_convex_combination_with_a_permutation():
    x = batch(b=8)
    xm, perm, lam = mixup(jax.random.key(3), x, 0.4)
    perm, lam = np.asarray(perm), float(lam)
    assert sorted(perm.tolist()) == list(range(8)) and 0.0 <= lam <= 1.0
    np.testing.assert_allclose(
        xm, lam * np.asarray(x) + (1 - lam) * np.asarray(x)[perm], rtol=1e-5, atol=1e-6
    )


def test_unknown_key_is_rejected():
    with pytest.raises(ValueError, match="time_stretch"):
        AugmentSettings.from_dict({"time_stretch": 2})
