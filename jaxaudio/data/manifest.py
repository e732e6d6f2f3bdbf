"""Reading, validating and resolving a data set manifest.

A manifest is a CSV with columns ``path,species`` and optional ones:

* ``split`` — ``train``/``val``/``test``; without it a seeded split stratified by species
  (grouped when ``group`` is given) is made (:mod:`jaxaudio.data.splits`);
* ``start``, ``end`` — seconds: the labelled clip is that part of the file (many clips cut
  from one long recording); empty means the file's start / end;
* ``group`` — recording, site or individual: no group is split across train/val/test.

Relative paths are relative to the manifest's folder. A folder tree ``root/<species>/…``
is turned into the same table (:func:`jaxaudio.data.folder.scan_folder`).

The resolved manifest the workflow writes has absolute paths, a split for every row and the
integer ``label`` of the species in the **species index order** (sorted names), the order of
the model's outputs and of every per-class table. Each row is a *recording* (or a labelled
segment of one); the features step may cut it into several clips (windows). Two more columns
say where each row came from, so that later steps name the user's file rather than the
workflow's copy: ``source_file`` (the manifest CSV or folder the user gave) and
``source_line`` (the row's line in that CSV, header = line 1; empty for a folder). Two
boolean columns mark the rows of no species, which take the reserved label ``len(species)``:
``background`` (:mod:`jaxaudio.data.background_set`) and ``unknown``, the test rows of the
species held out of training (:mod:`jaxaudio.data.open_set`).

Multi-label rows (``training.objective: sigmoid``): a ``species`` cell may hold several
species separated by ``;`` (:mod:`jaxaudio.data.labels`). The species list is the union of
the parts, and every species check (too few clips, training coverage) counts a row for each
of its parts; the seeded split is stratified by a row's **first** label, and ``label`` is the
index of that first label (the multi-hot targets come from the cell itself,
:attr:`jaxaudio.data.clips.ClipTable.targets`). Whether the run's objective allows such rows
is checked by the train stage, where the settings meet the table.

Line numbers are those of the file as an editor shows them: blank lines, which are skipped
when reading, are counted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from jaxaudio.data.errors import ManifestError
from jaxaudio.data.files import path_fault
from jaxaudio.data.folder import scan_folder
from jaxaudio.data.labels import SEPARATOR, is_multilabel, split_labels
from jaxaudio.data.open_set import OpenSetSettings
from jaxaudio.data.splits import assign_splits

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("path", "species")
OPTIONAL_COLUMNS = ("split", "start", "end", "group")
#: Columns the resolved manifest adds to say where each row came from (see the module doc).
SOURCE_COLUMNS = ("source_file", "source_line")
SPLITS = ("train", "val", "test")
#: ``data.too_few_clips``: what happens to a species under ``min_clips_per_species``.
TooFewClips = Literal["exclude", "error"]
TOO_FEW_CLIPS: tuple[str, ...] = get_args(TooFewClips)
#: Files listed by name in a "listed but not found" error (the count covers the rest).
SHOWN_FAULTS = 10


def _lines(index: pd.Index, limit: int = 5) -> list[int]:
    return [int(i) + 2 for i in index[:limit]]  # 1-based line numbers after the header


def _row_lines(path: Path, n_rows: int) -> list[int]:
    """The line of each of the ``n_rows`` data rows pandas read from ``path``.

    pandas skips blank (and whitespace-only) lines, so after one the row number plus 2 is no
    longer the line an editor shows. Counted here on the raw bytes; when the count does not
    match (quoted fields spanning lines, old Mac line ends) the plain ``row + 2`` is used.
    """
    raw = path.read_bytes().split(b"\n")
    lines = [i + 1 for i, text in enumerate(raw) if text.strip()]
    data = lines[1:]  # after the header (the first non-blank line)
    return data if len(data) == n_rows else [i + 2 for i in range(n_rows)]


def _parse_times(df: pd.DataFrame, path: Path) -> None:
    """``start``/``end`` to floats (NaN = whole file), checked: numeric, >= 0, start < end."""
    for col in ("start", "end"):
        if col not in df.columns:
            continue
        raw = df[col].str.strip()
        values = pd.to_numeric(raw.replace("", np.nan), errors="coerce")
        bad = df.index[values.isna() & (raw != "")]
        if len(bad):
            raise ManifestError(
                f"{path}: {col!r} is not a number on line(s) {_lines(bad)} ({raw[bad[0]]!r})"
            )
        negative = df.index[values < 0]
        if len(negative):
            raise ManifestError(f"{path}: negative {col!r} on line(s) {_lines(negative)}")
        df[col] = values
    if "start" in df.columns and "end" in df.columns:
        wrong = df.index[df["start"].fillna(0) >= df["end"].fillna(np.inf)]
        if len(wrong):
            i = wrong[0]
            raise ManifestError(
                f"{path}: start >= end on line(s) {_lines(wrong)} (line {i + 2}: start {df['start'][i]}, end {df['end'][i]})"
            )


def check_table(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Validate a manifest table (from a CSV or a folder scan); return it normalised.

    Checks: required columns, no empty path or species, known split names, numeric and
    consistent start/end, no duplicate rows (same file and segment twice would leak one clip
    into two splits or weight it double).
    """
    path = Path(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(
            f"{path}: missing required column(s) {missing}; found {list(df.columns)}"
        )
    if df.empty:
        raise ManifestError(f"{path}: manifest has no rows")
    df = df.copy()
    df["species"] = df["species"].str.strip()
    for col in REQUIRED_COLUMNS:
        empty = df.index[df[col] == ""]
        if len(empty):
            raise ManifestError(f"{path}: empty {col!r} on line(s) {_lines(empty)}")
    if "split" in df.columns:
        df["split"] = df["split"].str.strip().str.lower()
        bad = sorted(set(df["split"]) - set(SPLITS) - {""})
        if bad:
            line = int(df.index[df["split"].isin(bad)][0]) + 2
            raise ManifestError(
                f"{path}: unknown split name(s) {bad} (first on line {line}); use {list(SPLITS)}"
            )
    _parse_times(df, path)
    if "group" in df.columns:
        df["group"] = df["group"].str.strip()
    key = [c for c in ("path", "start", "end") if c in df.columns]
    dup = df.index[df.duplicated(subset=key, keep=False)]
    if len(dup):
        raise ManifestError(
            f"{path}: duplicate rows (same file{' and segment' if len(key) > 1 else ''}) on lines {_lines(dup, 10)}"
        )
    return df


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a manifest CSV (cheap: does not touch the audio files); absolute paths.

    The frame's index is the row's line in the file minus 2 (``index + 2`` is the line, as
    every message here reports it, also after blank lines), and ``listed_path`` keeps each
    path as written, for messages.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest file does not exist")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ManifestError(f"{path}: cannot read as CSV ({exc})") from exc
    df.index = pd.Index([line - 2 for line in _row_lines(path, len(df))])
    df = check_table(df, path)
    root = path.resolve().parent
    df["listed_path"] = df["path"]
    df["path"] = [str(p if Path(p).is_absolute() else root / p) for p in df["path"]]
    return df


def _where(df: pd.DataFrame, path: str | Path, i: Any) -> str:
    """``file line N`` of row ``i`` (the row's own source when the table has one)."""
    if "source_line" in df.columns and df.at[i, "source_line"] != "":
        return f"{df.at[i, 'source_file']} line {df.at[i, 'source_line']}"
    return f"{path} line {int(i) + 2}" if isinstance(i, (int, np.integer)) else str(path)


def label_parts(df: pd.DataFrame, path: str | Path) -> pd.Series:
    """The labels of every row's ``species`` cell (:func:`jaxaudio.data.labels.split_labels`,
    which names the file and line of a malformed cell); a single-label table is not parsed."""
    if not is_multilabel(df["species"]):
        return pd.Series([[v] for v in df["species"]], index=df.index, dtype=object)
    return pd.Series(
        [split_labels(v, _where(df, path, i)) for i, v in df["species"].items()],
        index=df.index,
        dtype=object,
    )


def first_label(species: pd.Series) -> pd.Series:
    """Each cell's first label: what the splits stratify by (and ``label`` holds)."""
    return species.astype(str).str.split(SEPARATOR, regex=False).str[0].str.strip()


def check_train_coverage(df: pd.DataFrame, path: str | Path) -> list[str]:
    """Species in index order (the union of the cells' parts); a species with no training
    clip is an error naming it."""
    parts = label_parts(df, path)
    species = sorted({s for labels in parts for s in labels})
    has_train = {s for labels in parts[df["split"] == "train"] for s in labels}
    no_train = [s for s in species if s not in has_train]
    if no_train:
        raise ManifestError(f"{path}: species with no training clip: {no_train}")
    return species


def _has_split(df: pd.DataFrame) -> bool:
    return "split" in df.columns and (df["split"] != "").all()


def check_manifest(path: str | Path, held_out: Collection[str] = ()) -> None:
    """The checks that need no audio file: structure, split names, times, duplicates,
    training coverage (of the species not ``held_out`` by ``evaluation.open_set.species``).
    Cheap enough to run when the workflow loads, before any job starts."""
    df = read_manifest(path)
    if _has_split(df):
        check_train_coverage(df[~df["species"].isin(list(held_out))], path)


def drop_small_species(
    df: pd.DataFrame, min_clips: int, policy: str, path: str | Path
) -> pd.DataFrame:
    """Exclude (with a warning listing them) or reject species with fewer than ``min_clips`` rows.

    A multi-label row counts for each of its species; excluding a species removes it from
    the cells, and a row left with no species is dropped."""
    parts = label_parts(df, path)
    counts = pd.Series([s for labels in parts for s in labels], dtype=object).value_counts()
    small = sorted(counts.index[counts < min_clips])
    if not small:
        return df
    listing = ", ".join(f"{s} ({counts[s]})" for s in small)
    if policy == "error":
        raise ManifestError(f"{path}: species with fewer than {min_clips} clips: {listing}")
    log.warning("excluding %d species with fewer than %d clips: %s", len(small), min_clips, listing)
    kept = parts.map(lambda labels: [s for s in labels if s not in small])
    df = df.assign(species=kept.map(SEPARATOR.join))
    return df[kept.map(len) > 0].reset_index(drop=True)


def check_listed_files(df: pd.DataFrame, listed: list[str], source: str | Path) -> None:
    """One :class:`ManifestError` for every row whose file cannot be opened at all.

    Each fault is ``line N: <path as written>: <fault>`` (the line in the CSV; a folder source
    has no lines, its files are named relative to it), in the words of
    :func:`jaxaudio.data.files.path_fault` ("file does not exist", "is a folder, not an audio
    file", ...). The contents are not read here (that is the features step's job).
    """
    faults = []
    for p, shown, line in zip(df["path"], listed, df["source_line"]):
        fault = path_fault(p)
        if fault is not None:
            faults.append((f"line {line}: " if line != "" else "") + f"{shown}: {fault}")
    if not faults:
        return
    items = "; ".join(faults[:SHOWN_FAULTS]) + (
        f"; ... ({len(faults)} in all)" if len(faults) > SHOWN_FAULTS else ""
    )
    if all("file does not exist" in f for f in faults):
        raise ManifestError(f"{source}: {len(faults)} audio file(s) listed but not found: {items}")
    raise ManifestError(
        f"{source}: {len(faults)} listed path(s) cannot be read as audio files: {items}"
    )


def resolve_manifest(
    source: str | Path,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    min_clips_per_species: int = 1,
    too_few_clips: TooFewClips = "exclude",
    background_label: str | None = None,
    background_rows: pd.DataFrame | None = None,
    open_set: OpenSetSettings | Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The table with every check done, splits assigned and labels added.

    ``source`` is a manifest CSV or a folder tree. Returns the frame (``path, species, split,
    label, background``, any optional columns and ``source_file, source_line``) and the
    species in index order. Every missing file (or folder listed as a file) is listed in one
    error with its line; a species without a training clip is an error naming it.

    Background (:mod:`jaxaudio.data.background_set`): rows of ``source`` whose species is
    ``background_label``, and ``background_rows`` (``path, species, split``, already split),
    are not a species: they are left out of the species list and its checks, marked
    ``background``, and get the reserved label ``len(species)``.

    Open set (``open_set``: config ``evaluation.open_set``, :mod:`jaxaudio.data.open_set`): the
    held-out species lose their train and val rows after the split; their test rows stay,
    marked ``unknown`` (a column of every resolved table), with the reserved label too, and are
    not in the species list. The held-out species are in ``df.attrs["held_out"]``
    (:func:`dataset_summary` lists them). A named species that is not in ``source`` is an
    error naming the key and the closest names.
    """
    settings = OpenSetSettings.from_config(open_set)  # its own checks, before any reading
    df = _read_source(Path(source))
    own = df["species"] == background_label if background_label else np.zeros(len(df), bool)
    background, df = df[own], df[~own]
    if settings is not None:
        if is_multilabel(df["species"]):
            raise ManifestError(
                f"{source}: evaluation.open_set is not supported with multi-label species cells "
                f"({SEPARATOR!r}); set it to null"
            )
        settings.check_names(df["species"], source)
    df = drop_small_species(df, min_clips_per_species, too_few_clips, source)
    held = settings.held_out(df["species"]) if settings is not None else []
    df = pd.concat([df, background], ignore_index=True)
    if "split" in df.columns and not _has_split(df) and (df["split"] != "").any():
        line = df.loc[df["split"] == "", "source_line"].iloc[0]
        raise ManifestError(
            f"{source}: split column is partly empty (first on line {line}); fill it or drop the column"
        )
    if not _has_split(df):
        # stratified by each row's first label (a multi-label cell is not a stratum of its own)
        df = assign_splits(
            df.drop(columns="split", errors="ignore").assign(species=first_label(df["species"])),
            seed,
            val_fraction,
            test_fraction,
        ).assign(species=df["species"].to_numpy())
    if background_rows is not None and len(background_rows):
        rows = background_rows.assign(source_file="", source_line="")
        df = pd.concat([df, rows], ignore_index=True)
    background = (
        (df["species"] == background_label).to_numpy()
        if background_label
        else np.zeros(len(df), bool)
    )
    df, background, unknown = _hold_out(df, background, held)
    species = check_train_coverage(df[~(background | unknown)], source)
    # a multi-label row's label is its first species' (its targets come from the cell)
    df["label"] = first_label(df["species"]).map({s: i for i, s in enumerate(species)})
    df.loc[background | unknown, "label"] = np.nan
    # background and unknown rows: the reserved "no species" class
    df["label"] = df["label"].fillna(len(species)).astype(int)
    df["background"] = background
    df["unknown"] = unknown
    df = df[
        [c for c in df.columns if c not in SOURCE_COLUMNS] + list(SOURCE_COLUMNS)
    ]  # added columns last
    df = df.reset_index(drop=True)
    df.attrs["held_out"] = held
    return df, species


def _hold_out(
    df: pd.DataFrame, background: np.ndarray, held: list[str]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows of the ``held`` species outside the test split removed; ``(df, background,
    unknown)`` of the rows kept (``unknown``: the held-out species' test rows)."""
    unknown = df["species"].isin(held).to_numpy() & ~background
    keep = ~unknown | (df["split"] == "test").to_numpy()
    if held:
        log.info(
            "evaluation.open_set: %d species held out of training (%s): %d train/val rows "
            "removed, %d test rows kept as unknowns",
            len(held),
            ", ".join(held),
            int((~keep).sum()),
            int(unknown[keep].sum()),
        )
        no_test = sorted(set(held) - set(df.loc[unknown & keep, "species"]))
        if no_test:
            log.warning("held-out species with no test clip, not measured: %s", ", ".join(no_test))
    return df[keep].reset_index(drop=True), background[keep], unknown[keep]


def _read_source(source: Path) -> pd.DataFrame:
    """A manifest CSV or a folder tree as a checked table with ``source_file, source_line``;
    every file it lists can be opened."""
    if source.is_dir():
        df = check_table(scan_folder(source).astype(str), source)
        df["source_line"] = ""
        listed = [str(Path(p).relative_to(source.absolute())) for p in df["path"]]
    else:
        df = read_manifest(source)
        df["source_line"] = [int(i) + 2 for i in df.index]
        listed = df.pop("listed_path").tolist()
    df["source_file"] = str(source)
    check_listed_files(df, listed, source)
    return df


def dataset_summary(df: pd.DataFrame, species: list[str]) -> dict[str, Any]:
    """Species in index order with row counts per split (written next to the manifest), the
    background rows per split, the species held out of training (``evaluation.open_set``:
    ``df.attrs["held_out"]`` from :func:`resolve_manifest`, else those of the unknown rows) and
    their (unknown) rows per split."""
    parts = df.assign(species=df["species"].astype(str).str.split(SEPARATOR, regex=False))
    parts = parts.explode("species").assign(species=lambda d: d["species"].str.strip())
    counts = parts.groupby(["species", "split"]).size().unstack(fill_value=0)
    background = df["background"] if "background" in df.columns else np.zeros(len(df), bool)
    unknown = df["unknown"].astype(bool) if "unknown" in df.columns else np.zeros(len(df), bool)
    held = df.attrs.get("held_out", sorted(df.loc[unknown, "species"].unique()))
    return {
        "species": species,
        "n_clips": {s: int((df["split"] == s).sum()) for s in SPLITS},
        "counts": {
            sp: {s: int(counts.loc[sp, s]) if s in counts.columns else 0 for s in SPLITS}
            for sp in species
        },
        "background": {s: int((df.loc[background, "split"] == s).sum()) for s in SPLITS},
        "held_out_species": list(held),
        "unknown": {s: int((df.loc[unknown, "split"] == s).sum()) for s in SPLITS},
    }


def load_resolved(path: str | Path) -> pd.DataFrame:
    """Read a table written by the workflow (resolved manifest or clip table)."""
    df = pd.read_csv(
        path, dtype={"path": str, "species": str, "split": str, "group": str}, keep_default_na=False
    )
    for col in ("start", "end", "clip_start", "source_line"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col].replace("", np.nan))
    return df


def write_resolved(
    df: pd.DataFrame, species: list[str], csv_path: str | Path, summary_path: str | Path
) -> None:
    df.to_csv(csv_path, index=False)
    Path(summary_path).write_text(json.dumps(dataset_summary(df, species), indent=2) + "\n")


def prepare_manifest(
    source: str | Path, out_csv: str | Path, out_summary: str | Path, **options: Any
) -> tuple[pd.DataFrame, list[str]]:
    """Workflow step: resolve ``source`` (``options`` are :func:`resolve_manifest`'s keywords,
    with its defaults) and write the resolved manifest and its summary."""
    df, species = resolve_manifest(source, **options)
    write_resolved(df, species, out_csv, out_summary)
    return df, species
