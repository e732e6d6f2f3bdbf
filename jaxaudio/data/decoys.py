"""Decoy calls: synthetic call-like sounds of no target species, trained as background.

Why this exists
---------------
A softmax over the known species names one of them for every call it hears, also for the
call of a species it never learnt; in the field those are most of its false detections
(issue 16: 0.5–0.9 detections per unknown-species call). The background set of
:mod:`jaxaudio.data.background` teaches "noise, rain, wind, insects are nothing"; it does
not teach "a call that is none of ours is nothing", because none of its sounds is a call.
*Outlier exposure* (Hendrycks, Mazeika & Dietterich, ICLR 2019) trains a classifier on an
auxiliary set of out-of-distribution examples as "none of the classes", and the rejection
it learns carries over to outliers it never saw. Decoys are such a set that needs no
download: calls of the embedded generator's four families (:mod:`jaxaudio.data.synthetic`:
FM sweeps, harmonic stacks, trills, noise bands), drawn from their own catalogue, at random
pitches and lengths — tonal, structured, call-shaped sounds that are none of the species.

They are *not* for the embedded synthetic data set: its species are calls of the same
families, so a decoy may be one of them (the config check refuses that combination).

Recipe
------
Clip ``i`` (``n = round(seconds · sample_rate)`` samples) draws from
``default_rng(SeedSequence([seed, DECOY_STREAM, i]))``:

* a call type ``k ~ U{0, …, DECOY_TYPES − 1}`` of ``species_catalogue(DECOY_TYPES,
  seed + DECOY_STREAM)``, rendered by :func:`~jaxaudio.data.synthetic.render_call` at pitch
  ``p ~ U(PITCH)`` (every frequency times ``p``) and length ``d ~ U(STRETCH)`` (every note
  and gap times ``d``), peak 1;
* placed at a uniform offset in the clip (cropped at a uniform start when longer;
  :func:`~jaxaudio.data.mixing.place`, as offset copies place calls);
* over pink noise (``S(f) ∝ 1/f``, :func:`~jaxaudio.data.background.synth_background`) at
  ``SNR ~ U(SNR_DB)`` dB, the call's RMS over its own samples against the noise's
  (:func:`~jaxaudio.data.mixing.snr_gain`);
* the mix scaled to RMS ``r``, ``log r ~ U(log BACKGROUND_RMS_RANGE)``, the range of the
  other background clips.

Clip ``i`` depends on ``seed`` and ``i`` only, not on how many clips are made.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from jaxaudio.data.background import BACKGROUND_RMS_RANGE, synth_background
from jaxaudio.data.mixing import place, rms, snr_gain
from jaxaudio.data.synthetic import SpeciesParams, render_call, species_catalogue

__all__ = ["DECOY_TYPES", "decoy_clip", "decoy_clips"]

#: Call types in the decoys' own catalogue.
DECOY_TYPES = 64
#: Seed stream of the decoys (apart from the background clips' ``[seed, i]``).
DECOY_STREAM = 7919
#: Pitch factor range: wider than the synthetic species' ±8 % jitter, for variety.
PITCH = (0.6, 1.6)
#: Length factor range of notes and gaps.
STRETCH = (0.5, 1.5)
#: Call-to-noise ratio range in dB.
SNR_DB = (10.0, 30.0)


@cache
def _catalogue(seed: int) -> tuple[SpeciesParams, ...]:
    return tuple(species_catalogue(DECOY_TYPES, seed + DECOY_STREAM))


def decoy_clip(
    i: int,
    seconds: float,
    sample_rate: int,
    seed: int,
) -> np.ndarray:
    """Decoy clip ``i`` (float32, ``round(seconds · sample_rate)`` samples; module docstring)."""
    n = int(round(seconds * sample_rate))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), DECOY_STREAM, int(i)]))
    types = _catalogue(int(seed))
    call = render_call(
        types[int(rng.integers(DECOY_TYPES))],
        sample_rate,
        rng,
        pitch=float(rng.uniform(*PITCH)),
        duration=float(rng.uniform(*STRETCH)),
    )
    clip, where = place(call, n, rng)
    noise = synth_background("pink", n, sample_rate, rng, rms=1.0)
    clip = clip + snr_gain(clip[where], noise, float(rng.uniform(*SNR_DB))) * noise
    level = float(np.exp(rng.uniform(*np.log(BACKGROUND_RMS_RANGE))))
    return (clip * level / rms(clip)).astype(np.float32)


def decoy_clips(n_clips: int, seconds: float, sample_rate: int, seed: int) -> list[np.ndarray]:
    """Decoy clips ``0 … n_clips − 1``."""
    if n_clips < 0:
        raise ValueError(f"n_clips must be >= 0, got {n_clips}")
    return [decoy_clip(i, seconds, sample_rate, seed) for i in range(n_clips)]
