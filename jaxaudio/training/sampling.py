"""Class-aware sampling of training clips: which clips an epoch draws (``training.sampler``).

``uniform`` (the default) reads every clip once per epoch in a fresh permutation. The
oversampling alternatives of the plan draw the epoch's ``n`` clips *with replacement*, clip
``i`` (of class ``c_i``, ``n_c`` training clips in class ``c``) with probability::

    balanced:  p_i ∝ 1 / n_{c_i}         every class is drawn equally often (n / K clips each)
    sqrt:      p_i ∝ 1 / √n_{c_i}        class c drawn in proportion to √n_c

Within a class the clips are equally likely. ``balanced`` is the class-aware sampling of
Shen et al. (2016) and the "oversampling" of the long-tail literature; ``sqrt`` is the
square-root sampling of Mahajan et al. (2018), half-way between the data's frequencies and
uniform classes. The background class (when there is one) counts as a class. An epoch keeps
``n`` draws, so it costs what a uniform one does; the draws happen on the device inside the
compiled epoch (:func:`jaxaudio.training.epochs._plan`, ``jax.random.choice`` with ``p``).

Oversampling and class weights both rebalance the loss; combining them counts the
correction twice (in expectation, balanced sampling with balanced weights weights class c
by ``1/n_c²``). The config allows it, as PyTorch's ``WeightedRandomSampler`` with a weighted
loss does, but the documented rungs change one of them at a time.
"""

from __future__ import annotations

from typing import get_args

import numpy as np

from jaxaudio.training.settings import Sampler

SAMPLERS: tuple[str, ...] = get_args(Sampler)


def clip_probabilities(labels: np.ndarray, sampler: str) -> np.ndarray | None:
    """``(n,)`` float32 draw probabilities of the training clips (``labels``: their classes),
    or ``None`` for ``uniform`` (the permutation)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"training.sampler must be one of {SAMPLERS}, got {sampler!r}")
    if sampler == "uniform":
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"training.sampler: {sampler} needs one class per clip (softmax labels), got "
            f"labels of shape {labels.shape}"
        )
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n_c = counts[inverse].astype(np.float64)
    p = 1.0 / n_c if sampler == "balanced" else 1.0 / np.sqrt(n_c)
    return (p / p.sum()).astype(np.float32)
