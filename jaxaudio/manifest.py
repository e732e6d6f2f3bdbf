"""Reading, validating and resolving a data set manifest.

A manifest is a CSV with columns ``path,species`` and an optional ``split``
(``train``/``val``/``test``). Relative paths are relative to the manifest's folder. The
resolved manifest the workflow writes has absolute paths, a split for every row and the
integer ``label`` of the species in the **species index order** (sorted names), which is the
order of the model's outputs and of every per-class table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("path", "species")
SPLITS = ("train", "val", "test")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the fault."""


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a manifest's structure (cheap: does not touch the audio files).

    Checks: the file exists, required columns are present, no empty path or species, split
    values (when the column exists) are known. Paths are made absolute.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest file does not exist")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ManifestError(f"{path}: cannot read as CSV ({exc})") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(
            f"{path}: missing required column(s) {missing}; found {list(df.columns)}"
        )
    if df.empty:
        raise ManifestError(f"{path}: manifest has no rows")
    df["species"] = df["species"].str.strip()
    for col in REQUIRED_COLUMNS:
        empty = df.index[df[col] == ""]
        if len(empty):
            rows = [int(i) + 2 for i in empty[:5]]  # +2: 1-based, after the header line
            raise ManifestError(f"{path}: empty {col!r} on line(s) {rows}")
    if "split" in df.columns:
        df["split"] = df["split"].str.strip().str.lower()
        bad = sorted(set(df["split"]) - set(SPLITS))
        if bad:
            line = int(df.index[df["split"].isin(bad)][0]) + 2
            raise ManifestError(f"{path}: unknown split name(s) {bad} (first on line {line}); use {list(SPLITS)}")
    root = path.resolve().parent
    df["path"] = [str(p if Path(p).is_absolute() else root / p) for p in df["path"]]
    return df


def check_train_coverage(df: pd.DataFrame, path: str | Path) -> list[str]:
    """Species in index order; a species with no training clip is an error naming it."""
    species = sorted(df["species"].unique())
    has_train = set(df.loc[df["split"] == "train", "species"])
    no_train = [s for s in species if s not in has_train]
    if no_train:
        raise ManifestError(f"{path}: species with no training clip: {no_train}")
    return species


def check_manifest(path: str | Path) -> None:
    """The checks that need no audio file: structure, split names, training coverage.

    Cheap enough to run when the workflow loads, before any job starts.
    """
    df = read_manifest(path)
    if "split" in df.columns and (df["split"] != "").all():
        check_train_coverage(df, path)


def assign_splits(
    df: pd.DataFrame, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.25
) -> pd.DataFrame:
    """Seeded split stratified by species, with at least one training clip per species.

    Per species with ``n`` clips (shuffled with a generator seeded by ``seed``):
    ``n_test = round(test_fraction * n)``, ``n_val = round(val_fraction * n)``, reduced (val
    first, then test) until ``n_train >= 1``. Done per species rather than with sklearn's
    stratified splitters because those refuse classes with fewer than two members, and a
    long-tailed set has them.
    """
    rng = np.random.default_rng(seed)
    split = np.empty(len(df), dtype=object)
    for species in sorted(df["species"].unique()):
        rows = np.flatnonzero(df["species"].to_numpy() == species)
        rows = rows[rng.permutation(rows.size)]
        n = rows.size
        n_test, n_val = round(test_fraction * n), round(val_fraction * n)
        while n - n_test - n_val < 1:
            if n_val > 0:
                n_val -= 1
            else:
                n_test -= 1
        split[rows[:n_test]] = "test"
        split[rows[n_test : n_test + n_val]] = "val"
        split[rows[n_test + n_val :]] = "train"
    out = df.copy()
    out["split"] = split
    return out


def resolve_manifest(
    path: str | Path, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.25
) -> tuple[pd.DataFrame, list[str]]:
    """The manifest with every check done, splits assigned and labels added.

    Returns the frame (columns ``path, species, split, label`` plus any extra columns) and
    the species list in index order. Every missing file is listed in one error; a species
    without a training clip is an error naming it.
    """
    df = read_manifest(path)
    missing = [p for p in df["path"] if not Path(p).is_file()]
    if missing:
        shown = "; ".join(missing[:10]) + (f"; ... ({len(missing)} in all)" if len(missing) > 10 else "")
        raise ManifestError(f"{path}: {len(missing)} audio file(s) listed but not found: {shown}")
    if "split" not in df.columns or (df["split"] == "").all():
        df = assign_splits(df, seed, val_fraction, test_fraction)
    elif (df["split"] == "").any():
        line = int(df.index[df["split"] == ""][0]) + 2
        raise ManifestError(f"{path}: split column is partly empty (first on line {line}); fill it or drop the column")
    species = check_train_coverage(df, path)
    df["label"] = df["species"].map({s: i for i, s in enumerate(species)}).astype(int)
    return df.reset_index(drop=True), species


def dataset_summary(df: pd.DataFrame, species: list[str]) -> dict[str, Any]:
    """Species in index order with clip counts per split (written next to the manifest)."""
    counts = df.groupby(["species", "split"]).size().unstack(fill_value=0)
    return {
        "species": species,
        "n_clips": {s: int((df["split"] == s).sum()) for s in SPLITS},
        "counts": {
            sp: {s: int(counts.loc[sp, s]) if s in counts.columns else 0 for s in SPLITS} for sp in species
        },
    }


def load_resolved(path: str | Path) -> pd.DataFrame:
    """Read a manifest written by the workflow's ``manifest`` rule."""
    return pd.read_csv(path, dtype={"path": str, "species": str, "split": str}, keep_default_na=False)


def write_resolved(df: pd.DataFrame, species: list[str], csv_path: str | Path, summary_path: str | Path) -> None:
    df.to_csv(csv_path, index=False)
    Path(summary_path).write_text(json.dumps(dataset_summary(df, species), indent=2) + "\n")


def prepare_manifest(
    source: str | Path,
    out_csv: str | Path,
    out_summary: str | Path,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
) -> tuple[pd.DataFrame, list[str]]:
    """Workflow step: resolve ``source`` and write the resolved manifest and its summary."""
    df, species = resolve_manifest(source, seed, val_fraction, test_fraction)
    write_resolved(df, species, out_csv, out_summary)
    return df, species
