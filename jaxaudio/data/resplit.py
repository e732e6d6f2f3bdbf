"""Seeded re-splits of the training and validation clips, for choosing a configuration on
more than one validation split (config key ``compare.selection``).

One validation split of a few clips per species is a noisy judge: on birdsounds-dev (1–6
validation clips a species) two recipes' validation macro-F1 differ by less than one
seed's spread, and a recipe chosen on one split can lose elsewhere. Re-split ``k`` pools
the train and val clips and cuts them again with seed ``seed + k``: per species the same
share goes to validation as in the given split, at least one clip stays in train
(:func:`jaxaudio.data.splits.assign_splits`), and the test clips are never touched, so the
choice stays blind to the test split.

Clips that must not be split apart stay together: the manifest's ``group`` (a source
recording, site or individual) when it has one, else the ``recording`` they were cut
from (``crop: windows`` cuts several clips from one file).
"""

from __future__ import annotations

import pandas as pd

from jaxaudio.data.splits import assign_splits

#: The splits a re-split reassigns; every other row (test, held-out species) keeps its own.
POOLED = ("train", "val")


def val_fraction(frame: pd.DataFrame) -> float:
    """The share of the pooled clips the given split puts in validation."""
    pooled = frame["split"].isin(POOLED)
    return float((frame["split"] == "val").sum() / max(int(pooled.sum()), 1))


def resplit(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A copy of the clip table ``frame`` whose train and val rows are split again with
    ``seed`` (the module docstring's rule); other rows and every other column unchanged."""
    pooled = frame["split"].isin(POOLED).to_numpy()
    part = frame.loc[pooled, ["species"]].copy()
    if "group" in frame.columns and (frame["group"].astype(str) != "").all():
        part["group"] = frame.loc[pooled, "group"].astype(str)
    elif "recording" in frame.columns:
        part["group"] = "recording " + frame.loc[pooled, "recording"].astype(str)
    split = assign_splits(part, seed=seed, val_fraction=val_fraction(frame), test_fraction=0.0)
    out = frame.copy()
    out.loc[pooled, "split"] = split["split"].to_numpy()
    return out
