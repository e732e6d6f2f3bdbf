"""Synthetic "no species" background sound: coloured noise, rain, wind, insects, silence.

Why this exists
---------------
A classifier that only ever saw labelled calls has no notion of "nothing here": run over a
long field recording it must still say something for every window. These recipes give it
(and the soundscape renderer, :mod:`jaxaudio.data.soundscape`) backgrounds with the
statistics of real ones — spectral slope, impulsiveness, low-frequency rumble, tonal
insect choruses — without downloading anything.

Recipes
-------
``w[n]`` is white Gaussian noise, ``W[k]`` its real FFT, ``f_k`` the bin frequencies.

``white``
    ``x = w``: flat power spectrum, ``S(f) ∝ f^0``.
``pink`` / ``brown``
    Spectral shaping: ``X[k] = W[k] · max(f_k, f_lo)^(-α/2)`` with ``α = 1`` (pink,
    ``S(f) ∝ 1/f``, -3 dB/octave) or ``α = 2`` (brown, ``S(f) ∝ 1/f²``, -6 dB/octave), the
    DC bin set to 0 and ``x = irfft(X)``. Below ``f_lo`` = :data:`COLOURED_FLOOR_HZ` the
    shaping is flat, as behind a microphone's high-pass, so sub-audio drift does not own
    the RMS.
``rain``
    Shot noise of drop impacts over a faint pink bed. Impact times form a Poisson process
    of rate ``λ ~ U(20, 200)`` /s; impact ``i`` has amplitude ``a_i ~ LogNormal(0, σ)``,
    ``σ ~ U(0.8, 1.2)`` (heavy right tail: a few big drops). The envelope
    ``e(t) = Σ_i a_i exp(-(t - t_i)/τ) u(t - t_i)``, ``τ ~ U(0.5, 2)`` ms, is the impulse
    train through the one-pole filter ``e[n] = p[n] + exp(-1/(τ f_s)) e[n-1]``; each
    impact is broadband: ``x = w · e``. Then ``x += b · pink``, with the bed's RMS
    ``b ~ U(0.05, 0.15)`` times the impacts' RMS. Excess kurtosis is about
    ``3 exp(4σ²) / (λτ)`` — far above Gaussian noise's 0.
``wind``
    Turbulent rumble: pink noise through a 4th-order Butterworth low-pass at
    ``f_c ~ U(250, 450)`` Hz, times a gust envelope ``g(t) = exp(d · s(t))``,
    ``s(t) = sqrt(2/3) Σ_{j=1..3} sin(2π ν_j t + φ_j)`` (unit variance),
    ``ν_j ~ U(0.1, 1)`` Hz, depth ``d ~ U(0.3, 0.8)``.
``insects``
    A stridulating chorus: ``B ~ {1, 2, 3}`` tones ``f_b ~ U(f_min, f_max)`` with
    ``f_max = min(9 kHz, 0.8 · Nyquist)``, ``f_min = min(3 kHz, f_max / 2)``, each gated by
    a pulse train of rate ``r_b ~ U(10, 60)`` Hz and duty cycle ``δ_b ~ U(0.3, 0.7)``:
    ``x_b(t) = c_b · p(frac(r_b t + θ_b)) · sin(2π f_b t + φ_b)`` with the smooth pulse
    ``p(u) = sin²(π u / δ)`` for ``u < δ``, else 0, and level ``c_b ~ U(0.5, 1)``. Over a
    white bed at 3 % of the tones' RMS (-30 dB).
``silence``
    White noise at a fixed RMS of :data:`SILENCE_RMS` (= 1e-4, -80 dBFS), **ignoring the
    ``rms`` argument**: digital zeros would make log-spectrogram features ``-inf``.

Every kind but ``silence`` is finally scaled to the requested RMS,
``x ← x · rms / sqrt(mean(x²))``. All randomness comes from the ``rng`` passed in, so the
same generator state gives the same samples.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from scipy import signal

__all__ = [
    "BACKGROUND_KINDS",
    "BACKGROUND_RMS_RANGE",
    "COLOURED_FLOOR_HZ",
    "SILENCE_RMS",
    "BackgroundKind",
    "synth_background",
    "synthetic_background_clips",
]

BackgroundKind = Literal["pink", "brown", "white", "rain", "wind", "insects", "silence"]
#: All kinds, in the order :func:`synthetic_background_clips` cycles through them.
BACKGROUND_KINDS: tuple[str, ...] = get_args(BackgroundKind)

#: Below this frequency (Hz) the 1/f^α shaping of pink and brown noise is flat.
COLOURED_FLOOR_HZ = 20.0
#: RMS of ``silence`` (-80 dBFS), whatever ``rms`` is asked for.
SILENCE_RMS = 1e-4
#: The range (log-uniform) of the training background clips' RMS: -46 to -26 dBFS.
BACKGROUND_RMS_RANGE = (0.005, 0.05)


def _scaled(x: np.ndarray, rms: float) -> np.ndarray:
    """``x · rms / RMS(x)`` as float32 (an all-zero ``x`` stays zero)."""
    power = float(np.mean(np.square(x, dtype=np.float64)))
    gain = rms / np.sqrt(power) if power > 0 else 0.0
    return (x * gain).astype(np.float32)


def _coloured(alpha: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """White noise shaped to ``S(f) ∝ max(f, f_lo)^-alpha`` in the frequency domain, DC removed."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    shaping = np.maximum(f, COLOURED_FLOOR_HZ) ** (-alpha / 2.0)
    shaping[0] = 0.0
    return np.fft.irfft(spectrum * shaping, n)


def _rain(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson train of exponentially decaying broadband impacts over a faint pink bed."""
    rate, sigma = rng.uniform(20.0, 200.0), rng.uniform(0.8, 1.2)
    tau = rng.uniform(0.5e-3, 2e-3)
    n_drops = rng.poisson(rate * n / sr)
    train = np.zeros(n)
    np.add.at(train, rng.integers(0, n, n_drops), rng.lognormal(0.0, sigma, n_drops))
    envelope = signal.lfilter([1.0], [1.0, -np.exp(-1.0 / (tau * sr))], train)
    impacts = rng.standard_normal(n) * envelope
    bed = _scaled(_coloured(1.0, n, sr, rng), 1.0)
    impact_rms = float(np.sqrt(np.mean(impacts**2)))
    return impacts + rng.uniform(0.05, 0.15) * impact_rms * bed


def _wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Low-passed pink noise under a slow log-normal gust envelope."""
    cutoff = min(rng.uniform(250.0, 450.0), 0.45 * sr)
    sos = signal.butter(4, cutoff, btype="low", fs=sr, output="sos")
    rumble = signal.sosfilt(sos, _coloured(1.0, n, sr, rng))
    t = np.arange(n) / sr
    nu, phi = rng.uniform(0.1, 1.0, 3), rng.uniform(0.0, 2 * np.pi, 3)
    s = np.sqrt(2.0 / 3.0) * np.sin(2 * np.pi * nu[:, None] * t + phi[:, None]).sum(axis=0)
    return rumble * np.exp(rng.uniform(0.3, 0.8) * s)


def _insects(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One to three pulse-gated tones (stridulation) over a -30 dB white bed."""
    f_max = min(9000.0, 0.8 * sr / 2)
    f_min = min(3000.0, f_max / 2)
    t = np.arange(n) / sr
    chorus = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        f, rate, duty = rng.uniform(f_min, f_max), rng.uniform(10.0, 60.0), rng.uniform(0.3, 0.7)
        u = np.mod(rate * t + rng.uniform(), 1.0)
        gate = np.where(u < duty, np.sin(np.pi * u / duty) ** 2, 0.0)
        chorus += (
            rng.uniform(0.5, 1.0) * gate * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        )
    bed = _scaled(rng.standard_normal(n), 0.03 * float(np.sqrt(np.mean(chorus**2))))
    return chorus + bed


def synth_background(
    kind: BackgroundKind,
    n_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    rms: float = 0.02,
) -> np.ndarray:
    """``n_samples`` of background ``kind`` at ``sample_rate`` Hz, float32 mono, RMS ``rms``.

    The recipes and their maths are in the module docstring. ``silence`` ignores ``rms``
    and has RMS :data:`SILENCE_RMS`. Deterministic given the state of ``rng``.
    """
    if kind not in BACKGROUND_KINDS:
        raise ValueError(
            f"unknown background kind {kind!r}; use one of {', '.join(BACKGROUND_KINDS)}"
        )
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be >= 1 Hz, got {sample_rate}")
    if not rms > 0:
        raise ValueError(f"rms must be > 0, got {rms}")
    n, sr = int(n_samples), int(sample_rate)
    if kind == "silence":
        return _scaled(rng.standard_normal(n), SILENCE_RMS)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        x = _coloured(1.0 if kind == "pink" else 2.0, n, sr, rng)
    elif kind == "rain":
        x = _rain(n, sr, rng)
    elif kind == "wind":
        x = _wind(n, sr, rng)
    else:
        x = _insects(n, sr, rng)
    return _scaled(x, rms)


def synthetic_background_clips(
    n_clips: int,
    seconds: float,
    sample_rate: int,
    seed: int,
    rms_range: tuple[float, float] = BACKGROUND_RMS_RANGE,
) -> list[tuple[str, np.ndarray]]:
    """``n_clips`` "no species" training clips as ``(kind, samples)`` pairs.

    Clip ``i`` is of kind ``BACKGROUND_KINDS[i % 7]`` (pink, brown, white, rain, wind,
    insects, silence, pink, ...), ``round(seconds · sample_rate)`` samples long, with its
    own random recipe parameters and an RMS drawn log-uniformly from ``rms_range``
    (``silence`` stays at :data:`SILENCE_RMS`). Clip ``i``'s generator is seeded by
    ``SeedSequence([seed, i])``, so a clip does not depend on how many others are made.
    """
    if n_clips < 0:
        raise ValueError(f"n_clips must be >= 0, got {n_clips}")
    lo, hi = rms_range
    if not 0 < lo <= hi:
        raise ValueError(f"rms_range must satisfy 0 < low <= high, got {rms_range}")
    n = int(round(seconds * sample_rate))
    clips = []
    for i in range(n_clips):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
        kind = BACKGROUND_KINDS[i % len(BACKGROUND_KINDS)]
        rms = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        clips.append((kind, synth_background(kind, n, sample_rate, rng, rms=rms)))
    return clips
