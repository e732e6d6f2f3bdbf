"""Stage ``evaluate`` (workflow/rules/evaluate.smk): score a trained model on the test split
and write every evaluation output.

The validation split is scored too, to tune the per-species thresholds
(:mod:`jaxaudio.evaluation.thresholds`) that the test metrics ``tuned_macro_f1`` use. Train
counts (for the rare species) come from the class-weight artifact, by species name; the
model's species order must equal the clip table's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.metrics import evaluate_predictions, save_evaluation, save_scores
from jaxaudio.evaluation.plots import plot_confusion, plot_history
from jaxaudio.inference.model_store import load_model, normaliser, probabilities_fn
from jaxaudio.runtime.batching import batched_apply

#: Clips per forward pass when scoring (memory, not results: any size gives the same scores).
EVAL_BATCH = 256


@dataclass(frozen=True)
class Inputs:
    model: Path
    history: Path
    features: Path
    clips: Path
    weights: Path  # class_weights.json: its train_counts define the rare species


@dataclass(frozen=True)
class Outputs:
    metrics: Path
    per_class: Path
    confusion: Path
    confusion_png: Path
    curves_png: Path
    # test_scores.npz: the test clips' rows of the clip table (index), labels (y) and
    # probabilities (probs), which the comparison's paired bootstrap reads
    scores: Path | None = None


def run(
    inputs: Inputs,
    outputs: Outputs,
    rare_quantile: float,
    top_k: int,
    title: str = "",
    batch_size: int = EVAL_BATCH,
) -> dict[str, Any]:
    """Evaluate one run; returns the test metrics (``metrics.json``)."""
    model, meta = load_model(inputs.model)
    table = ClipTable.read(inputs.clips)
    if meta["species"] != table.species:
        raise ValueError(f"{inputs.model}: the model's species list differs from {inputs.clips}")
    train_counts = json.loads(inputs.weights.read_text())["train_counts"]
    test, val_rows = table.require("test"), table.rows("val")
    features = table.features(inputs.features)  # read batch by batch (jaxaudio.features.streaming)
    probs_fn = probabilities_fn(model, *normaliser(meta))
    labels = table.labels
    probs = batched_apply(probs_fn, features, batch_size, rows=test)
    val = (
        (labels[val_rows], batched_apply(probs_fn, features, batch_size, rows=val_rows))
        if val_rows.size
        else None
    )
    ev = evaluate_predictions(
        labels[test], probs, table.species, train_counts, rare_quantile, top_k, val=val
    )
    save_evaluation(ev, outputs.metrics, outputs.per_class, outputs.confusion)
    if outputs.scores is not None:
        save_scores(outputs.scores, test, labels[test], probs)
    plot_confusion(
        ev.confusion,
        table.species,
        outputs.confusion_png,
        title=f"{title} — test confusion (recall)",
    )
    plot_history(pd.read_csv(inputs.history), outputs.curves_png, title=f"{title} — training")
    return ev.metrics
