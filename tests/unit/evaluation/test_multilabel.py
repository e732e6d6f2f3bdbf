"""Multi-label metrics against sklearn on a hand-made case, and one AP computed by hand."""

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
)

from jaxaudio.evaluation.events import window_cmap
from jaxaudio.evaluation.multilabel import (
    average_precision_per_class,
    class_mean_ap,
    multilabel_metrics,
)

SPECIES = ["a", "b", "c", "d"]
# c has no positive clip; row 4 has no species at all.
Y = np.array(
    [
        [1, 0, 0, 1],
        [0, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
    ]
)
S = np.array(
    [
        [0.9, 0.2, 0.1, 0.30],
        [0.8, 0.7, 0.2, 0.20],
        [0.3, 0.6, 0.1, 0.10],
        [0.1, 0.4, 0.3, 0.40],
        [0.6, 0.5, 0.2, 0.05],
        [0.7, 0.1, 0.1, 0.15],
    ]
)
T = np.array([0.5, 0.5, 0.5, 0.5])  # d never reaches its threshold, c neither


def test_hand_computed_average_precision():
    # species a, scores sorted: .9 (+) .8 (-) .7 (+) .6 (-) .3 (+) .1 (-); 3 positives.
    # AP = (1/3) * (P@1 + P@3 + P@5) = (1/3) * (1/1 + 2/3 + 3/5) = 34/45
    ap = average_precision_per_class(Y, S)
    assert ap[0] == pytest.approx(34 / 45)
    assert ap[2] is None  # c: no positive, no precision-recall curve


def test_against_sklearn():
    m = multilabel_metrics(Y, S, T, SPECIES)
    expected_ap = [average_precision_score(Y[:, c], S[:, c]) for c in (0, 1, 3)]
    assert m["cmap"] == pytest.approx(np.mean(expected_ap))
    assert m["n_cmap_species"] == 3
    assert m["n_clips"] == 6
    detected = S >= T
    assert m["micro_f1"] == pytest.approx(f1_score(Y, detected, average="micro", zero_division=0))
    # macro over the species with a clip or a detection: a, b, d (c has neither)
    assert m["macro_f1"] == pytest.approx(
        f1_score(Y, detected, labels=[0, 1, 3], average="macro", zero_division=0)
    )
    assert m["label_ranking_average_precision"] == pytest.approx(
        label_ranking_average_precision_score(Y, S)
    )
    p, r, f, support = precision_recall_fscore_support(Y, detected, zero_division=0)
    for c, name in enumerate(SPECIES):
        row = m["per_class"][name]
        assert row["support"] == support[c] and row["threshold"] == 0.5
        for key, ref in (("precision", p), ("recall", r), ("f1", f)):
            assert row[key] is None or row[key] == pytest.approx(ref[c])


def test_undefined_ratios_are_none_not_zero():
    per = multilabel_metrics(Y, S, T, SPECIES)["per_class"]
    # d: 2 clips, no detection -> precision undefined, recall 0, F1 0
    assert per["d"]["precision"] is None
    assert per["d"]["recall"] == 0.0 and per["d"]["f1"] == 0.0
    # c: no clip, no detection -> everything undefined
    assert per["c"] == {
        "ap": None, "precision": None, "recall": None, "f1": None, "support": 0, "threshold": 0.5,
    }  # fmt: skip
    # a: detections .9, .8, .7, .6 -> TP rows 0, 5; P = 2/4, R = 2/3, F1 = 4/7
    assert per["a"]["precision"] == pytest.approx(0.5)
    assert per["a"]["recall"] == pytest.approx(2 / 3)
    assert per["a"]["f1"] == pytest.approx(4 / 7)


def test_a_species_reported_without_clips_counts_in_macro_f1():
    t = T.copy()
    t[2] = 0.25  # c is now reported on row 3 (0.3): a false detection, F1_c = 0
    m = multilabel_metrics(Y, S, t, SPECIES)
    detected = S >= t
    assert m["macro_f1"] == pytest.approx(f1_score(Y, detected, average="macro", zero_division=0))
    assert m["per_class"]["c"]["f1"] == 0.0 and m["per_class"]["c"]["recall"] is None


def test_scalar_threshold_and_shape_checks():
    assert multilabel_metrics(Y, S, 0.5, SPECIES) == multilabel_metrics(Y, S, T, SPECIES)
    with pytest.raises(ValueError, match="equal 2-d shapes"):
        multilabel_metrics(Y, S[:, :3], 0.5, SPECIES)
    with pytest.raises(ValueError, match="3 species names for 4 columns"):
        multilabel_metrics(Y, S, 0.5, SPECIES[:3])
    assert class_mean_ap(np.zeros((3, 2)), np.ones((3, 2))) == (None, 0)
    m = multilabel_metrics(np.zeros((2, 2)), np.zeros((2, 2)), 0.5, ["x", "y"])
    assert m["cmap"] is None and m["macro_f1"] is None


def test_window_cmap_is_the_same_function():
    assert window_cmap(Y, S) == class_mean_ap(Y, S)
