"""Data sources other than a manifest CSV: a folder tree ``root/<species>/…``.

Many labelled sound collections are shipped as one folder per species. :func:`scan_folder`
turns such a tree into the manifest table (``path, species``) so it goes through exactly the
same checks, splitting and labelling as a CSV (:func:`jaxaudio.data.manifest.resolve_manifest`).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pandas as pd

from jaxaudio.data.errors import ManifestError
from jaxaudio.data.files import AUDIO_EXTENSIONS


def _is_audio(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def scan_folder(root: str | Path) -> pd.DataFrame:
    """The manifest table of a folder tree: one row per audio file, ``species`` = its folder.

    * ``species`` is the name of the first-level folder under ``root`` (NFC-normalised, so a
      name typed on one system matches one written by another); files may be in deeper
      subfolders of it (``root/Wren/2023/site A/x.wav`` is a ``Wren``).
    * Audio files are matched by extension, case-insensitively (:data:`AUDIO_EXTENSIONS`);
      other files (notes, spreadsheets) are ignored, and so are hidden files and folders
      (name starting with ``.``). Folder links are followed (each real folder once).
    * ``path`` is absolute (``root`` made absolute and joined with the file's place in the
      tree); rows are sorted by species, then path, so the table does not depend on the
      order the file system lists entries in.

    Raises :class:`~jaxaudio.data.manifest.ManifestError` when ``root`` is not a folder, holds no
    audio file, or holds audio files directly (they would have no species).
    """
    root = Path(root)
    if not root.exists():
        raise ManifestError(f"{root}: data folder does not exist")
    if not root.is_dir():
        raise ManifestError(
            f"{root}: is not a folder (give a manifest CSV or a folder root/<species>/...)"
        )
    root = root.absolute()
    rows: list[tuple[str, str]] = []
    loose: list[str] = []
    others: list[str] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link back into the tree: do not list (or loop over) it twice
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if not _is_audio(name):
                others.append(str(rel / name))
            elif not rel.parts:
                loose.append(name)
            else:
                rows.append((str(Path(dirpath) / name), unicodedata.normalize("NFC", rel.parts[0])))
    if loose:
        raise ManifestError(
            f"{root}: {len(loose)} audio file(s) directly in the data folder, not in a species folder: "
            f"{_listing(loose)}; put each file in root/<species>/"
        )
    if not rows:
        found = (
            f" (found {len(others)} other file(s), e.g. {_listing(others, 3)})" if others else ""
        )
        raise ManifestError(
            f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder or its subfolders{found}"
        )
    df = pd.DataFrame(rows, columns=["path", "species"])
    return df.sort_values(["species", "path"], kind="stable").reset_index(drop=True)
