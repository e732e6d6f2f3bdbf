"""Cutting a decoded recording into the fixed-length clips the frontend takes: training
(``features.crop``) and ``jaxaudio predict`` (windows) cut the same way."""

from __future__ import annotations

import numpy as np

from jaxaudio.data.audio import fit_length
from jaxaudio.features.config import FeatureConfig


def cut_clips(y: np.ndarray, cfg: FeatureConfig) -> list[tuple[float, np.ndarray]]:
    """Fixed-length clips of a decoded recording, with their offsets in seconds.

    ``crop="center"``/``"start"``: one clip (zero-padded when short, cropped when long).
    ``crop="windows"``: windows of ``clip_seconds`` every ``window_hop_seconds`` from the
    start, plus one window ending at the recording's end when the hops do not reach it, so
    every part of the recording is covered; a recording shorter than a clip gives one padded
    window. Every window carries the recording's label.
    """
    n = cfg.n_samples
    if cfg.crop != "windows" or len(y) <= n:
        offset = (len(y) - n) // 2 if cfg.crop == "center" and len(y) > n else 0
        return [
            (
                offset / cfg.sample_rate,
                fit_length(y, n, "start" if cfg.crop == "windows" else cfg.crop),
            )
        ]
    hop = max(1, int(round(cfg.window_hop_seconds * cfg.sample_rate)))
    starts = list(range(0, len(y) - n + 1, hop))
    if starts[-1] != len(y) - n:
        starts.append(len(y) - n)
    return [(s / cfg.sample_rate, y[s : s + n]) for s in starts]
