"""The clip table: the one reader of ``data/clips.csv`` for every step after features.

Each row of ``clips.csv`` is one clip of the feature cache, in cache row order, with its
recording's ``species``, ``split`` and integer ``label``. Every later step needs the same
few facts of it — the species in index order, the rows of each split, the labels, the
training counts — so they are read here once, the same way, and checked against the cache.

Species are sorted by name: ``label`` is the species' index in that order, and every
artifact keyed by species (class weights, thresholds, bundles) uses it. Background rows
(``background`` true, :mod:`jaxaudio.data.background_set`) are no species: their label is
the reserved ``len(species)``, the last of the model's outputs (:attr:`ClipTable.classes`).
Unknown rows (``unknown`` true: test clips of species held out of training,
:mod:`jaxaudio.data.open_set`) take that label too and are no species of the model either.

Multi-label rows (a ``species`` cell ``"a;b"``, :mod:`jaxaudio.data.labels`): the species
list is the union of the cells' parts and :attr:`ClipTable.targets` is the ``(N, C)``
multi-hot matrix of the sigmoid objective, background and unknown rows all zero (with
``training.objective: sigmoid`` background is no class: the model has one output per
species, :meth:`ClipTable.outputs`). ``label`` stays the first species' index (the
single-label clips' argmax metrics use it). Only the sigmoid objective may train on such a
table (:meth:`ClipTable.check_objective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jaxaudio.data.errors import ManifestError
from jaxaudio.data.labels import SEPARATOR, is_multilabel, multi_hot, split_labels
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
        if "unknown" not in df.columns:  # tables written before evaluation.open_set
            df["unknown"] = False
        df["unknown"] = df["unknown"].astype(bool)
        named = ~(df["background"] | df["unknown"])
        if is_multilabel(df.loc[named, "species"]):
            parts = [
                split_labels(v, f"{clips_csv} line {i + 2}")
                for i, v in df.loc[named, "species"].items()
            ]
            return cls(Path(clips_csv), df, sorted({s for labels in parts for s in labels}))
        return cls(Path(clips_csv), df, sorted(df.loc[named, "species"].unique()))

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
    def multilabel(self) -> bool:
        """Whether a species clip's cell holds several species (``;``)."""
        named = ~(self.is_background | self.is_unknown)
        return is_multilabel(self.frame.loc[named, "species"])

    def outputs(self, objective: str) -> list[str]:
        """The model's outputs under ``objective``: :attr:`classes` (softmax: background is a
        reserved class) or :attr:`species` (sigmoid: background clips are all-zero targets)."""
        return self.classes if objective == "softmax" else self.species

    @property
    def label_lists(self) -> list[list[str]]:
        """Each row's species (``[]`` for background and unknown rows)."""
        none = self.is_background | self.is_unknown
        return [
            [] if skip else [p.strip() for p in str(v).split(SEPARATOR)]
            for v, skip in zip(self.frame["species"], none)
        ]

    @property
    def targets(self) -> np.ndarray:
        """``(N, C)`` float32 multi-hot targets in species order (background/unknown rows 0)."""
        return multi_hot(self.label_lists, self.species)

    def check_objective(self, objective: str) -> None:
        """A multi-label table with the softmax objective is an error naming the first
        multi-label cell's file and line (the user's manifest when the table knows it)."""
        if objective != "softmax" or not self.multilabel:
            return
        df = self.frame
        named = ~(self.is_background | self.is_unknown)
        i = df.index[named & df["species"].astype(str).str.contains(SEPARATOR, regex=False)][0]
        where = f"{self.path} line {int(i) + 2}"
        if "source_file" in df.columns and str(df.at[i, "source_file"]) not in ("", "nan"):
            line = df.at[i, "source_line"]
            where = f"{df.at[i, 'source_file']}" + (
                f" line {int(line)}" if pd.notna(line) and line != "" else ""
            )
        raise ManifestError(
            f"{where}: species cell {df.at[i, 'species']!r} holds several species "
            f"({SEPARATOR!r}-separated); multi-label clips need training.objective: sigmoid "
            "(set it under training:, a model or an experiment), the softmax objective takes one "
            "species a clip"
        )

    @property
    def is_background(self) -> np.ndarray:
        return self.frame["background"].to_numpy()

    @property
    def is_unknown(self) -> np.ndarray:
        """Test clips of the species held out of training (``evaluation.open_set``)."""
        return self.frame["unknown"].to_numpy()

    @property
    def held_out_species(self) -> list[str]:
        """The held-out species that have clips here, sorted."""
        return sorted(self.frame.loc[self.frame["unknown"], "species"].unique())

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
        counts: background is weighted as one more class); a multi-label clip counts once for
        each of its species."""
        cells = self.frame.loc[self.frame["split"] == "train", "species"].astype(str)
        return [p.strip() for cell in cells for p in cell.split(SEPARATOR)]

    def features(self, features_npy: str | Path, rows: np.ndarray | None = None) -> NpyRows:
        """The feature cache (or its ``rows``), read in chunks; its length must match."""
        cache = NpyRows(features_npy)
        if len(cache) != len(self):
            raise ValueError(
                f"{features_npy} has {len(cache)} clips but {self.path} has {len(self)} rows"
            )
        return cache if rows is None else NpyRows(features_npy, rows)

    def copies(self, offsets_npy: str | Path) -> int:
        """Offset copies per clip in ``offsets_npy`` (its rows over the table's); it must divide."""
        rows = len(NpyRows(offsets_npy))
        if len(self) == 0 or rows % len(self):
            raise ValueError(
                f"{offsets_npy} has {rows} rows, not a whole number of copies of the {len(self)} "
                f"clips of {self.path} (rerun the offsets rule)"
            )
        return rows // len(self)
