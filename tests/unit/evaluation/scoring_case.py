"""Scoring a hand-made clip table with hand-made logits: ``score_splits`` with the evaluation's
files in a temporary folder, no threshold prior, top-1, 3 s clips."""

import json

import numpy as np

from jaxaudio.data.clips import ClipTable
from jaxaudio.stages.scoring import EvaluationFiles, ScoringSettings, SplitFiles, score_splits


def score_table(tmp_path, table: ClipTable, clips, weights, z: np.ndarray, **options):
    """``(scored, metrics.json)`` of ``table`` (read from ``clips``; class weights ``weights``)
    when clip ``i``'s logits are ``z[i]``. ``options``: ``calibration`` (default ``none``)
    and ``objective`` (default ``softmax``)."""
    out = EvaluationFiles(
        metrics=tmp_path / "m.json", per_class=tmp_path / "p.csv", confusion=tmp_path / "c.npy"
    )
    settings = ScoringSettings.from_config(
        {
            "rare_quantile": 0.25,
            "top_k": 1,
            "calibration": options.get("calibration", "none"),
            "threshold_prior_clips": 0,
        },
        clip_seconds=3.0,
    )
    scored = score_splits(
        table,
        SplitFiles(features=tmp_path / "f.npy", clips=clips, weights=weights),
        out,
        lambda r: z[r],
        settings,
        objective=options.get("objective", "softmax"),
    )
    return scored, json.loads(out.metrics.read_text())
