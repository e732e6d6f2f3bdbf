"""Baseline: multinomial logistic regression on time-pooled MFCC statistics.

Every deep model is reported next to this baseline: if a CNN cannot beat a linear classifier
on per-coefficient summary statistics, it is not worth its GPU hours. (On the real data set,
90 species, 1 s clips, MFCC+Δ+Δ²: acc 0.836 / macro-F1 0.821 unweighted, 0.842 / 0.824 with
``class_weight="balanced"``.)

Features. A cached stack ``x`` has shape ``(N, C, F, T)`` (``C = 3`` channels MFCC, Δ, Δ²;
``F`` coefficients; ``T`` frames). For clip ``n``, channel ``c`` and coefficient ``f``::

    mu[n, c, f]    = (1/T) * sum_t x[n, c, f, t]
    sigma[n, c, f] = sqrt((1/T) * sum_t (x[n, c, f, t] - mu[n, c, f])**2)     (ddof = 0)

Pooling over time discards the temporal order (what the CNN may exploit) but keeps the
spectral envelope and its variability, which already separates most species.

Model. ``StandardScaler`` then ``LogisticRegression`` (lbfgs, multinomial softmax over the
classes present in the training labels) minimising::

    (1/2) ||W||^2 + C * sum_i w_{y_i} * (-log softmax(W z_i + b)_{y_i})

with ``z_i`` the standardised features, the intercept ``b`` unpenalised, and ``w_y = 1`` (``class_weight="none"``) or
``w_y = n / (K * n_y)`` (``"balanced"``; ``K`` = classes present in ``y_train``).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

log = logging.getLogger("jaxaudio.logreg")

#: Rows of the (possibly memory-mapped) feature stack read at a time.
CHUNK_ROWS = 1024
#: Values :attr:`LogRegSettings.class_weight` may take, mapped to sklearn's argument.
CLASS_WEIGHTS: dict[str, str | None] = {"none": None, "balanced": "balanced"}
MODEL_FILE = "logreg.joblib"
META_FILE = "model.json"


def pooled_features(x: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Mean and population std over time of every channel and coefficient of ``x``.

    ``x``: ``(N, C, F, T)`` feature stacks; may be a ``np.memmap`` — it is read ``chunk_rows``
    clips at a time, so memory stays ``O(chunk_rows * C * F * T)`` plus the ``(N, 2*C*F)``
    result. Statistics are accumulated in float64 (a float32 two-pass std over short clips
    is fine, but float64 costs nothing here and makes the features exact to compare).

    Returns a float64 array ``(N, 2 * C * F)``; column order is all means, then all stds,
    each block channel-major::

        column c*F + f           -> mean of channel c, coefficient f
        column C*F + c*F + f     -> std  of channel c, coefficient f
    """
    if x.ndim != 4:
        raise ValueError(f"expected feature stacks (N, C, F, T), got shape {x.shape}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    n, c, f, t = x.shape
    if t < 1:
        raise ValueError("feature stacks have no frames (T = 0)")
    out = np.empty((n, 2 * c * f), dtype=np.float64)
    for start in range(0, n, chunk_rows):
        block = np.asarray(x[start : start + chunk_rows], dtype=np.float64)
        rows = block.shape[0]
        out[start : start + rows, : c * f] = block.mean(axis=-1).reshape(rows, c * f)
        out[start : start + rows, c * f :] = block.std(axis=-1).reshape(rows, c * f)
    return out


@dataclass
class LogRegSettings:
    """Hyper-parameters of the baseline.

    ``C``: inverse L2 strength (larger = weaker regularisation). ``class_weight``: ``none``
    or ``balanced`` (sklearn's ``None`` / ``"balanced"``). ``seed``: ``random_state`` (lbfgs
    is deterministic; kept so the settings record is complete and solvers can be swapped).
    """

    C: float = 1.0
    max_iter: int = 2000
    class_weight: str = "none"
    seed: int = 0


def _check_labels(y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    return y


def build_pipeline(settings: LogRegSettings) -> Pipeline:
    """The unfitted ``StandardScaler -> LogisticRegression`` pipeline for ``settings``."""
    if settings.class_weight not in CLASS_WEIGHTS:
        raise ValueError(
            f"unknown class_weight {settings.class_weight!r}; choose from {sorted(CLASS_WEIGHTS)}"
        )
    return Pipeline(
        [
            ("scaler", StandardScaler()),
            (
                "logreg",
                LogisticRegression(
                    C=settings.C,
                    max_iter=settings.max_iter,
                    class_weight=CLASS_WEIGHTS[settings.class_weight],
                    random_state=settings.seed,
                ),
            ),
        ]
    )


def fit_logreg(
    x_train: np.ndarray, y_train: np.ndarray, n_classes: int, settings: LogRegSettings
) -> Pipeline:
    """Fit the baseline on ``pooled_features(x_train)`` and integer labels ``y_train``.

    The scaler's mean/std come from the training rows only (the pipeline fits it on them and
    re-applies those statistics at prediction time), so no validation/test information leaks
    into the features. With lbfgs and more than two classes sklearn fits the multinomial
    (softmax) model. Classes absent from ``y_train`` get no coefficients;
    :func:`predict_proba` gives them probability zero.
    """
    y = _check_labels(y_train, n_classes)
    if len(y) != x_train.shape[0]:
        raise ValueError(f"{x_train.shape[0]} feature rows but {len(y)} labels")
    if np.unique(y).size < 2:
        raise ValueError("need at least two classes in the training labels")
    model = build_pipeline(settings)
    model.fit(pooled_features(x_train), y)
    return model


def predict_proba(
    model: Pipeline, x: np.ndarray, n_classes: int, chunk_rows: int = CHUNK_ROWS
) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` in class-index order ``0 .. n_classes-1``.

    sklearn's ``predict_proba`` has one column per entry of ``model.classes_`` (the labels
    seen in training); they are scattered into the full width by label, and classes the
    model never saw get a zero column. Rows are processed ``chunk_rows`` at a time.
    """
    classes = np.asarray(model.classes_)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise ValueError(f"model knows classes {classes.tolist()} outside [0, {n_classes})")
    n = x.shape[0]
    out = np.zeros((n, n_classes), dtype=np.float64)
    for start in range(0, n, chunk_rows):
        feats = pooled_features(x[start : start + chunk_rows], chunk_rows)
        out[start : start + feats.shape[0], classes] = model.predict_proba(feats)
    return out


def save_logreg(model: Pipeline, directory: str | Path, meta: dict[str, Any]) -> None:
    """Write ``model`` (``logreg.joblib``) and ``meta`` (``model.json``) to ``directory``.

    An existing ``directory`` is replaced, so no file of an earlier model survives.
    joblib files are pickles: load only models this workflow wrote.
    """
    directory = Path(directory).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    joblib.dump(model, directory / MODEL_FILE)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")


def load_logreg(directory: str | Path) -> tuple[Pipeline, dict[str, Any]]:
    """The pipeline and meta saved by :func:`save_logreg`."""
    directory = Path(directory).resolve()
    model_path, meta_path = directory / MODEL_FILE, directory / META_FILE
    if not model_path.is_file() or not meta_path.is_file():
        raise FileNotFoundError(
            f"{directory}: not a saved baseline (needs {MODEL_FILE} and {META_FILE})"
        )
    return joblib.load(model_path), json.loads(meta_path.read_text())
