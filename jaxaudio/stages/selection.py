"""Stage ``resplit`` (workflow/rules/selection.smk): the clip table of one re-split of the
train and val clips (:mod:`jaxaudio.data.resplit`), on which the selection runs of
``compare.selection`` train and validate. Its statistics, class weights and trainings reuse
the ``stats``, ``weight_table`` and ``train`` stages on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jaxaudio.data.resplit import resplit


@dataclass(frozen=True)
class Inputs:
    clips: Path  # the default feature set's clips.csv (every set has the same rows)


@dataclass(frozen=True)
class Outputs:
    clips: Path


def resplit_clips(inputs: Inputs, outputs: Outputs, seed: int) -> dict[str, Any]:
    """Write the clip table re-split with ``seed``; every cell but ``split`` is copied as
    written (read as text). Returns the clips per split."""
    frame = pd.read_csv(inputs.clips, dtype=str, keep_default_na=False)
    out = resplit(frame, seed)
    outputs.clips.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(outputs.clips, index=False)
    return {k: int(v) for k, v in out["split"].value_counts().items()}
