"""The clip table: the one reader of ``data/clips.csv`` for every step after features.

Each row of ``clips.csv`` is one clip of the feature cache, in cache row order, with its
recording's ``species``, ``split`` and integer ``label``. Every later step needs the same
few facts of it — the species in index order, the rows of each split, the labels, the
training counts — so they are read here once, the same way, and checked against the cache.

Species are sorted by name: ``label`` is the species' index in that order, and every
artifact keyed by species (class weights, thresholds, bundles) uses it. Background rows
(``background`` true, :mod:`jaxaudio.data.background_set`) are no species: their label is
the reserved ``len(species)``, the last of the model's outputs (:attr:`ClipTable.classes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jaxaudio.data.manifest import SPLITS, load_resolved
from jaxaudio.features.streaming import NpyRows


@dataclass(frozen=True)
class ClipTable:
    """The clip table of a feature cache: species order, labels and split rows."""

    path: Path
    frame: pd.DataFrame
    species: list[str]

    @classmethod
    def read(cls, clips_csv: str | Path) -> ClipTable:
        df = load_resolved(clips_csv)
        if "background" not in df.columns:  # tables written before the background set
            df["background"] = False
        df["background"] = df["background"].astype(bool)
        return cls(Path(clips_csv), df, sorted(df.loc[~df["background"], "species"].unique()))

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def background_label(self) -> str | None:
        """The background rows' label (``data.background.label``), ``None`` without any."""
        bg = self.frame.loc[self.frame["background"], "species"]
        return str(bg.iloc[0]) if len(bg) else None

    @property
    def classes(self) -> list[str]:
        """The model's outputs: the species, then the background label when there is one."""
        label = self.background_label
        return self.species + ([label] if label is not None else [])

    @property
    def is_background(self) -> np.ndarray:
        return self.frame["background"].to_numpy()

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy()

    def rows(self, split: str) -> np.ndarray:
        """Row indices (into the table and the cache) of ``split`` (train, val or test)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; splits are {SPLITS}")
        return np.flatnonzero(self.frame["split"].to_numpy() == split)

    def require(self, split: str) -> np.ndarray:
        """:meth:`rows` of ``split``, or a :class:`ValueError` naming the file when it is empty."""
        rows = self.rows(split)
        if rows.size == 0:
            raise ValueError(f"{self.path}: no {split} clips to evaluate on")
        return rows

    def train_species(self) -> list[str]:
        """The class of every training clip, background label included (the class-weight
        counts: background is weighted as one more class)."""
        return list(self.frame.loc[self.frame["split"] == "train", "species"])

    def features(self, features_npy: str | Path, rows: np.ndarray | None = None) -> NpyRows:
        """The feature cache (or its ``rows``), read in chunks; its length must match."""
        cache = NpyRows(features_npy)
        if len(cache) != len(self):
            raise ValueError(
                f"{features_npy} has {len(cache)} clips but {self.path} has {len(self)} rows"
            )
        return cache if rows is None else NpyRows(features_npy, rows)
