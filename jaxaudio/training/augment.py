"""Training-time augmentation of feature stacks, inside the jitted train step.

Short bird calls (0.05-0.8 s, zero-padded to the clip length) sit at the start of the clip;
a model that sees them only there learns the position, not the call. The augmentations act
on normalised ``(B, C, F, T)`` batches (C = MFCC, Δ, Δ²; F coefficients; T frames), drawn
independently per clip from one PRNG key:

* **time shift** — circular roll along ``T`` by ``s ~ U{-S, …, S}`` frames (``S =
  time_shift``). Rolling keeps every frame of the call; the zero padding wraps around.
* **SpecAugment masks** (Park et al. 2019) — ``freq_masks`` bands of ``w ~ U{0, …, W_f}``
  consecutive coefficients and ``time_masks`` bands of ``w ~ U{0, …, W_t}`` frames are set
  to the training mean of each channel (``fill``: 0 after normalisation; the raw channel
  mean without it), in every channel alike. Park et al. mask to the mean of normalised
  log-mel; a raw 0 is not neutral (in dB re the clip's peak it is the loudest level).
* **mixup** (Zhang et al. 2018) — ``x̃ = λ x_i + (1 − λ) x_π(i)`` with ``λ ~ Beta(α, α)``
  per batch and ``π`` a random permutation of the batch; the loss is the same mix of the two
  labels' losses (:func:`jaxaudio.training.losses.weighted_soft_cross_entropy` on the
  targets :func:`~jaxaudio.training.losses.mixup_targets` makes).

All shapes are static, so the step compiles once; with every setting at 0 the batch passes
through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from jaxaudio.config.typed import FromDict


@dataclass(frozen=True)
class AugmentSettings(FromDict):
    """Augmentation strengths; 0 switches an augmentation off."""

    time_shift: int = 0
    freq_masks: int = 0
    freq_mask_width: int = 0
    time_masks: int = 0
    time_mask_width: int = 0
    mixup_alpha: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.time_shift or self.masks_active or self.mixup_alpha > 0)

    @property
    def masks_active(self) -> bool:
        return bool(
            self.freq_masks * self.freq_mask_width or self.time_masks * self.time_mask_width
        )


def _band_masks(key: jax.Array, batch: int, n: int, count: int, max_width: int) -> jnp.ndarray:
    """``(batch, n)`` booleans, True inside ``count`` random bands of width ``0..max_width``."""
    k_w, k_s = jax.random.split(key)
    width = jax.random.randint(k_w, (batch, count, 1), 0, max_width + 1)
    start = jax.random.randint(k_s, (batch, count, 1), 0, n) - width // 2
    pos = jnp.arange(n)[None, None, :]
    return jnp.any((pos >= start) & (pos < start + width), axis=1)


def augment_batch(
    key: jax.Array, x: jnp.ndarray, a: AugmentSettings, fill: jnp.ndarray | None = None
) -> jnp.ndarray:
    """Time shift and SpecAugment masks on a ``(B, C, F, T)`` batch (mixup is separate).

    Masked cells take ``fill`` (``(C, 1, 1)``, each channel's training mean in ``x``'s units;
    ``None``: 0, the mean of normalised features).
    """
    fill = jnp.zeros((), x.dtype) if fill is None else fill.astype(x.dtype)
    b, _, f, t = x.shape
    k_shift, k_freq, k_time = jax.random.split(key, 3)
    if a.time_shift:
        shifts = jax.random.randint(k_shift, (b,), -a.time_shift, a.time_shift + 1)
        idx = (jnp.arange(t)[None, :] - shifts[:, None]) % t  # out[..., j] = x[..., j - s]
        x = jnp.take_along_axis(x, idx[:, None, None, :], axis=-1)
    if a.freq_masks and a.freq_mask_width:
        band = _band_masks(k_freq, b, f, a.freq_masks, a.freq_mask_width)
        x = jnp.where(band[:, None, :, None], fill, x)
    if a.time_masks and a.time_mask_width:
        band = _band_masks(k_time, b, t, a.time_masks, a.time_mask_width)
        x = jnp.where(band[:, None, None, :], fill, x)
    return x


def mixup(
    key: jax.Array, x: jnp.ndarray, alpha: float
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """``(x̃, π, λ)``: the batch mixed with a permutation of itself, and the mixing terms."""
    k_lam, k_perm = jax.random.split(key)
    lam = jax.random.beta(k_lam, alpha, alpha)
    perm = jax.random.permutation(k_perm, x.shape[0])
    return lam * x + (1.0 - lam) * x[perm], perm, lam
