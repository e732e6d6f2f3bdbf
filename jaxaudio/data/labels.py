"""Multi-label manifest cells: ``species`` may hold several labels separated by ``;``.

A cell ``"parus_major; erithacus_rubecula"`` is a clip in which both species call. The
parts are stripped of spaces; nothing is dropped silently: an empty part (``"a;;b"``,
``"a;"``, ``";"``, an empty cell) or a label repeated in one cell is an error naming the
caller's ``where`` (file and line) and the cell, because either one is a typo that would
otherwise change the label set without a word. :func:`multi_hot` turns the label lists into
the ``(N, C)`` targets of the sigmoid loss
(:func:`jaxaudio.training.losses.weighted_binary_cross_entropy`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from jaxaudio.data.errors import ManifestError

__all__ = ["SEPARATOR", "is_multilabel", "multi_hot", "split_labels"]

#: Separator of the labels in one ``species`` cell.
SEPARATOR = ";"


def split_labels(value: str, where: str) -> list[str]:
    """The labels of one ``species`` cell, in the cell's order.

    Args:
        value: the raw cell, e.g. ``"a; b"`` -> ``["a", "b"]``, ``"a"`` -> ``["a"]``.
        where: where the cell is, for the error (``"manifest.csv line 7"``).

    Raises:
        ManifestError (a ``ValueError``): an empty part or a label given twice.
    """
    parts = [part.strip() for part in str(value).split(SEPARATOR)]
    if "" in parts:
        raise ManifestError(f"{where}: empty label in species cell {value!r}")
    repeated = sorted({p for p in parts if parts.count(p) > 1})
    if repeated:
        raise ManifestError(f"{where}: label(s) {repeated} repeated in species cell {value!r}")
    return parts


def multi_hot(label_lists: Sequence[Sequence[str]], species: Sequence[str]) -> np.ndarray:
    """``(N, C)`` float32 targets: ``Y[i, c] = 1`` when ``species[c]`` is in ``label_lists[i]``.

    Column order is ``species`` (the species index order). An empty list is an all-zero row
    (a clip with no known species). A label not in ``species`` is a ``ValueError`` naming it:
    dropping it would turn a clip of that species into a negative for every species.
    """
    column = {name: c for c, name in enumerate(species)}
    if len(column) != len(species):
        raise ValueError(f"species list has duplicates: {list(species)}")
    unknown = sorted({name for labels in label_lists for name in labels} - column.keys())
    if unknown:
        raise ValueError(f"label(s) not in the species list: {unknown[:10]}")
    out = np.zeros((len(label_lists), len(species)), np.float32)
    for i, labels in enumerate(label_lists):
        out[i, [column[name] for name in labels]] = 1.0
    return out


def is_multilabel(series: pd.Series) -> bool:
    """Whether any cell of a ``species`` column holds the separator ``;``.

    Only looks for the separator; :func:`split_labels` checks the cells.
    """
    return bool(series.astype(str).str.contains(SEPARATOR, regex=False).any())
