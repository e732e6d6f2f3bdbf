"""Scoring a sigmoid (multi-label) model: σ(z / T) scores, thresholds tuned on the multi-hot
validation truth, ``metrics["multilabel"]`` beside the single-label clips' argmax metrics."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.calibration import fit_binary_temperature
from jaxaudio.evaluation.thresholds import detections_at_thresholds, truth_matrix
from jaxaudio.stages.scoring import _with_copies
from tests.unit.evaluation.scoring_case import score_table

ROWS = [  # (species, split, label, background)
    *[("a", "train", 0, False), ("b", "train", 1, False), ("a;b", "train", 0, False)] * 2,
    ("a", "val", 0, False),
    ("b", "val", 1, False),
    ("a;b", "val", 0, False),
    ("noise", "val", 2, True),
    ("a", "test", 0, False),
    ("b", "test", 1, False),
    ("a;b", "test", 0, False),
    ("a;b", "test", 0, False),
    ("noise", "test", 2, True),
]


@pytest.mark.parametrize("calibration", ["none", "temperature"])
def test_sigmoid_scoring_reports_multilabel_and_single_label_metrics(tmp_path, calibration):
    clips = tmp_path / "clips.csv"
    pd.DataFrame(ROWS, columns=["species", "split", "label", "background"]).assign(
        path="x", unknown=False
    ).to_csv(clips, index=False)
    table = ClipTable.read(clips)
    assert table.species == ["a", "b"] and table.outputs("sigmoid") == ["a", "b"]
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"train_counts": {"a": 4, "b": 4, "noise": 0}}))
    z = np.where(table.targets > 0, 3.0, -3.0)  # every species of every clip is found
    scored, m = score_table(
        tmp_path, table, clips, weights, z, calibration=calibration, objective="sigmoid"
    )
    assert m["objective"] == "sigmoid"
    assert m["n_test"] == 2 and m["accuracy"] == 1.0  # the single-label species clips
    assert table.frame.loc[scored.test_rows, "species"].tolist() == ["a", "b"]
    ml = m["multilabel"]
    assert ml["n_clips"] == 5 and ml["n_multilabel_clips"] == 2
    assert ml["cmap"] == 1.0 and ml["macro_f1"] == 1.0 and ml["micro_f1"] == 1.0
    det = m["detection"]["test"]
    assert det["true_positives"] == 6 and det["false_positives"] == 0
    assert det["background_detections_per_clip"] == 0.0
    assert (m["calibration"]["temperature"] == 1.0) == (calibration == "none")
    np.testing.assert_allclose(scored.test_probs, expit(z[scored.test_rows] / scored.temperature))


def test_truth_matrix_takes_multi_hot_rows():
    y = np.array([[1, 1, 0], [0, 0, 0]], np.float32)
    assert truth_matrix(y, 3).tolist() == [[True, True, False], [False, False, False]]
    with pytest.raises(ValueError, match="3 columns"):
        truth_matrix(y[:, :2], 3)
    th = {"per_species": {"a": 0.5, "b": 0.5, "c": 0.5}}
    det = detections_at_thresholds(y, np.array([[0.9, 0.8, 0.1], [0.1, 0.1, 0.1]]), th, "abc")
    assert det["true_positives"] == 2 and det["background_detections_per_clip"] == 0.0


def test_binary_temperature_softens_over_confident_logits():
    rng = np.random.default_rng(0)
    t = (rng.random((400, 3)) < 0.3).astype(float)
    # logits that are right 80 % of the time but claim ±6
    right = rng.random(t.shape) < 0.8
    z = np.where(right == (t > 0), 6.0, -6.0)
    assert fit_binary_temperature(z, t) > 2.0
    assert fit_binary_temperature(np.zeros((0, 3)), np.zeros((0, 3))) == 1.0


def test_validation_with_copies_repeats_each_clips_labels_or_targets():
    """Validation = the clips, then each clip's K offset copies (clip-major): the labels (1-D)
    or multi-hot targets (2-D) follow, row by row."""
    rows = np.array([4, 9])
    z = np.zeros((2, 3))
    copies = lambda r: np.ones((len(r) * 2, 3))  # noqa: E731 - K = 2 copies per clip
    y1 = np.array([0, 2])
    y2 = np.array([[1, 0, 1], [0, 1, 0]], np.float32)
    _, out1 = _with_copies(z, y1, rows, copies)
    np.testing.assert_array_equal(out1, [0, 2, 0, 0, 2, 2])
    zz, out2 = _with_copies(z, y2, rows, copies)
    assert zz.shape == (6, 3)
    np.testing.assert_array_equal(out2, y2[[0, 1, 0, 0, 1, 1]])
