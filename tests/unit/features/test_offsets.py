"""Offset copies (:mod:`jaxaudio.features.offsets`): where a call lands in its window, the
background's level, determinism, the copies' rows, and the interleaved views a training split
reads (:class:`jaxaudio.features.streaming.ClipViews`)."""

import numpy as np
import pytest

from jaxaudio.data.mixing import place, snr_gain
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.offsets import (
    OffsetSettings,
    copy_rows,
    offset_copy,
    offset_windows,
)
from jaxaudio.features.streaming import ClipViews, NpyRows


def test_a_short_call_lands_whole_anywhere_in_the_window():
    call = np.arange(1, 101, dtype=np.float32)  # 100 samples, no zero inside
    starts = set()
    for seed in range(3000):
        w, where = place(call, 400, np.random.default_rng(seed))
        o = int(np.flatnonzero(w)[0])
        np.testing.assert_array_equal(w[o : o + 100], call)  # the whole call, unchanged
        assert np.count_nonzero(w) == 100 and where == slice(o, o + 100)
        starts.add(o)
    assert min(starts) == 0 and max(starts) == 300  # o ~ U{0, ..., n - L}: both ends reached
    assert (
        len(starts) == 301
    )  # every offset occurs  # spread over the window, not a few fixed places


def test_a_long_signal_is_cropped_at_a_random_place():
    y = np.arange(1000, dtype=np.float32)
    crops = {int(place(y, 400, np.random.default_rng(s))[0][0]) for s in range(200)}
    assert min(crops) >= 0 and max(crops) <= 600 and len(crops) > 50
    w, where = place(y, 400, np.random.default_rng(0))
    np.testing.assert_array_equal(w, np.arange(w[0], w[0] + 400))  # consecutive samples
    assert where == slice(0, 400)


def test_snr_gain_gives_the_asked_ratio():
    rng = np.random.default_rng(0)
    s, b = rng.normal(0, 0.3, 500), rng.normal(0, 2.0, 500)
    g = snr_gain(s, b, 6.0)
    ratio = 20 * np.log10(np.sqrt(np.mean(s**2)) / np.sqrt(np.mean((g * b) ** 2)))
    assert ratio == pytest.approx(6.0, abs=1e-9)
    assert snr_gain(np.zeros(10), b, 6.0) == 0.0 and snr_gain(s, np.zeros(10), 6.0) == 0.0


def test_a_copy_mixes_background_at_an_snr_in_range_or_stays_clean():
    call = np.sin(np.linspace(0, 60, 200)).astype(np.float32)
    background = [np.random.default_rng(1).normal(0, 1, 3000).astype(np.float32)]
    s = OffsetSettings(copies=1, snr_db=[3.0, 9.0], clean_fraction=0.5, level_db=None)
    clean = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        w = offset_copy(call, 1000, background, s, rng)
        placed, where = place(call, 1000, np.random.default_rng(seed))  # same first draw
        noise = w - placed
        if not noise.any():
            clean += 1
            continue
        snr = 20 * np.log10(
            np.sqrt(np.mean(placed[where] ** 2)) / np.sqrt(np.mean(noise.astype(np.float64) ** 2))
        )
        assert 3.0 - 1e-4 <= snr <= 9.0 + 1e-4
    assert 60 < clean < 140  # clean_fraction 0.5 of 200 (binomial sd 7)
    # without a background set every copy is clean
    w = offset_copy(call, 1000, [], s, np.random.default_rng(0))
    assert np.count_nonzero(w) == np.count_nonzero(call)


def test_copies_are_the_same_on_every_call_and_clip_major():
    cfg = FeatureConfig(sample_rate=8000, clip_seconds=0.25)  # n = 2000
    signals = [np.full(300, i + 1, np.float32) for i in range(3)]
    s = OffsetSettings(copies=2, clean_fraction=1.0, level_db=None)
    a = offset_windows(signals, [], cfg, s)
    b = offset_windows(signals[1:], [], cfg, s, first=1)  # a chunk starting at clip 1
    assert a.shape == (6, 2000)
    np.testing.assert_array_equal(a[2:], b)  # copy k of clip i depends on (seed, i, k) only
    for i in range(3):
        assert set(np.unique(a[2 * i : 2 * i + 2])) == {0.0, i + 1.0}  # rows 2i, 2i+1: clip i
    c = offset_windows(
        signals, [], cfg, OffsetSettings(copies=2, clean_fraction=1.0, level_db=None, seed=1)
    )
    assert not np.array_equal(a, c)


def test_copy_rows():
    np.testing.assert_array_equal(copy_rows(np.array([2, 0]), 3), [6, 7, 8, 0, 1, 2])


def test_settings_are_checked_with_the_key():
    with pytest.raises(ValueError, match="offsets.snr_db"):
        OffsetSettings(snr_db=[10.0, 0.0]).check()
    with pytest.raises(ValueError, match="offsets.clean_fraction"):
        OffsetSettings(clean_fraction=1.5).check()
    with pytest.raises(ValueError, match="offsets.copies"):
        OffsetSettings(copies=-1).check()
    with pytest.raises(ValueError, match="offsets.level_db"):
        OffsetSettings(level_db=[-10.0, 6.0]).check()


def test_a_copys_call_is_at_a_level_in_range_and_keeps_its_snr():
    """The call's RMS over its own samples, measured back in dBFS, lies in level_db and spreads
    over it; the background scaled with it keeps the SNR drawn; level_db: null is the copy
    without scaling (same draws before it)."""
    call = (0.3 * np.sin(np.linspace(0, 60, 200))).astype(np.float32)
    background = [np.random.default_rng(1).normal(0, 1, 3000).astype(np.float32)]
    s = OffsetSettings(copies=1, snr_db=[3.0, 9.0], clean_fraction=0.0, level_db=[-40.0, -20.0])
    unscaled = OffsetSettings(copies=1, snr_db=[3.0, 9.0], clean_fraction=0.0, level_db=None)
    levels = []
    for seed in range(300):
        w = offset_copy(call, 1000, background, s, np.random.default_rng(seed))
        w0 = offset_copy(call, 1000, background, unscaled, np.random.default_rng(seed))
        placed, where = place(call, 1000, np.random.default_rng(seed))
        g = np.sqrt(np.mean(w[where].astype(np.float64) ** 2)) / np.sqrt(
            np.mean(w0[where].astype(np.float64) ** 2)
        )
        np.testing.assert_allclose(w, g * w0, rtol=1e-5, atol=1e-9)  # one gain for call + noise
        call_db = 20 * np.log10(g * np.sqrt(np.mean(placed[where].astype(np.float64) ** 2)))
        assert -40.0 - 1e-3 <= call_db <= -20.0 + 1e-3
        levels.append(call_db)
    # U(-40, -20): a quarter of the range holds about a quarter of the copies (sd 2.5 %)
    assert 0.15 < np.mean(np.asarray(levels) < -35.0) < 0.35


def test_clip_views_interleave_each_clip_with_its_copies(tmp_path):
    aligned = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1) * 10  # clip i: 10 i
    copies = (aligned.repeat(2, 0) + np.tile([[[[1]]], [[[2]]]], (4, 1, 1, 1))).astype(np.float32)
    np.save(tmp_path / "a.npy", aligned)
    np.save(tmp_path / "c.npy", copies)
    views = ClipViews(
        NpyRows(tmp_path / "a.npy", [3, 1]), NpyRows(tmp_path / "c.npy", [6, 7, 2, 3])
    )
    assert views.views == 3 and len(views) == 6 and views.shape == (6, 1, 1, 1)
    expected = [30, 31, 32, 10, 11, 12]  # clip 3, its copies, clip 1, its copies
    np.testing.assert_array_equal(np.asarray(views).ravel(), expected)
    np.testing.assert_array_equal(views[np.array([5, 0, 4])].ravel(), [12, 30, 11])
    assert float(views[2].ravel()[0]) == 32
    with pytest.raises(ValueError, match="do not divide"):
        ClipViews(aligned, copies[:5])


def test_level_splits_level_only_the_copies_of_those_splits():
    """level_splits [val, test]: a train clip's copies are bit for bit those of level_db
    null (the level is drawn last, after every other draw); a val clip's call lies in the
    range."""
    cfg = FeatureConfig(sample_rate=8000, clip_seconds=0.25)
    signals = [(0.3 * np.sin(np.linspace(0, 90, 300))).astype(np.float32) for _ in range(2)]
    background = [np.random.default_rng(1).normal(0, 1, 3000).astype(np.float32)]
    lv = OffsetSettings(copies=3, level_db=[-40.0, -30.0], level_splits=["val", "test"])
    plain = OffsetSettings(copies=3, level_db=None)
    w = offset_windows(signals, background, cfg, lv, splits=["train", "val"])
    w0 = offset_windows(signals, background, cfg, plain, splits=["train", "val"])
    np.testing.assert_array_equal(w[:3], w0[:3])  # clip 0 (train): untouched
    assert not np.array_equal(w[3:], w0[3:])
    for k in range(3, 6):  # clip 1 (val): one gain g with g * rms(call) in [-40, -30] dBFS
        g = np.linalg.norm(w[k]) / np.linalg.norm(w0[k])
        np.testing.assert_allclose(w[k], g * w0[k], rtol=1e-5, atol=1e-9)
        db = 20 * np.log10(g * np.sqrt(np.mean(signals[1].astype(np.float64) ** 2)))
        assert -40.0 - 1e-3 <= db <= -30.0 + 1e-3
    # splits=None: every clip's copies are leveled, as before the key
    np.testing.assert_array_equal(
        offset_windows(signals, background, cfg, lv)[3:],
        w[3:],
    )
    with pytest.raises(ValueError, match="offsets.level_splits"):
        OffsetSettings(level_splits=["validation"]).check()
