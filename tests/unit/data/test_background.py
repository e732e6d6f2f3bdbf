"""Tests for jaxaudio.data.background: synthetic "no species" background sound.

Each kind is checked against an independent physical reference computed here with
scipy: the log-log slope of a Welch spectrum, the kurtosis of the samples, where the power
lies in frequency, the spectral flatness — never against the module's own helpers.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal, stats

from jaxaudio.data.background import (
    BACKGROUND_KINDS,
    synth_background,
    synthetic_background_clips,
)

SR = 22050
N = 4 * SR
SEEDS = (0, 1, 2)


def make(kind: str, seed: int = 0, rms: float = 0.02, n: int = N, sr: int = SR) -> np.ndarray:
    return synth_background(kind, n, sr, np.random.default_rng(seed), rms=rms)


def psd(x: np.ndarray, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    return signal.welch(x, sr, nperseg=4096)


def slope(x: np.ndarray) -> float:
    """Least-squares slope of log power against log frequency between 50 Hz and 5 kHz."""
    f, p = psd(x)
    band = (f >= 50) & (f <= 5000)
    return float(np.polyfit(np.log(f[band]), np.log(p[band]), 1)[0])


def power_share(x: np.ndarray, lo: float, hi: float) -> float:
    f, p = psd(x)
    return float(p[(f >= lo) & (f < hi)].sum() / p.sum())


def flatness(x: np.ndarray) -> float:
    """Geometric over arithmetic mean of the Welch spectrum (1 for flat, → 0 for tones)."""
    p = psd(x)[1][1:]
    return float(np.exp(np.mean(np.log(p))) / np.mean(p))


def test_kinds_are_the_seven_named_ones():
    assert BACKGROUND_KINDS == ("pink", "brown", "white", "rain", "wind", "insects", "silence")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind, expected", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_coloured_noise_has_its_spectral_slope(kind, expected, seed):
    assert slope(make(kind, seed)) == pytest.approx(expected, abs=0.25)


@pytest.mark.parametrize("seed", SEEDS)
def test_rain_is_impulsive(seed):
    assert stats.kurtosis(make("rain", seed)) > 10  # excess kurtosis; Gaussian noise: 0
    assert abs(stats.kurtosis(make("white", seed))) < 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_wind_power_is_below_500_hz(seed):
    assert power_share(make("wind", seed), 0, 500) > 0.8


@pytest.mark.parametrize("seed", SEEDS)
def test_wind_is_gusty(seed):
    """A slow envelope: the RMS of 0.5 s windows varies far more than white noise's."""

    def window_rms(x: np.ndarray) -> np.ndarray:
        return np.sqrt(np.mean(x[: len(x) // (SR // 2) * (SR // 2)].reshape(-1, SR // 2) ** 2, 1))

    gust = window_rms(make("wind", seed, n=10 * SR))
    calm = window_rms(make("white", seed, n=10 * SR))
    assert gust.std() / gust.mean() > 5 * calm.std() / calm.mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_insects_are_high_and_tonal(seed):
    x = make("insects", seed)
    assert power_share(x, 2500, SR / 2 + 1) > 0.8
    assert flatness(x) < 0.1 * flatness(make("white", seed))


@pytest.mark.parametrize("sr", [8000, 16000, 44100])
def test_insect_bands_stay_below_nyquist(sr):
    x = make("insects", 3, n=2 * sr, sr=sr)
    f, p = signal.welch(x, sr, nperseg=2048)
    peak = f[np.argmax(p)]
    assert 0.25 * sr / 2 < peak < 0.85 * sr / 2
    assert np.all(np.isfinite(x))


def test_silence_is_very_faint_whatever_rms_is_asked():
    for rms in (0.02, 0.5):
        x = make("silence", rms=rms)
        assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) < 1e-3
        assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) > 1e-6
        assert np.all(np.isfinite(np.log(np.abs(np.fft.rfft(x))[1:])))  # log features stay finite


@pytest.mark.parametrize("kind", [k for k in BACKGROUND_KINDS if k != "silence"])
@pytest.mark.parametrize("rms", [0.001, 0.02, 0.3])
def test_rms_is_honoured(kind, rms):
    x = make(kind, rms=rms, n=SR)
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(rms, rel=1e-3)


@pytest.mark.parametrize("kind", BACKGROUND_KINDS)
def test_deterministic_finite_float32_mono(kind):
    a, b = make(kind, seed=7, n=SR), make(kind, seed=7, n=SR)
    assert a.dtype == np.float32 and a.shape == (SR,)
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make(kind, seed=8, n=SR))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(kind="thunder"), "unknown background kind"),
        (dict(n_samples=0), "n_samples"),
        (dict(rms=0.0), "rms"),
        (dict(sample_rate=0), "sample_rate"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, words):
    args = dict(kind="pink", n_samples=100, sample_rate=SR, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=words):
        synth_background(**{**args, **kwargs})


def test_training_clips_cycle_the_kinds_deterministically():
    clips = synthetic_background_clips(9, 0.5, SR, seed=3)
    kinds = [k for k, _ in clips]
    assert kinds == list(BACKGROUND_KINDS) + list(BACKGROUND_KINDS[:2])
    for _, x in clips:
        assert x.dtype == np.float32 and x.shape == (round(0.5 * SR),) and np.all(np.isfinite(x))
    again = synthetic_background_clips(9, 0.5, SR, seed=3)
    for (_, x), (_, y) in zip(clips, again):
        np.testing.assert_array_equal(x, y)
    # A clip does not depend on how many are made; a different seed changes it.
    np.testing.assert_array_equal(synthetic_background_clips(2, 0.5, SR, seed=3)[1][1], clips[1][1])
    assert not np.array_equal(synthetic_background_clips(1, 0.5, SR, seed=4)[0][1], clips[0][1])
    # Two clips of the same kind get their own parameters (here: their own RMS).
    rms = [np.sqrt(np.mean(x.astype(np.float64) ** 2)) for _, x in (clips[0], clips[7])]
    assert rms[0] != pytest.approx(rms[1], rel=1e-3)
    assert all(0.005 <= r <= 0.05 for r in rms)
