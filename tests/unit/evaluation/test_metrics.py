"""Tests for jaxaudio.evaluation.metrics and jaxaudio.evaluation.plots.

References are independent of the code under test: numbers worked out by hand
(in the comments), sklearn called directly, or plain numpy.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg
from sklearn import metrics as skm

from jaxaudio.evaluation.metrics import (
    Evaluation,
    evaluate_predictions,
    rare_species,
    save_evaluation,
)
from jaxaudio.evaluation.plots import plot_confusion, plot_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------
# Hand-computed 3-class case
# --------------------------------------------------------------------------
#
# species      a  b  c   (indices 0, 1, 2)
# y_true     = 0  0  0  1  1  2
# probs rows:                          argmax   top-2 set   true in top-2?
#   [0.70, 0.20, 0.10]  true 0  ->     0        {0, 1}      yes
#   [0.60, 0.10, 0.30]  true 0  ->     0        {0, 2}      yes
#   [0.30, 0.50, 0.20]  true 0  ->     1        {1, 0}      yes
#   [0.10, 0.80, 0.10]  true 1  ->     1        {1, 0|2}    yes
#   [0.35, 0.05, 0.60]  true 1  ->     2        {2, 0}      NO
#   [0.50, 0.10, 0.40]  true 2  ->     0        {0, 2}      yes
# y_pred     = 0  0  1  1  2  0
#
# confusion (rows true, cols pred):
#        a  b  c
#   a  [ 2, 1, 0 ]
#   b  [ 0, 1, 1 ]
#   c  [ 1, 0, 0 ]
# accuracy = trace / N = (2 + 1 + 0) / 6 = 1/2
# a: TP 2, predicted-a 3 (col sum), true-a 3 -> P 2/3, R 2/3, F1 2/3
# b: TP 1, predicted-b 2,           true-b 2 -> P 1/2, R 1/2, F1 1/2
# c: TP 0, predicted-c 1,           true-c 1 -> P 0,   R 0,   F1 0
# macro F1    = (2/3 + 1/2 + 0) / 3 = (7/6) / 3 = 7/18
# weighted F1 = (3*2/3 + 2*1/2 + 1*0) / 6 = 3/6 = 1/2
# balanced accuracy = mean recall = (2/3 + 1/2 + 0) / 3 = 7/18
# top-2 accuracy = 5/6 ; top-1 = accuracy = 1/2
# train counts a 50, b 10, c 2: sorted [2, 10, 50]
#   q = 0.5  -> h = 0.5*2 = 1 -> threshold 10 -> rare {b, c}, rare F1 = (1/2 + 0)/2 = 1/4
#   q = 0.25 -> h = 0.5 -> threshold 2 + 0.5*(10-2) = 6 -> rare {c}, rare F1 = 0
# average precision, AP = sum_n (R_n - R_{n-1}) P_n over the clips ranked by p[:, c]:
#   a: ranks 0.70+ 0.60+ 0.50- 0.35- 0.30+ 0.10- -> 1/3*1 + 1/3*1 + 1/3*3/5 = 13/15
#   b: ranks 0.80+ 0.50- 0.20- 0.10- 0.10- 0.05+ -> 1/2*1 + 1/2*2/6        = 2/3
#   c: ranks 0.60- 0.40+ ...                      -> 1*1/2                  = 1/2
#   cmAP = (13/15 + 2/3 + 1/2) / 3 = 61/90
# ROC-AUC = share of (positive, negative) pairs ranked right:
#   a: 0.70 and 0.60 beat all 3 negatives, 0.30 beats 0.10 -> 7/9; b: 4/8; c: 0.40 beats 4 of 5
#   mean = (7/9 + 1/2 + 4/5) / 3 = 187/270

SPECIES3 = ["a", "b", "c"]
Y3 = np.array([0, 0, 0, 1, 1, 2])
P3 = np.array(
    [
        [0.70, 0.20, 0.10],
        [0.60, 0.10, 0.30],
        [0.30, 0.50, 0.20],
        [0.10, 0.80, 0.10],
        [0.35, 0.05, 0.60],
        [0.50, 0.10, 0.40],
    ]
)
COUNTS3 = {"a": 50, "b": 10, "c": 2}


def test_hand_computed_three_class_case():
    ev = evaluate_predictions(Y3, P3, SPECIES3, COUNTS3, rare_quantile=0.5, top_k=2)
    assert isinstance(ev, Evaluation)
    m = ev.metrics
    assert m["n_test"] == 6
    assert m["n_classes"] == 3
    assert m["accuracy"] == pytest.approx(1 / 2)
    assert m["macro_f1"] == pytest.approx(7 / 18)
    assert m["weighted_f1"] == pytest.approx(1 / 2)
    assert m["balanced_accuracy"] == pytest.approx(7 / 18)
    assert m["top_k"] == 2
    assert m["top_k_accuracy"] == pytest.approx(5 / 6)
    assert m["rare_species"] == ["b", "c"]
    assert m["rare_threshold"] == pytest.approx(10.0)
    assert m["rare_quantile"] == pytest.approx(0.5)
    assert m["rare_f1"] == pytest.approx(1 / 4)

    expected_cm = np.array([[2, 1, 0], [0, 1, 1], [1, 0, 0]])
    assert ev.confusion.dtype == np.int64
    np.testing.assert_array_equal(ev.confusion, expected_cm)

    pc = ev.per_class
    assert list(pc.columns) == [
        "species",
        "train_count",
        "precision",
        "recall",
        "f1",
        "support",
        "rare",
        "ap",
        "roc_auc",
        "threshold",
        "f1_tuned",
    ]
    np.testing.assert_allclose(pc["ap"], [13 / 15, 2 / 3, 1 / 2])
    np.testing.assert_allclose(pc["roc_auc"], [7 / 9, 1 / 2, 4 / 5])
    assert m["cmap"] == pytest.approx(61 / 90)
    assert m["roc_auc"] == pytest.approx(187 / 270)
    assert m["thresholds"] is None and m["tuned_macro_f1"] is None  # no validation split given
    assert pc["species"].tolist() == SPECIES3
    assert pc["train_count"].tolist() == [50, 10, 2]
    np.testing.assert_allclose(pc["precision"], [2 / 3, 1 / 2, 0.0])
    np.testing.assert_allclose(pc["recall"], [2 / 3, 1 / 2, 0.0])
    np.testing.assert_allclose(pc["f1"], [2 / 3, 1 / 2, 0.0])
    assert pc["support"].tolist() == [3, 2, 1]
    assert pc["rare"].tolist() == [False, True, True]


def test_hand_case_default_rare_quantile_and_top1():
    # q = 0.25 -> threshold 6 -> rare {c} whose F1 is 0 (see header comment)
    ev = evaluate_predictions(Y3, P3, SPECIES3, COUNTS3, top_k=1)
    assert ev.metrics["rare_species"] == ["c"]
    assert ev.metrics["rare_threshold"] == pytest.approx(6.0)
    assert ev.metrics["rare_f1"] == pytest.approx(0.0)
    assert ev.metrics["top_k_accuracy"] == pytest.approx(1 / 2)  # = accuracy


def test_top_k_at_least_n_classes_is_one_without_warning():
    # sklearn warns that k >= n_classes "will result in a perfect score"; the
    # module documents that and must not let the warning escape.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = evaluate_predictions(Y3, P3, SPECIES3, COUNTS3, top_k=5)
    assert [str(w.message) for w in caught] == []
    assert ev.metrics["top_k_accuracy"] == 1.0
    assert ev.metrics["top_k"] == 5


def test_two_classes_top_k():
    # C = 2 goes through sklearn's binary path; top-1 must still equal argmax accuracy.
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])
    # argmax: 0, 1, 0, 1, 1 -> correct: yes, yes, no, no, yes -> 3/5
    ev = evaluate_predictions(y, p, ["x", "y"], {"x": 5, "y": 1}, top_k=1)
    assert ev.metrics["accuracy"] == pytest.approx(3 / 5)
    assert ev.metrics["top_k_accuracy"] == pytest.approx(3 / 5)
    ev2 = evaluate_predictions(y, p, ["x", "y"], {"x": 5, "y": 1}, top_k=2)
    assert ev2.metrics["top_k_accuracy"] == 1.0


@pytest.mark.parametrize(
    "p",
    [
        # class 1 always narrowly ahead: margins p1 - p0 = 0.1, 0.2, 0.4 all lie in [0, 1]
        np.array([[0.45, 0.55], [0.40, 0.60], [0.30, 0.70]]),
        # raw scores (not probabilities), class 1 ahead in every row
        np.array([[-3.0, -2.0], [1.0, 5.0], [-0.5, 0.25]]),
    ],
)
def test_two_classes_top1_equals_argmax_for_any_scores(p):
    y = np.array([1, 1, 0])
    # argmax = 1, 1, 1 -> correct, correct, wrong -> 2/3
    ev = evaluate_predictions(y, p, ["x", "y"], {"x": 5, "y": 1}, top_k=1)
    assert ev.metrics["accuracy"] == pytest.approx(2 / 3)
    assert ev.metrics["top_k_accuracy"] == pytest.approx(2 / 3)


# --------------------------------------------------------------------------
# Random larger case vs sklearn / numpy
# --------------------------------------------------------------------------


def _random_case(seed: int = 0, n_classes: int = 20, n: int = 300):
    rng = np.random.default_rng(seed)
    # long-tailed label distribution; some classes will be absent from y_true
    weights = 1.0 / np.arange(1, n_classes + 1) ** 1.5
    y = rng.choice(n_classes, size=n, p=weights / weights.sum())
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y] += 1.5  # informative but imperfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    species = [f"sp{i:02d}" for i in range(n_classes)]
    train_counts = {s: int(c) for s, c in zip(species, rng.integers(1, 200, size=n_classes))}
    return y, probs, species, train_counts


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize(
    "seed", [0, 1, 2, 3]
)  # 1, 2: absent classes predicted; 3: rare with 0 support
def test_random_case_matches_sklearn(seed):
    y, probs, species, counts = _random_case(seed)
    C = len(species)
    k = 5
    ev = evaluate_predictions(y, probs, species, counts, rare_quantile=0.25, top_k=k)
    m = ev.metrics
    y_pred = probs.argmax(axis=1)

    assert m["n_test"] == len(y)
    assert m["n_classes"] == C
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, y_pred, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(
        skm.f1_score(y, y_pred, average="weighted", zero_division=0)
    )
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, y_pred))

    # top-k: true label among the k highest scores, in plain numpy
    topk = np.argsort(-probs, axis=1)[:, :k]
    assert m["top_k_accuracy"] == pytest.approx(np.mean((topk == y[:, None]).any(axis=1)))
    assert m["top_k_accuracy"] >= m["accuracy"]

    p, r, f, s = skm.precision_recall_fscore_support(
        y, y_pred, labels=list(range(C)), zero_division=0
    )
    np.testing.assert_allclose(ev.per_class["precision"], p)
    np.testing.assert_allclose(ev.per_class["recall"], r)
    np.testing.assert_allclose(ev.per_class["f1"], f)
    np.testing.assert_array_equal(ev.per_class["support"], s)
    np.testing.assert_array_equal(
        ev.confusion, skm.confusion_matrix(y, y_pred, labels=list(range(C)))
    )
    assert ev.confusion.shape == (C, C)
    assert ev.confusion.sum() == len(y)

    # rare species and rare F1 from an independent computation
    arr = np.array([counts[s] for s in species])
    thr = np.quantile(arr, 0.25)
    rare = [s for s in species if counts[s] <= thr]
    assert m["rare_species"] == rare
    assert m["rare_threshold"] == pytest.approx(thr)
    rare_idx = [i for i, sp in enumerate(species) if sp in rare and s[i] > 0]
    if rare_idx:
        assert m["rare_f1"] == pytest.approx(np.mean(f[rare_idx]))
    else:
        assert m["rare_f1"] is None
    assert ev.per_class["rare"].tolist() == [sp in rare for sp in species]

    # metrics are JSON-ready python types
    json.dumps(m, allow_nan=False)
    for key in ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "top_k_accuracy"):
        assert type(m[key]) is float


# --------------------------------------------------------------------------
# rare_species
# --------------------------------------------------------------------------

TIE_COUNTS = {"a": 3, "b": 3, "c": 5, "d": 10, "e": 40}


@pytest.mark.parametrize(
    "q, expected",
    [
        # sorted [3, 3, 5, 10, 40], h = q * 4
        (0.0, ["a", "b"]),  # threshold = min = 3: both tied species in
        (0.25, ["a", "b"]),  # h = 1 -> 3
        (0.3, ["a", "b"]),  # h = 1.2 -> 3 + 0.2*(5-3) = 3.4
        (0.5, ["a", "b", "c"]),  # h = 2 -> 5
        (0.6, ["a", "b", "c"]),  # h = 2.4 -> 5 + 0.4*5 = 7
        (0.75, ["a", "b", "c", "d"]),  # h = 3 -> 10
        (1.0, ["a", "b", "c", "d", "e"]),  # threshold = max
    ],
)
def test_rare_species_ties_and_threshold(q, expected):
    assert rare_species(TIE_COUNTS, q) == expected


def test_rare_species_ties_all_in_or_all_out():
    counts = {"x": 7, "y": 7, "z": 7, "w": 100}
    # sorted [7, 7, 7, 100]; any q <= 2/3 gives threshold 7 -> all three 7s
    assert rare_species(counts, 0.25) == ["x", "y", "z"]
    # all equal: everything is rare (never empty)
    assert rare_species({"p": 4, "q": 4}, 0.25) == ["p", "q"]


def test_rare_species_never_empty_and_order_follows_mapping():
    counts = {"big": 1000, "tiny": 1, "mid": 50}
    assert rare_species(counts, 0.0) == ["tiny"]
    assert rare_species(counts, 1.0) == ["big", "tiny", "mid"]


def test_rare_f1_threshold_in_evaluation_with_ties():
    species = list(TIE_COUNTS)
    # each species gets 2 test clips; predictions: a right twice, b wrong twice (-> c), others right
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    pred = np.array([0, 0, 2, 2, 2, 2, 3, 3, 4, 4])
    probs = np.full((10, 5), 0.05)
    probs[np.arange(10), pred] = 0.8
    ev = evaluate_predictions(y, probs, species, TIE_COUNTS, rare_quantile=0.25)
    assert ev.metrics["rare_species"] == ["a", "b"]
    assert ev.metrics["rare_threshold"] == pytest.approx(3.0)
    f1 = skm.f1_score(y, pred, labels=[0, 1], average=None, zero_division=0)
    # by hand: F1(a) = 1, F1(b) = 0 -> rare F1 = 1/2
    np.testing.assert_allclose(f1, [1.0, 0.0])
    assert ev.metrics["rare_f1"] == pytest.approx(np.mean(f1)) == pytest.approx(0.5)


def test_rare_f1_none_when_no_rare_species_in_test():
    # rare species is c (count 2) and has no test samples -> rare_f1 undefined
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.7, 0.2, 0.1]])
    ev = evaluate_predictions(y, probs, SPECIES3, COUNTS3)
    assert ev.metrics["rare_species"] == ["c"]
    assert ev.metrics["rare_f1"] is None


@pytest.mark.parametrize("bad_q", [-0.1, 1.5, float("nan")])
def test_rare_species_bad_quantile(bad_q):
    with pytest.raises(ValueError, match="quantile"):
        rare_species(TIE_COUNTS, bad_q)


def test_rare_species_empty_or_negative():
    with pytest.raises(ValueError, match="empty"):
        rare_species({}, 0.25)
    with pytest.raises(ValueError, match="non-negative"):
        rare_species({"a": -1, "b": 3}, 0.25)


# --------------------------------------------------------------------------
# Species with no test samples
# --------------------------------------------------------------------------


def test_species_absent_from_test_set():
    # Hand case plus species "d" (index 3) never in y_true and never predicted.
    species = SPECIES3 + ["d"]
    probs = np.hstack([P3, np.zeros((6, 1))])
    counts = {**COUNTS3, "d": 30}
    ev = evaluate_predictions(Y3, probs, species, counts, top_k=2)

    d = ev.per_class.iloc[3]
    assert d["species"] == "d"
    assert d["support"] == 0
    assert d["precision"] == 0 and d["recall"] == 0 and d["f1"] == 0
    assert ev.confusion.shape == (4, 4)
    np.testing.assert_array_equal(ev.confusion[3], 0)
    np.testing.assert_array_equal(ev.confusion[:, 3], 0)
    np.testing.assert_array_equal(ev.confusion[:3, :3], [[2, 1, 0], [0, 1, 1], [1, 0, 0]])

    # sklearn's default label set ignores d: macro F1 stays 7/18 (not 7/24 over 4 classes)
    y_pred = probs.argmax(axis=1)
    assert ev.metrics["macro_f1"] == pytest.approx(7 / 18)
    assert ev.metrics["macro_f1"] == pytest.approx(skm.f1_score(Y3, y_pred, average="macro"))
    assert ev.metrics["macro_f1"] != pytest.approx(
        skm.f1_score(Y3, y_pred, labels=[0, 1, 2, 3], average="macro", zero_division=0)
    )
    assert ev.metrics["balanced_accuracy"] == pytest.approx(7 / 18)
    assert ev.metrics["n_classes"] == 4


def test_species_predicted_but_absent_counts_in_macro_f1():
    # d (index 3) has no test clips but the last clip (true c) is predicted as d:
    # confusion a:[2,1,0,0] b:[0,1,1,0] c:[0,0,0,1] d:[0,0,0,0]
    # per-class F1:
    #   a: TP 2, predicted-a 2, true-a 3 -> P 1, R 2/3, F1 = 2*1*(2/3)/(1+2/3) = 4/5
    #   b: TP 1, predicted-b 2, true-b 2 -> F1 1/2
    #   c: TP 0 -> F1 0 ;  d: TP 0, predicted-d 1, true-d 0 -> F1 0 (counts, label in y_pred)
    # macro F1 = (4/5 + 1/2 + 0 + 0) / 4 = 13/40
    species = SPECIES3 + ["d"]
    probs = np.hstack([P3, np.zeros((6, 1))])
    probs[5] = [0.1, 0.1, 0.1, 0.7]
    ev = evaluate_predictions(Y3, probs, species, {**COUNTS3, "d": 30})
    assert ev.metrics["macro_f1"] == pytest.approx(13 / 40)
    assert ev.confusion[2, 3] == 1
    assert ev.per_class["support"].tolist() == [3, 2, 1, 0]
    assert ev.per_class["precision"].iloc[3] == 0


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(y_true=Y3[:5]), "rows"),  # N mismatch
        (dict(probs=P3[:, :2]), "columns"),  # C mismatch vs species
        (dict(probs=P3[0]), "2-D"),
        (dict(y_true=np.array([0, 0, 0, 1, 1, 3])), "out of range"),
        (dict(y_true=np.array([0, 0, 0, 1, 1, -1])), "out of range"),
        (dict(y_true=Y3.astype(float)), "integer"),
        (dict(probs=np.where(np.eye(6, 3, dtype=bool), np.nan, P3)), "probs.*NaN"),
        (dict(probs=np.where(np.eye(6, 3, dtype=bool), np.inf, P3)), "probs.*inf"),
        (dict(train_counts={"a": 5, "b": 3}), "missing from train_counts.*'c'"),
        (dict(species=["a", "b", "b"]), "unique"),
        (dict(top_k=0), "top_k"),
        (dict(rare_quantile=2.0), "quantile"),
        (dict(y_true=np.array([], dtype=int), probs=np.zeros((0, 3))), "empty"),
    ],
)
def test_invalid_inputs_raise(kwargs, pattern):
    args = dict(y_true=Y3, probs=P3, species=SPECIES3, train_counts=COUNTS3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        evaluate_predictions(**args)


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def test_save_evaluation_roundtrip(tmp_path):
    y, probs, species, counts = _random_case(3)
    ev = evaluate_predictions(y, probs, species, counts)
    out = tmp_path / "deep" / "dir"
    mj, pc, cm = out / "metrics.json", out / "per_class.csv", out / "confusion.npy"
    save_evaluation(ev, mj, pc, cm)

    loaded = json.loads(mj.read_text())
    assert loaded == ev.metrics  # floats round-trip exactly through JSON
    assert set(loaded) >= {
        "n_test",
        "n_classes",
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "balanced_accuracy",
        "top_k_accuracy",
        "rare_f1",
        "rare_species",
        "rare_threshold",
        "rare_quantile",
    }
    df = pd.read_csv(pc)
    assert len(df) == len(species)
    assert df["species"].tolist() == species
    np.testing.assert_allclose(df["f1"], ev.per_class["f1"])
    back = np.load(cm)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, ev.confusion)


def test_save_evaluation_writes_null_not_nan(tmp_path):
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.7, 0.2, 0.1]])
    ev = evaluate_predictions(y, probs, SPECIES3, COUNTS3)
    ev.metrics["extra_nan"] = float("nan")  # even a NaN injected later is sanitised
    mj = tmp_path / "m.json"
    save_evaluation(ev, mj, tmp_path / "p.csv", tmp_path / "c_without_suffix")
    text = mj.read_text()
    assert "NaN" not in text and "Infinity" not in text
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
    assert loaded["rare_f1"] is None and loaded["extra_nan"] is None
    # exact path honoured (np.save would otherwise append .npy)
    assert (tmp_path / "c_without_suffix").exists()
    np.testing.assert_array_equal(np.load(tmp_path / "c_without_suffix"), ev.confusion)


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _read_png(path):
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    return img


def test_plot_confusion_writes_png(tmp_path):
    ev = evaluate_predictions(Y3, P3, SPECIES3, COUNTS3)
    path = tmp_path / "figs" / "confusion.png"
    plot_confusion(ev.confusion, SPECIES3, path, title="hand case")
    img = _read_png(path)
    assert 300 <= img.shape[0] <= 5000 and 300 <= img.shape[1] <= 5000
    # not a blank canvas
    assert float(img[..., :3].std()) > 0.01

    raw = tmp_path / "raw.png"
    plot_confusion(ev.confusion, SPECIES3, raw, normalise=False)
    _read_png(raw)


def test_plot_confusion_scales_with_classes(tmp_path):
    rng = np.random.default_rng(0)
    C = 90
    cm = rng.integers(0, 5, size=(C, C))
    cm[3] = 0  # a species without test clips must not produce NaNs / crash
    species = [f"Genus_species_{i:02d}" for i in range(C)]
    big = tmp_path / "big.png"
    small = tmp_path / "small.png"
    plot_confusion(cm, species, big, title="90 classes")
    plot_confusion(cm[:3, :3], species[:3], small)
    img_big, img_small = _read_png(big), _read_png(small)
    assert img_big.shape[0] > 1.5 * img_small.shape[0]
    assert img_big.shape[1] > 1.5 * img_small.shape[1]


def test_plot_confusion_shape_mismatch(tmp_path):
    with pytest.raises(ValueError, match="species"):
        plot_confusion(np.zeros((3, 3), dtype=int), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="square"):
        plot_confusion(np.zeros((3, 2), dtype=int), ["a", "b", "c"], tmp_path / "x.png")


def _history(n=12):
    epoch = np.arange(1, n + 1)
    f1 = np.minimum(0.1 + 0.07 * epoch, 0.6) - 0.01 * np.maximum(epoch - 8, 0) ** 2
    return pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": 3.0 * np.exp(-0.25 * epoch),
            "val_loss": 3.2 * np.exp(-0.2 * epoch) + 0.02 * epoch,
            "val_acc": f1 + 0.15,
            "val_macro_f1": f1,
        }
    )


def test_plot_history_writes_png(tmp_path):
    path = tmp_path / "sub" / "history.png"
    plot_history(_history(), path, title="training")
    img = _read_png(path)
    assert img.shape[1] > img.shape[0]  # two panels side by side
    assert 300 <= img.shape[0] <= 3000 and 600 <= img.shape[1] <= 5000


def test_plot_history_single_epoch_and_missing_column(tmp_path):
    plot_history(_history(1), tmp_path / "one.png")
    _read_png(tmp_path / "one.png")
    with pytest.raises(ValueError, match="val_macro_f1"):
        plot_history(_history().drop(columns="val_macro_f1"), tmp_path / "bad.png")


def test_plots_do_not_leak_pyplot_figures(tmp_path):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    plot_confusion(np.eye(3, dtype=int), SPECIES3, tmp_path / "c.png")
    plot_history(_history(), tmp_path / "h.png")
    assert len(plt.get_fignums()) == before


def test_thresholds_tuned_on_validation_maximise_f1_by_brute_force():
    """Each species' threshold is the best of all candidate thresholds (every distinct
    validation score), checked with sklearn's f1_score one candidate at a time."""
    from sklearn.metrics import f1_score

    from jaxaudio.evaluation.thresholds import tune_thresholds

    rng = np.random.default_rng(3)
    species = ["a", "b", "c", "d"]
    y_val = rng.integers(0, 3, 40)  # "d" has no validation clip
    p_val = rng.dirichlet(np.ones(4), 40)
    p_val[np.arange(40), y_val] += 0.3 * rng.random(40)
    th = tune_thresholds(y_val, p_val, species)
    for c, name in enumerate(species[:3]):
        best = max(f1_score(y_val == c, p_val[:, c] >= t) for t in np.unique(p_val[:, c]))
        assert f1_score(y_val == c, p_val[:, c] >= th["per_species"][name]) == pytest.approx(best)
    assert th["tuned"] == ["a", "b", "c"] and th["per_species"]["d"] == th["global"]
    onehot = np.eye(4, dtype=bool)[y_val].ravel()
    best_global = max(f1_score(onehot, p_val.ravel() >= t) for t in np.unique(p_val))
    assert f1_score(onehot, p_val.ravel() >= th["global"]) == pytest.approx(best_global)


def test_tuned_f1_on_test_uses_the_validation_thresholds():
    # val: a's clips score >= 0.6, the others <= 0.3 -> t_a = 0.6 (the highest threshold
    # with F1 1); on test a clip of a at 0.55 is then missed: a's F1 = 2*1*0.5/1.5 = 2/3
    species = ["a", "b"]
    y_val = np.array([0, 0, 1, 1])
    p_val = np.array([[0.6, 0.4], [0.9, 0.1], [0.3, 0.7], [0.2, 0.8]])
    y_test = np.array([0, 0, 1])
    p_test = np.array([[0.55, 0.45], [0.95, 0.05], [0.1, 0.9]])
    ev = evaluate_predictions(
        y_test, p_test, species, {"a": 5, "b": 5}, top_k=1, val=(y_val, p_val)
    )
    assert ev.metrics["thresholds"]["per_species"] == {
        "a": pytest.approx(0.6),
        "b": pytest.approx(0.7),
    }
    np.testing.assert_allclose(ev.per_class["f1_tuned"], [2 / 3, 1.0])
    assert ev.metrics["tuned_macro_f1"] == pytest.approx((2 / 3 + 1) / 2)
