"""Per-channel normalisation statistics from the training split only.

The feature cache is ``(N, 3, F, T)`` (channels MFCC, Δ, Δ²). For each channel ``k`` the
statistics are taken over every training clip, coefficient and frame:

    mean_k = E[x[:, k]],   std_k = sqrt(E[(x[:, k] - mean_k)^2])

computed in float64 over chunks so that a memory-mapped cache of any size is read once
without loading it whole. Validation and test clips never contribute (that would leak test
information into the model). The JSON is keyed by channel name, never by position.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        raise ValueError(f"features have {features.shape[1]} channels, expected {len(channels)} ({channels})")
    k = features.shape[1]
    total = np.zeros(k)
    total_sq = np.zeros(k)
    count = 0
    for start in range(0, idx.size, chunk):
        x = np.asarray(features[idx[start : start + chunk]], dtype=np.float64)
        total += x.sum(axis=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    for start in range(0, idx.size, chunk):  # second pass: numerically stable variance
        x = np.asarray(features[idx[start : start + chunk]], dtype=np.float64)
        total_sq += ((x - mean[None, :, None, None]) ** 2).sum(axis=(0, 2, 3))
    std = np.sqrt(total_sq / count)
    return {
        "split": "train",
        "n_clips": int(idx.size),
        "channels": {
            name: {"mean": float(m), "std": float(s)} for name, m, s in zip(channels, mean, std)
        },
    }


def save_stats(stats: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(stats, indent=2) + "\n")


def stats_arrays(stats: dict[str, Any], channels: Sequence[str] = CHANNELS) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` as float32 arrays in ``channels`` order, looked up by name.

    A channel with zero spread (constant feature) gets std 1 so normalising never divides by 0.
    """
    missing = [c for c in channels if c not in stats["channels"]]
    if missing:
        raise ValueError(f"normalisation statistics lack channels {missing}")
    mean = np.asarray([stats["channels"][c]["mean"] for c in channels], dtype=np.float32)
    std = np.asarray([stats["channels"][c]["std"] for c in channels], dtype=np.float32)
    return mean, np.where(std > 0, std, 1.0).astype(np.float32)


def stats_for_cache(features_npy: str | Path, clips_csv: str | Path, out_json: str | Path) -> dict[str, Any]:
    """Workflow step: training-split channel statistics of a feature cache."""
    from jaxaudio.manifest import load_resolved

    df = load_resolved(clips_csv)
    features = np.load(features_npy, mmap_mode="r")
    if len(features) != len(df):
        raise ValueError(f"{features_npy} has {len(features)} clips but {clips_csv} has {len(df)} rows")
    stats = channel_stats(features, np.flatnonzero(df["split"].to_numpy() == "train"))
    save_stats(stats, out_json)
    return stats
