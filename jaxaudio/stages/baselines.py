"""Stage ``logreg`` (workflow/rules/baselines.smk): the logistic-regression reference fitted
on pooled features of the training clips and evaluated like a deep model.

Writes the fitted pipeline and the same evaluation files as a deep model (``metrics``,
``per_class``, ``confusion``), so the comparison treats both alike. With ``cache_dir`` the
outputs are stored there and reused, without fitting, when the inputs' content and the
settings are the same (:mod:`jaxaudio.runtime.step_cache`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaxaudio.baselines.logreg import LogRegSettings, fit_logreg, predict_proba, save_logreg
from jaxaudio.data.clips import ClipTable
from jaxaudio.runtime.step_cache import cached_outputs, file_digest, fingerprint
from jaxaudio.stages.scoring import EvaluationFiles, ScoringSettings, SplitFiles, score_splits

log = logging.getLogger("jaxaudio.logreg")

#: Probabilities are floored here before the log (a class the fit never saw has p = 0).
LOG_FLOOR = 1e-12


Inputs = SplitFiles


@dataclass(frozen=True, kw_only=True)
class Outputs(EvaluationFiles):
    model: Path


def fit_and_evaluate(
    inputs: Inputs, outputs: Outputs, settings: dict[str, Any], scoring: ScoringSettings
) -> None:
    """Fit on the training clips, tune thresholds on validation, evaluate on test."""
    s = LogRegSettings(**settings)
    table = ClipTable.read(inputs.clips)
    n = len(table.classes)  # the background class is the last
    shape = table.features(inputs.features).shape[1:]
    tr = table.rows("train")
    model = fit_logreg(table.features(inputs.features, tr), table.labels[tr], n, s)

    def log_probs(rows: np.ndarray) -> np.ndarray:
        p = predict_proba(model, table.features(inputs.features, rows), n)
        return np.log(np.maximum(p, LOG_FLOOR))  # logits up to a constant: softmax(log p) = p

    score_splits(table, inputs, outputs, log_probs, scoring)
    save_logreg(
        model,
        outputs.model,
        {
            "arch": "logreg",
            "species": table.species,
            "background": table.background_label,
            "settings": s.__dict__,
            "input_shape": list(shape),
        },
    )


def run(
    inputs: Inputs,
    outputs: Outputs,
    settings: dict[str, Any],
    scoring: ScoringSettings,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """:func:`fit_and_evaluate`, or its stored outputs when nothing it reads has changed."""
    if cache_dir is None:
        fit_and_evaluate(inputs, outputs, settings, scoring)
    else:
        key = fingerprint(
            features=file_digest(inputs.features),
            clips=file_digest(inputs.clips),
            weights=file_digest(inputs.weights),
            settings=dict(settings),
            scoring=asdict(scoring),
        )
        files = {
            "model": outputs.model,
            "metrics": outputs.metrics,
            "per_class": outputs.per_class,
            "confusion": outputs.confusion,
        }
        if cached_outputs(
            cache_dir,
            key,
            files,
            lambda: fit_and_evaluate(inputs, outputs, settings, scoring),
        ):
            log.info(
                "inputs and settings unchanged (content fingerprint %s): outputs reused from %s",
                key,
                cache_dir,
            )
    return json.loads(outputs.metrics.read_text())
