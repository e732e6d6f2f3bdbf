"""The background set: recordings of none of the target species, trained as "no species".

A softmax over the known species names one of them for every window it is shown, rain and
wind included; the field's most reported complaint. A model that has seen what "nothing we
know" sounds like can say so: with ``training.objective: softmax`` background clips are one
more, reserved class (the last output) that ``predict`` never reports.

Where the clips come from (config ``data.background``):

* ``synthetic: N`` — ``N`` clips of :func:`jaxaudio.data.background.synthetic_background_clips`
  (coloured noise, rain-like impulses, wind-like rumble, insect-like tonal bands, near
  silence), written as WAV files under ``results/data/background/``; ``data.background:
  synthetic`` is ``{synthetic: SYNTHETIC_CLIPS}``;
* ``decoys: N`` — ``N`` synthetic call-like sounds of no target species
  (:mod:`jaxaudio.data.decoys`: outlier exposure, so that a call of a species the model
  never learnt is "no species" too), written beside the synthetic clips; not with the
  embedded synthetic data set, whose species are calls of the same families;
* ``paths`` — the user's files and folders of background audio (searched for audio files);
  long files are cut into clip-length windows by the features step (``crop: windows``);
* rows of the data set's own manifest whose species is ``label`` (default ``background``).

Each background file gets a split of its own (seeded, the data set's fractions), so every
split has background clips to train, tune thresholds and test against. The ``background``
rule writes the set (:func:`jaxaudio.stages.data.background`); the manifest rule adds it
(:func:`jaxaudio.data.manifest.resolve_manifest`). Only the standard library here: the
workflow reads these settings while it builds its DAG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jaxaudio.config.typed import FromDict

#: Synthetic clips ``data.background: synthetic`` makes.
SYNTHETIC_CLIPS = 200

#: The label of background rows (in a manifest and in the class weights).
BACKGROUND_LABEL = "background"


@dataclass(frozen=True)
class BackgroundSettings(FromDict):
    """``data.background`` as a mapping; :meth:`from_config` also reads ``null`` and
    ``"synthetic"``."""

    synthetic: int = 0  # synthetic clips to make
    decoys: int = 0  # synthetic decoy calls to make (jaxaudio/data/decoys.py)
    paths: list[str] = field(default_factory=list)  # files and folders of background audio
    label: str = BACKGROUND_LABEL  # manifest rows with this species are background
    seed: int = 0

    @classmethod
    def from_config(cls, value: Any) -> BackgroundSettings | None:
        """``None`` (no background), ``"synthetic"`` or a mapping of this dataclass's keys."""
        if value is None:
            return None
        if value == "synthetic":
            return cls(synthetic=SYNTHETIC_CLIPS)
        return cls.from_dict(dict(value))

    @property
    def writes_files(self) -> bool:
        """Whether the background rule has anything to list (synthetic clips or paths)."""
        return self.synthetic > 0 or self.decoys > 0 or bool(self.paths)
