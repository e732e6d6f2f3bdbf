"""Normalisation statistics from the training split only: per channel and per coefficient.

The feature cache is ``(N, C, F, T)`` (channels named by ``FeatureConfig.channels``: MFCC, Δ,
Δ² by default; ``F`` coefficients or mel bands). For each channel ``k`` the
statistics are taken over every training clip, coefficient and frame:

    mean_k = E[x[:, k]],   std_k = sqrt(E[(x[:, k] - mean_k)^2])

and, finer, for each channel ``k`` and coefficient ``f`` over clips and frames:

    mean_kf = E[x[:, k, f]],   std_kf = sqrt(E[(x[:, k, f] - mean_kf)^2])

Per-channel statistics keep the relative scale of the coefficients (MFCC 0, the log energy,
spans hundreds of units while high coefficients span a few); per-coefficient statistics
give every coefficient unit variance, which a linear or convolutional model usually prefers.

computed in float64 over chunks so that a memory-mapped cache of any size is read once
without loading it whole. Validation and test clips never contribute (that would leak test
information into the model). The JSON is keyed by channel name, never by position.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

CHANNELS = ("mfcc", "delta", "delta2")


def channel_stats(
    features: np.ndarray,
    train_index: Sequence[int] | np.ndarray,
    channels: Sequence[str] = CHANNELS,
    chunk: int = 1024,
) -> dict[str, Any]:
    """Mean and population std of each channel over the clips in ``train_index``."""
    idx = np.sort(np.asarray(train_index, dtype=np.int64))
    if idx.size == 0:
        raise ValueError("no training clips: cannot compute normalisation statistics")
    if features.shape[1] != len(channels):
        raise ValueError(
            f"features have {features.shape[1]} channels, expected {len(channels)} ({channels})"
        )
    _, k, f, t = features.shape
    total = np.zeros((k, f))
    for start in range(0, idx.size, chunk):
        total += np.asarray(features[idx[start : start + chunk]], dtype=np.float64).sum(axis=(0, 3))
    mean_kf = total / (idx.size * t)
    mean_k = mean_kf.mean(axis=1)
    sq_kf, sq_k = np.zeros((k, f)), np.zeros(k)
    for start in range(0, idx.size, chunk):  # second pass: numerically stable variance
        x = np.asarray(features[idx[start : start + chunk]], dtype=np.float64)
        sq_kf += ((x - mean_kf[None, :, :, None]) ** 2).sum(axis=(0, 3))
        sq_k += ((x - mean_k[None, :, None, None]) ** 2).sum(axis=(0, 2, 3))
    std_kf, std_k = np.sqrt(sq_kf / (idx.size * t)), np.sqrt(sq_k / (idx.size * f * t))
    return {
        "split": "train",
        "n_clips": int(idx.size),
        "channel_order": list(channels),  # the cache's channel axis, by name
        "channels": {
            name: {"mean": float(m), "std": float(s)} for name, m, s in zip(channels, mean_k, std_k)
        },
        "coefficients": {
            name: {"mean": m.tolist(), "std": s.tolist()}
            for name, m, s in zip(channels, mean_kf, std_kf)
        },
    }


def save_stats(stats: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(stats, indent=2) + "\n")


#: ``normalise`` modes (the config's ``false`` / ``true`` are ``none`` / ``channel``).
NormMode = Literal["none", "channel", "coefficient"]
NORM_MODES: tuple[str, ...] = get_args(NormMode)


def norm_mode(normalise: bool | str) -> str:
    """The config's ``normalise`` as a mode: ``false`` → ``none``, ``true`` → ``channel``."""
    mode = (
        {False: "none", True: "channel"}.get(normalise, normalise)
        if isinstance(normalise, bool)
        else normalise
    )
    if mode not in NORM_MODES:
        raise ValueError(f"normalise must be true, false or one of {NORM_MODES}, got {normalise!r}")
    return mode


def stats_arrays(
    stats: dict[str, Any], mode: str = "channel", channels: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` float32 in ``channels`` order (``None``: the statistics' own
    ``channel_order``, the cache's), looked up by name, shaped to broadcast
    against one ``(C, F, T)`` stack: ``(C, 1, 1)`` for ``mode="channel"``, ``(C, F, 1)`` for
    ``"coefficient"``.

    A channel (coefficient) with zero spread gets std 1 so normalising never divides by 0.
    """
    key = {"channel": "channels", "coefficient": "coefficients"}[mode]
    channels = stats_channels(stats) if channels is None else channels
    missing = [c for c in channels if c not in stats.get(key, {})]
    if missing:
        raise ValueError(f"normalisation statistics lack {key} {missing}")
    mean = np.asarray([stats[key][c]["mean"] for c in channels], dtype=np.float32)
    std = np.asarray([stats[key][c]["std"] for c in channels], dtype=np.float32)
    return broadcastable(mean), broadcastable(np.where(std > 0, std, 1.0))


def stats_channels(stats: dict[str, Any]) -> list[str]:
    """The channels of the cache the statistics were taken on, in its order."""
    return list(stats.get("channel_order", CHANNELS))


def broadcastable(a: np.ndarray | list) -> np.ndarray:
    """Per-channel ``(C,)`` or per-coefficient ``(C, F)`` statistics as ``(C, 1|F, 1)`` float32."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        return a[:, None, None]
    if a.ndim == 2:
        return a[:, :, None]
    if a.ndim == 3:
        return a
    raise ValueError(f"normalisation statistics must have 1-3 dimensions, got shape {a.shape}")
