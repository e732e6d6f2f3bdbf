"""Class-aware sampling (``training.sampler``): the draw probabilities by hand and the
epoch plans' class frequencies against them (a chi-square test, scipy)."""

import jax
import numpy as np
import pytest
import scipy.stats

from jaxaudio.training.epochs import epoch_plan
from jaxaudio.training.sampling import clip_probabilities


def test_probabilities_hand_computed():
    labels = np.array([0, 0, 0, 0, 1])
    assert clip_probabilities(labels, "uniform") is None
    # balanced: each class half the draws -> class 0's clips 1/8 each, class 1's clip 1/2
    np.testing.assert_allclose(clip_probabilities(labels, "balanced"), [1 / 8] * 4 + [1 / 2])
    # sqrt: class masses ∝ √4 : √1 = 2 : 1 -> class 0's clips (2/3)/4 = 1/6, class 1's 1/3
    np.testing.assert_allclose(clip_probabilities(labels, "sqrt"), [1 / 6] * 4 + [1 / 3], rtol=1e-6)
    with pytest.raises(ValueError, match="training.sampler"):
        clip_probabilities(labels, "oversample")
    with pytest.raises(ValueError, match="one class per clip"):
        clip_probabilities(np.eye(3), "balanced")


@pytest.mark.parametrize(
    "sampler, expected",
    [
        ("balanced", [1 / 3, 1 / 3, 1 / 3]),
        ("sqrt", np.sqrt([60, 15, 3]) / np.sqrt([60, 15, 3]).sum()),
    ],
)
def test_the_plans_draw_classes_at_the_samplers_rates(sampler, expected):
    labels = np.repeat([0, 1, 2], [60, 15, 3])  # 78 clips: 20 : 5 : 1
    probs = jax.numpy.asarray(clip_probabilities(labels, sampler))
    counts = np.zeros(3)
    for epoch in range(150):
        plan = epoch_plan(
            jax.random.key(epoch), jax.random.key(0), epoch, n=78, batch=32, probs=probs
        )
        rows, mask = np.asarray(plan.rows).ravel(), np.asarray(plan.mask).ravel()
        assert mask.sum() == 78  # n draws per epoch, as a uniform epoch reads
        counts += np.bincount(labels[rows[mask == 1]], minlength=3)
    test = scipy.stats.chisquare(counts, np.asarray(expected) * counts.sum())
    assert test.pvalue > 1e-3, (counts / counts.sum(), expected)
    # the rare class is drawn ~ 26x (balanced) / ~4.5x (sqrt) more than its share 3/78


def test_a_sampled_plan_is_the_seeds_and_a_uniform_one_a_permutation():
    probs = jax.numpy.asarray(clip_probabilities(np.repeat([0, 1], [30, 4]), "balanced"))
    a = epoch_plan(jax.random.key(1), jax.random.key(2), 0, n=34, batch=16, probs=probs)
    b = epoch_plan(jax.random.key(1), jax.random.key(2), 0, n=34, batch=16, probs=probs)
    np.testing.assert_array_equal(np.asarray(a.rows), np.asarray(b.rows))
    assert len(set(np.asarray(a.rows).ravel()[:34])) < 34  # with replacement: repeats
    u = epoch_plan(jax.random.key(1), jax.random.key(2), 0, n=34, batch=16)
    assert sorted(np.asarray(u.rows).ravel()[:34]) == list(range(34))
