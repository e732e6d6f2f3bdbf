"""Offset copies of every clip: what the windows of a field recording show of its call.

Training clips start at the call's onset (a 0.14 s call, then zero padding to the 1 s
clip); the windows ``jaxaudio predict`` slides over a recording do not: a call sits anywhere
in them, over whatever the recording holds around it. A model that only ever saw calls at
the start of silence names fewer of them in a recording (the issue's v4 bundle: 4 of 20).
So each clip also gets ``copies`` views cut the way a window would cut it, made from the
decoded audio and featurised like the clip itself (``offsets`` config section):

* **Placement.** A signal of ``L`` samples shorter than the clip's ``n`` is placed at an
  offset ``o ~ U{0, …, n − L}`` (the whole call inside the window, anywhere); a longer one
  is cropped at ``o ~ U{0, …, L − n}``. A circular time shift (``augment.time_shift``) wraps
  the padding around the call instead; this is the window a recording would give.
* **Background.** With probability ``1 − clean_fraction`` the window is mixed with a
  clip-length snippet of a background recording (a random one of the background set,
  :mod:`jaxaudio.data.background_set`, at a random start) scaled to a signal-to-noise ratio
  ``SNR ~ U(snr_db)``: ``x = s + g·b`` with ``g = rms(s) / (rms(b) · 10^(SNR/20))``, the
  RMS of ``s`` over the signal's own samples (not the padding). The rest stay over zeros, as
  the aligned clips are. Without a background set every copy is clean.
* **Level.** The copy is then scaled so that its call's RMS (over the signal's samples,
  before the background, which keeps its SNR) is ``L ~ U(level_db)`` dBFS. Clips come at
  the level they were recorded and cut at (birdsounds-dev: −18 to −8 dBFS for 90 % of
  them); a recorder hears a call 10–40 dB quieter when the bird is further away, and a
  model validated only at the clips' own levels is chosen blind to that. ``level_db:
  null`` (the default) keeps each clip's level, and the copies of earlier versions bit for
  bit. Not the default, because of what it was measured to cost: on a long recording of 60
  birdsounds-dev test calls between digital silence and −46 dBFS white noise, the v3 CNN
  (60 epochs) trained with ``[-50, -10]`` named 0.83 of the calls at their thresholds
  (0.72 of the same clips aligned as in training), but fired in 66 of the 131 windows that
  hold no call (tests/unit/inference/test_long_recording.py allows 13): a
  clean call at −50 dBFS over zeros is quieter than that noise, and the model learns that
  faint sound is a call. (That count is also exactly the windows of digital silence in
  that recording, which every model then fired on; predict has scored those 0 since
  c651e9c, so the cost is likely that, not the level range.) ``level_splits`` (default
  every split) names the splits whose copies get a level: ``[val, test]`` trains on the
  clips' own levels and validates — early stopping, the recommended bundle, temperature
  and thresholds — on calls at field levels, so a model whose features move with the gain
  is chosen against; the training copies are then bit for bit those of ``level_db: null``.

Copy ``k`` of clip ``i`` is row ``i·K + k`` of ``offsets.npy`` (``K = copies``), drawn from
``default_rng([seed, i, k])``: the same copies on every rerun, whatever the thread count.
Training draws one view per clip per epoch (the aligned clip or one of its copies,
:func:`jaxaudio.training.epochs.epoch_plan`), so an epoch costs what it did; validation is
the aligned clips and all their copies, which is what early stopping, the recommended
bundle, the temperature and the thresholds are chosen on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.config.typed import FromDict
from jaxaudio.data.audio import load_audio
from jaxaudio.data.clips import ClipTable
from jaxaudio.data.manifest import SPLITS
from jaxaudio.data.mixing import place, rms, snr_gain
from jaxaudio.features.cache import write_cache
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.frontend import featuriser

log = logging.getLogger(__name__)

#: Clips whose copies are made and featurised together (bounds the decoded audio held).
CHUNK = 256


@dataclass(frozen=True)
class OffsetSettings(FromDict):
    """The ``offsets`` config section (defaults = config/config.yaml's)."""

    copies: int = 4
    snr_db: list[float] = field(default_factory=lambda: [0.0, 20.0])
    clean_fraction: float = 0.25
    level_db: list[float] | None = None
    level_splits: list[str] = field(default_factory=lambda: list(SPLITS))
    seed: int = 0

    def check(self) -> None:
        if self.copies < 0:
            raise ValueError(f"offsets.copies must be >= 0, got {self.copies}")
        if len(self.snr_db) != 2 or self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"offsets.snr_db must be a [low, high] range, got {list(self.snr_db)}")
        if not 0.0 <= self.clean_fraction <= 1.0:
            raise ValueError(f"offsets.clean_fraction must be in [0, 1], got {self.clean_fraction}")
        lv = self.level_db
        if lv is not None and (len(lv) != 2 or lv[0] > lv[1] or lv[1] > 0):
            raise ValueError(
                f"offsets.level_db must be null or a [low, high] range of dBFS <= 0, got {lv}"
            )
        bad = sorted(set(self.level_splits) - set(SPLITS))
        if bad or not self.level_splits:
            raise ValueError(
                f"offsets.level_splits must be a non-empty list of {list(SPLITS)}, got "
                f"{list(self.level_splits)}"
            )


def snippet(recordings: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a random recording of ``recordings`` from a random start (tiled when shorter)."""
    y = recordings[int(rng.integers(len(recordings)))]
    if len(y) < n:
        y = np.tile(y, -(-n // max(len(y), 1)))
    start = int(rng.integers(0, len(y) - n + 1))
    return y[start : start + n]


def offset_copy(
    signal: np.ndarray,
    n: int,
    background: list[np.ndarray],
    s: OffsetSettings,
    rng: np.random.Generator,
    leveled: bool = True,
) -> np.ndarray:
    """One window of ``signal`` (module docstring): placed at random, over background or not,
    at a random level (``s.level_db``, when ``leveled``: its clip's split is in
    ``s.level_splits``)."""
    window, where = place(signal, n, rng)
    level = rms(window[where])
    if background and rng.random() >= s.clean_fraction:
        b = snippet(background, n, rng).astype(np.float32)
        window = window + snr_gain(window[where], b, float(rng.uniform(*s.snr_db))) * b
    if leveled and s.level_db is not None and level > 0:  # drawn last: else the copies of before
        window = window * np.float32(10 ** (float(rng.uniform(*s.level_db)) / 20) / level)
    return window


def decode_recordings(
    frame: pd.DataFrame, cfg: FeatureConfig, threads: int = 1
) -> dict[int, np.ndarray]:
    """``recording -> audio`` of every recording of the clip-table rows ``frame`` (its labelled
    segment when the manifest gives ``start``/``end``), decoded by ``threads`` workers."""
    recordings = frame.drop_duplicates("recording")

    def decode(rec: Any) -> np.ndarray:
        start = None if pd.isna(getattr(rec, "start", None)) else float(rec.start)
        end = None if pd.isna(getattr(rec, "end", None)) else float(rec.end)
        return load_audio(rec.path, cfg.sample_rate, start=start, end=end)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return dict(
            zip(recordings["recording"], pool.map(decode, recordings.itertuples(index=False)))
        )


def offset_windows(
    signals: list[np.ndarray],
    background: list[np.ndarray],
    cfg: FeatureConfig,
    s: OffsetSettings,
    first: int = 0,
    splits: Sequence[str] | None = None,
) -> np.ndarray:
    """``(len(signals) · K, n)`` windows: copy ``k`` of clip ``first + i`` at row ``i·K + k``;
    ``splits``: each signal's split (for ``s.level_splits``; ``None``: leveled like every split)."""
    leveled = [True] * len(signals) if splits is None else [x in s.level_splits for x in splits]
    return np.stack(
        [
            offset_copy(
                sig, cfg.n_samples, background, s, np.random.default_rng([s.seed, i, k]), lv
            )
            for i, (sig, lv) in enumerate(zip(signals, leveled, strict=True), start=first)
            for k in range(s.copies)
        ]
    )


def build_offsets(
    clips_csv: str | Path,
    features: dict[str, Any],
    offsets: dict[str, Any],
    out_path: str | Path,
    threads: int = 1,
) -> Path:
    """Workflow step: ``offsets.npy``, ``copies`` featurised windows of every clip of the table.

    A clip's signal is its whole recording (or labelled segment): a recording cut into several
    clips (``crop: windows``, background recordings) gives each of them windows anywhere in it.
    The background mixed in is the training split's background recordings only, so no
    validation or test audio leaks into training. Recordings are decoded, and their copies
    featurised and written, :data:`CHUNK` clips at a time, which bounds the memory held."""
    cfg, s = FeatureConfig.from_dict(features), OffsetSettings.from_dict(offsets)
    cfg.check()
    s.check()
    table = ClipTable.read(clips_csv)
    df = table.frame
    train_bg = df[table.is_background & (df["split"] == "train").to_numpy()]
    background = list(decode_recordings(train_bg, cfg, threads).values())
    log.info(
        "offsets: %d copies of %d clips (%d background recordings mixed in, SNR %s dB)",
        s.copies,
        len(table),
        len(background),
        list(s.snr_db),
    )
    featurise = featuriser(cfg)

    def blocks() -> Iterator[np.ndarray]:  # one chunk in memory at a time
        for first in range(0, len(df), CHUNK):
            chunk = df.iloc[first : first + CHUNK]
            audio = decode_recordings(chunk, cfg, threads)
            signals = [audio[r] for r in chunk["recording"]]
            windows = offset_windows(signals, background, cfg, s, first, list(chunk["split"]))
            yield featurise(windows)
            log.info("offsets: %d/%d clips", first + len(chunk), len(df))

    write_cache(blocks(), cfg, out_path, total=len(table) * s.copies)
    return Path(out_path)


def copy_rows(rows: np.ndarray, copies: int) -> np.ndarray:
    """Rows of ``offsets.npy`` holding the copies of clip-table ``rows``, clip-major."""
    rows = np.asarray(rows, np.int64)
    return (rows[:, None] * copies + np.arange(copies)[None, :]).reshape(-1)
