"""Open-set evaluation: species held out of training and measured as unknowns.

A deployed detector meets species it was never trained on. Config ``evaluation.open_set``
holds some of the data set's species out of the model to measure what it does with them:

* ``null`` (default) — every species is a species of the model;
* ``{species: [name, ...]}`` — these species (names as in the data) are held out;
* ``{fraction: f, seed: s}`` — ``round(f · S)`` of the ``S`` species, at least 1 when
  ``f > 0`` and at most ``S − 1`` (never all), drawn with a generator seeded by ``s`` from
  the species in index order (sorted names), so the same data and seed hold out the same
  species.

The split is made with every species present (so the known species' splits are those of the
run without ``open_set``); then the held-out species' training and validation rows are
removed and their **test** rows kept, marked ``unknown``, with the reserved "no species"
label ``len(species)`` (the label of background rows, :mod:`jaxaudio.data.background_set`).
They are no species of the model: not in its outputs, class weights or training coverage
check; the clip-level metrics leave them out and the detection figures count what the
detector reports on them (:func:`jaxaudio.evaluation.thresholds.detections_at_thresholds`).

The draw happens among the species that remain after ``data.min_clips_per_species``; named
species are checked against every species of the data set
(:func:`jaxaudio.data.manifest.resolve_manifest` applies all of it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jaxaudio.config.typed import FromDict
from jaxaudio.data.errors import ManifestError

#: The config key, the start of every error message here.
KEY = "evaluation.open_set"
#: Close matches offered for a name that is not a species of the data.
CLOSE_MATCHES = 3


class OpenSetError(ManifestError):
    """An ``evaluation.open_set`` setting that cannot work; the message starts with the key."""


@dataclass(frozen=True)
class OpenSetSettings(FromDict):
    """``evaluation.open_set`` as a mapping (:meth:`from_config` also reads ``null``)."""

    species: list[str] = field(default_factory=list)  # held out by name
    fraction: float = 0.0  # or this fraction of the species, drawn
    seed: int = 0  # the draw's seed

    @classmethod
    def from_config(cls, value: Any) -> OpenSetSettings | None:
        """``None`` (no species held out), a mapping of this dataclass's keys, or settings."""
        if value is None or isinstance(value, OpenSetSettings):
            return value
        if not isinstance(value, Mapping):
            raise OpenSetError(f"{KEY}: null or a mapping (species or fraction), got {value!r}")
        try:
            settings = cls.from_dict(dict(value))
        except ValueError as exc:
            raise OpenSetError(f"{KEY}: {exc}") from exc
        settings.check()
        return settings

    def check(self) -> None:
        """The checks that need no data: one of species / fraction, fraction in [0, 1)."""
        if self.species and self.fraction:
            raise OpenSetError(f"{KEY}: give species or fraction, not both")
        if not 0 <= self.fraction < 1:
            raise OpenSetError(
                f"{KEY}.fraction: {self.fraction} is not in [0, 1) (the share of the species held "
                "out of training; never all of them)"
            )

    def check_names(self, present: Iterable[str], source: Any) -> None:
        """Every named species is one of ``present`` (the data set's), or an error naming
        the unknown ones with their close matches."""
        present = sorted(set(present))
        missing = [s for s in dict.fromkeys(self.species) if s not in present]
        if not missing:
            return
        described = []
        for name in missing:
            folded = {p.casefold(): p for p in present}
            close = [folded[name.casefold()]] if name.casefold() in folded else []
            close += [
                m for m in difflib.get_close_matches(name, present, CLOSE_MATCHES) if m not in close
            ]
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else "no close match"
            described.append(f"{name!r} ({hint})")
        raise OpenSetError(
            f"{KEY}.species: not species of {source} ({len(present)} species there): "
            + "; ".join(described)
        )

    def held_out(self, species: Sequence[str]) -> list[str]:
        """The held-out species among ``species`` (those the data set keeps), sorted.

        Named species that ``species`` lacks (excluded by ``data.min_clips_per_species``) are
        not held out: they are not in the data any more. Holding out every species is an error.
        """
        species = sorted(set(species))
        if self.species:
            held = [s for s in species if s in set(self.species)]
            if held and len(held) == len(species):
                raise OpenSetError(
                    f"{KEY}.species: holds out every species of the data set ({len(species)}): "
                    "the model needs some to train on"
                )
            return held
        return draw_held_out(species, self.fraction, self.seed)


def held_out_count(n_species: int, fraction: float) -> int:
    """``round(fraction · n_species)``, at least 1 when ``fraction > 0``, at most
    ``n_species − 1``."""
    if fraction <= 0:
        return 0
    return max(0, min(max(1, round(fraction * n_species)), n_species - 1))


def draw_held_out(species: Sequence[str], fraction: float, seed: int) -> list[str]:
    """:func:`held_out_count` of ``species`` drawn without replacement, seeded; sorted."""
    ordered = sorted(set(species))
    n = held_out_count(len(ordered), fraction)
    if n == 0:
        return []
    picked = np.random.default_rng(seed).choice(len(ordered), size=n, replace=False)
    return sorted(ordered[i] for i in picked)
