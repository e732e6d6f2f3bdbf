"""Per-class loss weights for long-tailed training sets, keyed by species name.

All methods take the per-species counts of the **training split** and return a weight
per species. The JSON artifact maps species name -> weight so that a weight can never be
applied to the wrong class through a list position; :func:`weight_vector` turns it into
an array in the model's species index order, by name.

Methods (``n`` = total train clips, ``C`` = number of species, ``n_c`` = clips of species c):

``balanced``
    ``w_c = n / (C * n_c)`` — identical to ``sklearn.utils.class_weight.compute_class_weight
    ("balanced")``. Mean over species of ``w_c * n_c / n`` is ``1/C``: every species gets the
    same total weight.
``effective``
    Class-balanced weights of Cui et al., CVPR 2019: the effective number of samples is
    ``E_c = (1 - beta**n_c) / (1 - beta)``, ``w_c ∝ 1 / E_c = (1 - beta) / (1 - beta**n_c)``,
    normalised so that ``sum_c w_c = C``. ``beta -> 0`` gives uniform weights, ``beta -> 1``
    inverse frequency.
``sqrt``
    ``w_c ∝ 1 / sqrt(n_c)``, normalised to mean 1: a milder re-weighting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

#: The weighting methods, each a function below and a table of the artifact.
Method = Literal["balanced", "effective", "sqrt"]
METHODS: tuple[str, ...] = get_args(Method)
#: Values an experiment's ``class_weights`` key may take: a method, ``none`` (all ones) or
#: ``recommended`` (whatever the artifact recommends).
ExperimentChoice = Literal["none", "recommended", Method]
EXPERIMENT_CHOICES: tuple[str, ...] = get_args(ExperimentChoice)
#: ``class_weights.recommended``: ``auto`` (by the imbalance ratio, :func:`recommend`) or a method.
Recommendation = Literal["auto", Method]
RECOMMENDATIONS: tuple[str, ...] = get_args(Recommendation)


class ClassWeightError(ValueError):
    """Raised when weights cannot be computed or applied (names the species at fault)."""


def class_counts(train_species: Sequence[str], species: Sequence[str]) -> dict[str, int]:
    """Count training clips per species; every species in ``species`` must have one.

    Raises :class:`ClassWeightError` naming species with no training clip (their weight
    would be infinite) and labels that are not in ``species``.
    """
    counts = {s: 0 for s in species}
    unknown = sorted({s for s in train_species if s not in counts})
    if unknown:
        raise ClassWeightError(f"training labels not in the species list: {unknown}")
    for s in train_species:
        counts[s] += 1
    missing = [s for s, n in counts.items() if n == 0]
    if missing:
        raise ClassWeightError(
            f"species with no training clip (cannot weight or learn them): {missing}"
        )
    return counts


def balanced(counts: Mapping[str, int]) -> dict[str, float]:
    """``n / (C * n_c)``, as sklearn's ``compute_class_weight("balanced")``."""
    n = sum(counts.values())
    c = len(counts)
    return {s: n / (c * k) for s, k in counts.items()}


def effective(counts: Mapping[str, int], beta: float) -> dict[str, float]:
    """Cui et al. (2019): ``(1 - beta) / (1 - beta**n_c)`` normalised to sum to ``C``."""
    if not 0.0 <= beta < 1.0:
        raise ClassWeightError(f"effective-number beta must be in [0, 1), got {beta}")
    raw = {s: (1.0 - beta) / (1.0 - beta**k) for s, k in counts.items()}
    scale = len(raw) / sum(raw.values())
    return {s: w * scale for s, w in raw.items()}


def sqrt_inverse(counts: Mapping[str, int]) -> dict[str, float]:
    """``1 / sqrt(n_c)`` normalised to mean 1."""
    raw = {s: 1.0 / np.sqrt(k) for s, k in counts.items()}
    mean = sum(raw.values()) / len(raw)
    return {s: float(w / mean) for s, w in raw.items()}


def recommend(counts: Mapping[str, int], rule: str = "auto") -> str:
    """Pick the method to recommend.

    ``auto``: ``effective`` when the imbalance ratio ``max n_c / min n_c`` exceeds 10 (strong
    long tail: pure inverse frequency gives a species with 3 clips 40x the weight of one with
    120, which overfits its few clips), else ``balanced``. Any method name forces that method.
    """
    if rule in METHODS:
        return rule
    if rule != "auto":
        raise ClassWeightError(
            f"unknown recommendation rule {rule!r}; use auto or one of {METHODS}"
        )
    ratio = max(counts.values()) / min(counts.values())
    return "effective" if ratio > 10 else "balanced"


def compute_class_weights(
    train_species: Sequence[str],
    species: Sequence[str],
    beta: float = 0.999,
    recommended: str = "auto",
) -> dict[str, Any]:
    """Every method's weights for one training split, as a JSON-ready artifact."""
    counts = class_counts(train_species, species)
    return {
        "species": list(species),
        "train_counts": counts,
        "imbalance_ratio": max(counts.values()) / min(counts.values()),
        "beta": beta,
        "recommended": recommend(counts, recommended),
        "methods": {
            "balanced": balanced(counts),
            "effective": effective(counts, beta),
            "sqrt": sqrt_inverse(counts),
        },
    }


def save_class_weights(weights: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(weights, indent=2) + "\n")


def weight_vector(
    weights: Mapping[str, Any], method: str, species: Sequence[str]
) -> np.ndarray | None:
    """Weights for ``method`` in the order of ``species`` (looked up by name).

    Returns ``None`` for ``none`` (unweighted loss). ``recommended`` resolves through the
    artifact. A species the artifact does not know is an error naming it.
    """
    if method == "none":
        return None
    if method == "recommended":
        method = weights["recommended"]
    if method not in weights["methods"]:
        raise ClassWeightError(
            f"unknown class-weight method {method!r}; choose from {EXPERIMENT_CHOICES}"
        )
    table = weights["methods"][method]
    missing = [s for s in species if s not in table]
    if missing:
        raise ClassWeightError(f"class weights have no entry for species {missing}")
    return np.asarray([table[s] for s in species], dtype=np.float32)


def species_counts(weights: Mapping[str, Any]) -> dict[str, int]:
    """The weight table's training counts of the species: the background class (its
    ``"background"`` label, :mod:`jaxaudio.data.background_set`) left out, as the rare species
    are defined among the species only."""
    label = weights.get("background")
    return {s: int(n) for s, n in weights["train_counts"].items() if s != label}
