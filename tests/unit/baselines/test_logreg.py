"""Logistic-regression baseline against numpy pooling and a pipeline built directly with sklearn."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jaxaudio.baselines.logreg import (
    LogRegSettings,
    fit_logreg,
    load_logreg,
    pooled_features,
    predict_proba,
    save_logreg,
)

C_CH, F, T = 3, 4, 10


def toy_stacks(counts, seed=0):
    """Feature stacks whose per-coefficient level and spread depend on the class."""
    rng = np.random.default_rng(seed)
    ys, xs = [], []
    for k, n in enumerate(counts):
        level = rng.normal(size=(C_CH, F, 1))
        spread = 0.5 + k * 0.2
        xs.append(level + spread * rng.normal(size=(n, C_CH, F, T)))
        ys.append(np.full(n, k))
    perm = rng.permutation(sum(counts))
    return np.concatenate(xs).astype(np.float32)[perm], np.concatenate(ys)[perm]


def numpy_pooled(x):
    """Reference pooling written out directly: all means, then all stds, channel-major."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    return np.concatenate(
        [x.mean(axis=-1).reshape(n, -1), x.std(axis=-1, ddof=0).reshape(n, -1)], axis=1
    )


def sklearn_reference(x, y, class_weight):
    pipe = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000, class_weight=class_weight, random_state=0),
    )
    return pipe.fit(numpy_pooled(x), y)


def test_pooled_features_match_numpy_and_column_order():
    x = np.random.default_rng(1).normal(size=(6, C_CH, F, T)).astype(np.float32)
    got = pooled_features(x)
    assert got.shape == (6, 2 * C_CH * F)
    np.testing.assert_allclose(got, numpy_pooled(x), rtol=1e-12, atol=1e-12)
    # Hand-picked elements: std of channel 1, coefficient 2 and mean of channel 2, coefficient 3.
    row = 4
    vals = x[row, 1, 2].astype(np.float64)
    std = np.sqrt(np.mean((vals - vals.mean()) ** 2))
    assert got[row, 3 * F + 1 * F + 2] == pytest.approx(std, rel=1e-12)
    assert got[row, 2 * F + 3] == pytest.approx(x[row, 2, 3].astype(np.float64).mean(), rel=1e-12)


def test_pooled_features_memmap_and_chunks(tmp_path):
    x = np.random.default_rng(2).normal(size=(23, C_CH, F, T)).astype(np.float32)
    mm = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="w+", shape=x.shape)
    mm[:] = x
    mm.flush()
    ro = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="r", shape=x.shape)
    ref = pooled_features(x)
    np.testing.assert_array_equal(pooled_features(ro), ref)
    np.testing.assert_array_equal(pooled_features(ro, chunk_rows=5), ref)

    class Recorder:
        """Array stand-in that records every read (it has no __array__: no full copy possible)."""

        def __init__(self, a):
            self.a, self.shape, self.ndim, self.reads = a, a.shape, a.ndim, []

        def __getitem__(self, key):
            part = self.a[key]
            self.reads.append(part.shape[0])
            return part

    rec = Recorder(ro)
    np.testing.assert_array_equal(pooled_features(rec, chunk_rows=5), ref)
    assert rec.reads == [5, 5, 5, 5, 3]


@pytest.mark.parametrize("class_weight", ["none", "balanced"])
def test_fit_predict_equals_direct_sklearn(class_weight):
    x, y = toy_stacks([60, 25, 8])
    model = fit_logreg(x, y, 3, LogRegSettings(class_weight=class_weight))
    ref = sklearn_reference(x, y, None if class_weight == "none" else "balanced")
    got = predict_proba(model, x, 3)
    assert got.shape == (len(y), 3)
    np.testing.assert_allclose(got, ref.predict_proba(numpy_pooled(x)), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    assert (got.argmax(axis=1) == y).mean() > 0.6  # the toy classes are separable enough


def test_balanced_differs_from_none_on_imbalanced_data():
    x, y = toy_stacks([80, 20, 5], seed=3)
    p_none = predict_proba(fit_logreg(x, y, 3, LogRegSettings(class_weight="none")), x, 3)
    p_bal = predict_proba(fit_logreg(x, y, 3, LogRegSettings(class_weight="balanced")), x, 3)
    assert np.abs(p_none - p_bal).max() > 1e-2
    # Up-weighting the rare class raises its mean probability.
    assert p_bal[:, 2].mean() > p_none[:, 2].mean()


def test_absent_class_gets_zero_column():
    x, y = toy_stacks([30, 20, 15, 10], seed=4)
    y = np.where(y >= 2, y + 1, y)  # labels {0, 1, 3, 4}: class 2 never seen
    model = fit_logreg(x, y, 5, LogRegSettings())
    got = predict_proba(model, x, 5, chunk_rows=7)
    ref = sklearn_reference(x, y, None).predict_proba(numpy_pooled(x))  # columns for 0, 1, 3, 4
    assert got.shape == (len(y), 5)
    np.testing.assert_array_equal(got[:, 2], 0.0)
    np.testing.assert_allclose(got[:, [0, 1, 3, 4]], ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)


def test_save_load_round_trip(tmp_path):
    x, y = toy_stacks([20, 15, 10], seed=5)
    model = fit_logreg(x, y, 3, LogRegSettings(C=0.5))
    meta = {
        "arch": "logreg",
        "species": ["a", "b", "c"],
        "settings": {"C": 0.5},
        "input_shape": [C_CH, F, T],
    }
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "stale.txt").write_text("old")
    save_logreg(model, directory, meta)
    assert not (directory / "stale.txt").exists()
    loaded, loaded_meta = load_logreg(directory)
    assert loaded_meta == meta
    assert json.loads((directory / "model.json").read_text()) == meta
    np.testing.assert_array_equal(predict_proba(loaded, x, 3), predict_proba(model, x, 3))


def test_load_missing_and_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_logreg(tmp_path / "nothing")
    x, y = toy_stacks([5, 5])
    with pytest.raises(ValueError, match="labels must lie"):
        fit_logreg(x, y + 1, 2, LogRegSettings())
    with pytest.raises(ValueError, match="class_weight"):
        fit_logreg(x, y, 2, LogRegSettings(class_weight="effective"))
    with pytest.raises(ValueError, match="N, C, F, T"):
        pooled_features(x[0])
