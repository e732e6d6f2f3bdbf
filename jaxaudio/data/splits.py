"""Seeded train/val/test splits, stratified by species and optionally grouped.

Without groups, each species' clips are shuffled and cut by the fractions (see
:func:`assign_splits`). With a ``group`` column (recording, site or individual), whole
groups are assigned, so no group is in two splits: clips cut from one recording are far more
alike than clips from different recordings, and splitting inside a recording overstates
test accuracy.

Done by hand rather than with sklearn's ``StratifiedShuffleSplit`` /
``StratifiedGroupKFold``: those refuse classes with fewer than two members and cannot
promise every species a training clip, which a long-tailed data set needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _cut(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """``(n_test, n_val)`` for ``n`` items: rounded shares, reduced until one is left to train."""
    n_test, n_val = round(test_fraction * n), round(val_fraction * n)
    while n - n_test - n_val < 1:
        if n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n_test, n_val


def assign_splits(
    df: pd.DataFrame, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.25
) -> pd.DataFrame:
    """A copy of ``df`` with a ``split`` column; every species gets at least one train clip.

    Ungrouped: per species with ``n`` clips, ``n_test = round(test_fraction * n)``,
    ``n_val = round(val_fraction * n)``, reduced (val first) until ``n_train >= 1``.

    Grouped (a non-empty ``group`` column): per species (in name order), its groups not yet
    assigned are shuffled and the same cut is applied to them (so fractions are of groups,
    not clips), which leaves at least one of them in train. A group holding several species
    keeps the split it got first; a species all of whose groups were already assigned to
    val/test by earlier species has no train clip, and the manifest's coverage check names it.
    """
    rng = np.random.default_rng(seed)
    out = df.copy()
    grouped = "group" in df.columns and (df["group"].astype(str) != "").all()
    split = np.empty(len(df), dtype=object)
    if not grouped:
        for species in sorted(df["species"].unique()):
            rows = np.flatnonzero(df["species"].to_numpy() == species)
            rows = rows[rng.permutation(rows.size)]
            n_test, n_val = _cut(rows.size, val_fraction, test_fraction)
            split[rows[:n_test]] = "test"
            split[rows[n_test : n_test + n_val]] = "val"
            split[rows[n_test + n_val :]] = "train"
        out["split"] = split
        return out

    group_split: dict[str, str] = {}
    groups_of = df.groupby("species")["group"].apply(lambda g: sorted(set(map(str, g))))
    for species in sorted(groups_of.index):
        groups = groups_of[species]
        order = [groups[i] for i in rng.permutation(len(groups))]
        free = [g for g in order if g not in group_split]
        n_test, n_val = _cut(len(free), val_fraction, test_fraction) if free else (0, 0)
        for i, g in enumerate(free):
            group_split[g] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    out["split"] = df["group"].astype(str).map(group_split)
    return out
