"""Annotated truth for scoring detections: Raven selection tables or a CSV, as one table.

:func:`read_truth` returns one row per annotated call with :data:`TRUTH_COLUMNS`
``file, start_s, end_s, species``:

* ``file`` is the recording's **stem** — no folder, no audio extension — so truth made on
  ``site1/rec_004.wav`` matches detections on ``/data/rec_004.flac`` (see
  :func:`recording_stem`);
* ``start_s <= end_s`` are seconds from the start of the recording, both finite and >= 0;
* ``species`` is the label with surrounding whitespace removed.

Raven selection tables (:func:`read_raven_table`) are tab-separated with a header row. Raven
writes one row per *view* of a selection (``View`` = ``Spectrogram 1``, ``Waveform 1``), so
rows are reduced to one per ``Selection`` (the first). The label is read from the first of
:data:`LABEL_COLUMNS` the table has. The recording is the ``Begin File`` column when there is
one, else the table's own name: Raven names a table ``<recording stem>.Table.1.selections.txt``,
and ``.selections.txt`` (or ``.txt``) and a trailing ``.Table.<n>`` are removed.

Every fault is an :class:`AnnotationError` (a ``ValueError``) whose message names the file,
the line where there is one (line 1 is the header), and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from jaxaudio.data.files import AUDIO_EXTENSIONS, audio_inputs

__all__ = [
    "LABEL_COLUMNS",
    "TRUTH_COLUMNS",
    "AnnotationError",
    "durations_of",
    "read_raven_table",
    "read_truth",
    "recording_stem",
]

TRUTH_COLUMNS = ["file", "start_s", "end_s", "species"]
#: The columns of a Raven selection table as this project writes one (``predict`` adds
#: ``Score``; the soundscape renderer's truth tables have just these).
RAVEN_SELECTION_COLUMNS = [
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Species",
]
LABEL_COLUMNS = ("Species", "Annotation", "Class", "Label")
RAVEN_BEGIN, RAVEN_END = "Begin Time (s)", "End Time (s)"

# Suffixes dropped from a recording name; any other dot stays ("site.2024-05-01" is a stem).
_AUDIO_SUFFIXES = frozenset(AUDIO_EXTENSIONS) | {
    ".aifc", ".au", ".caf", ".m4a", ".opus", ".rf64", ".w64", ".wv", ".wma",
}  # fmt: skip
_TABLE_SUFFIX = re.compile(r"(\.selections)?\.txt$", re.IGNORECASE)
_TABLE_NUMBER = re.compile(r"\.Table\.\d+$", re.IGNORECASE)


class AnnotationError(ValueError):
    """Truth that cannot be used; the message names the file (and line) and the fault."""


def recording_stem(name: str) -> str:
    """The recording a name refers to: no folder (``/`` or ``\\``), no audio extension.

    Only a known audio extension (``.wav``, ``.flac``, ``.mp3``, ...) is removed, so a stem
    that itself holds dots (``site.2024-05-01``) is kept whole.
    """
    base = str(name).strip().replace("\\", "/").rsplit("/", 1)[-1]
    suffix = Path(base).suffix
    return base[: -len(suffix)] if suffix.lower() in _AUDIO_SUFFIXES else base


def _table_stem(path: Path) -> str:
    """``rec.Table.1.selections.txt`` -> ``rec`` (the recording a table was made on)."""
    name = _TABLE_NUMBER.sub("", _TABLE_SUFFIX.sub("", path.name))
    return recording_stem(name)


def _read_text_table(path: Path, sep: str) -> pd.DataFrame:
    """Every cell as text, blank lines kept as empty rows so row i is line i + 2."""
    kwargs = dict(sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False)
    try:
        try:
            df = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
        except UnicodeDecodeError:  # Raven on Windows writes the ANSI code page
            df = pd.read_csv(path, encoding="latin-1", **kwargs)
    except pd.errors.EmptyDataError:
        raise AnnotationError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as exc:
        raise AnnotationError(f"{path}: cannot be read as a table: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    blank = (df == "").all(axis=1) if len(df.columns) else np.ones(len(df), bool)
    return df[~np.asarray(blank)]


def _require(df: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AnnotationError(
            f"{path}: missing column(s) {missing}; the header has {list(df.columns)}"
        )


def _seconds(df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A time column as floats; the first bad cell is named with its line."""
    values = pd.to_numeric(df[column].str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationError(
            f"{path}: line {df.index[i] + 2}: {column!r} is not a number: "
            f"{df[column].iloc[i]!r} ({int(bad.sum())} bad row(s))"
        )
    return values


def _truth_frame(
    df: pd.DataFrame, files: pd.Series, cols: tuple[str, str, str], path: Path
) -> pd.DataFrame:
    """Checked TRUTH_COLUMNS from the start, end and label columns ``cols`` of ``df``."""
    start, end = _seconds(df, cols[0], path), _seconds(df, cols[1], path)
    for bad, what in ((start < 0, "a negative time"), (end < start, "end before start")):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise AnnotationError(
                f"{path}: line {df.index[i] + 2}: {what} "
                f"({cols[0]}={start[i]:g}, {cols[1]}={end[i]:g}; {int(bad.sum())} bad row(s))"
            )
    species = df[cols[2]].str.strip().to_numpy(object)
    if (species == "").any():
        i = int(np.flatnonzero(species == "")[0])
        raise AnnotationError(f"{path}: line {df.index[i] + 2}: empty label in {cols[2]!r}")
    out = {"file": files.to_numpy(object), "start_s": start, "end_s": end, "species": species}
    return pd.DataFrame(out, columns=TRUTH_COLUMNS)


def read_raven_table(path: str | Path) -> pd.DataFrame:
    """One Raven selection table as TRUTH_COLUMNS, one row per ``Selection``."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file")
    df = _read_text_table(path, sep="\t")
    label = next((c for c in LABEL_COLUMNS if c in df.columns), None)
    if label is None:
        raise AnnotationError(
            f"{path}: no label column; looked for {list(LABEL_COLUMNS)}, "
            f"the header has {list(df.columns)}"
        )
    _require(df, [RAVEN_BEGIN, RAVEN_END], path)
    if "Selection" in df.columns:
        df = df[~df["Selection"].str.strip().duplicated()]
    own = _table_stem(path)
    if "Begin File" in df.columns:
        files = df["Begin File"].map(lambda f: recording_stem(f) if f.strip() else own)
    else:
        files = pd.Series(own, index=df.index)
    return _truth_frame(df, files, (RAVEN_BEGIN, RAVEN_END, label), path)


def _read_truth_csv(path: Path) -> pd.DataFrame:
    df = _read_text_table(path, sep=",")
    _require(df, TRUTH_COLUMNS, path)
    blank = df["file"].str.strip() == ""
    if blank.any():
        raise AnnotationError(f"{path}: line {df.index[int(np.argmax(blank))] + 2}: empty file")
    return _truth_frame(df, df["file"].map(recording_stem), ("start_s", "end_s", "species"), path)


def read_truth(source: str | Path) -> pd.DataFrame:
    """Annotated calls from a folder of Raven tables or a CSV, as TRUTH_COLUMNS.

    ``source`` is a folder (every ``*.txt`` under it, recursively, read as a Raven selection
    table), a ``.txt`` Raven table, or a CSV with columns ``file, start_s, end_s, species``
    (``file`` reduced to its stem). Rows are sorted by file, start, end and species.
    """
    source = Path(source)
    if not source.exists():
        raise AnnotationError(f"{source}: no such file or folder")
    if source.is_dir():
        tables = sorted(p for p in source.rglob("*.txt") if p.is_file())
        if not tables:
            raise AnnotationError(f"{source}: folder holds no Raven selection tables (*.txt)")
        parts = [read_raven_table(p) for p in tables]
    elif source.suffix.lower() == ".txt":
        parts = [read_raven_table(source)]
    else:
        parts = [_read_truth_csv(source)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(
            {"file": [], "start_s": [], "end_s": [], "species": []}, columns=TRUTH_COLUMNS
        ).astype({"file": object, "start_s": float, "end_s": float, "species": object})
    truth = pd.concat(parts, ignore_index=True)
    return truth.sort_values(TRUTH_COLUMNS, ignore_index=True, kind="stable")


def durations_of(
    audio: Sequence[str | Path] = (), table: str | Path | None = None
) -> dict[str, float]:
    """Seconds of each recording, by stem: read from the audio files, or from a CSV with
    ``file, duration_s`` (the renderer's ``soundscapes.csv``)."""
    if table is not None:
        df = pd.read_csv(table)
        missing = {"file", "duration_s"} - set(df.columns)
        if missing:
            raise ValueError(
                f"{table}: missing column(s) {sorted(missing)} (needs file, duration_s)"
            )
        return {recording_stem(str(f)): float(d) for f, d in zip(df["file"], df["duration_s"])}
    return {recording_stem(str(p)): float(sf.info(p).duration) for p in audio_inputs(audio)}
