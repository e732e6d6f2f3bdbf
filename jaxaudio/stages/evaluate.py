"""Stage ``evaluate`` (workflow/rules/evaluate.smk): score a trained model on the test split
(:func:`jaxaudio.stages.scoring.score_splits`) and write every evaluation output, with the
confusion and training-curve figures and the test scores the paired bootstrap reads. The
model's species order must equal the clip table's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.metrics import save_scores
from jaxaudio.evaluation.plots import plot_confusion, plot_history
from jaxaudio.features.offsets import copy_rows
from jaxaudio.features.streaming import NpyRows
from jaxaudio.inference.model_store import load_model, logits_fn, normaliser
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.stages.scoring import (
    EvaluationFiles,
    Logits,
    ScoringSettings,
    SplitFiles,
    score_splits,
)

#: Clips per forward pass when scoring (memory, not results: any size gives the same scores).
EVAL_BATCH = 256


@dataclass(frozen=True, kw_only=True)
class Inputs(SplitFiles):
    model: Path
    history: Path


@dataclass(frozen=True, kw_only=True)
class Outputs(EvaluationFiles):
    confusion_png: Path
    curves_png: Path
    # test_scores.npz: the test clips' rows of the clip table (index), labels (y) and
    # probabilities (probs), which the comparison's paired bootstrap reads
    scores: Path | None = None


def copy_logits(
    table: ClipTable,
    offsets: Path | None,
    scores: Callable[[np.ndarray], np.ndarray],
    batch_size: int = EVAL_BATCH,
) -> Logits | None:
    """``rows -> logits`` of the offset copies of clip-table ``rows`` (clip-major), or ``None``
    without an offsets file."""
    if offsets is None:
        return None
    k, copies = table.copies(offsets), NpyRows(offsets)
    return lambda rows: batched_apply(scores, copies, batch_size, rows=copy_rows(rows, k))


def run(
    inputs: Inputs,
    outputs: Outputs,
    scoring: ScoringSettings,
    title: str = "",
    batch_size: int = EVAL_BATCH,
) -> dict[str, Any]:
    """Evaluate one run; returns the test metrics (``metrics.json``)."""
    model, meta = load_model(inputs.model)
    table = ClipTable.read(inputs.clips)
    objective = meta.get("objective", "softmax")  # models saved before the key: softmax
    background = table.background_label if objective == "softmax" else None
    if meta["species"] != table.species or meta.get("background") != background:
        raise ValueError(
            f"{inputs.model}: the model's species (or background class) differ from {inputs.clips}"
        )
    features = table.features(inputs.features)  # read batch by batch (jaxaudio.features.streaming)
    scores = logits_fn(model, *normaliser(meta))
    scored = score_splits(
        table,
        inputs,
        outputs,
        lambda rows: batched_apply(scores, features, batch_size, rows=rows),
        scoring,
        copies=copy_logits(table, inputs.offsets, scores, batch_size),
        objective=objective,
    )
    if outputs.scores is not None:
        test = scored.test_rows
        save_scores(outputs.scores, test, table.labels[test], scored.test_probs)
    ev = scored.evaluation
    plot_confusion(
        ev.confusion,
        table.species,
        outputs.confusion_png,
        title=f"{title} — test confusion (recall)",
    )
    plot_history(pd.read_csv(inputs.history), outputs.curves_png, title=f"{title} — training")
    return ev.metrics
