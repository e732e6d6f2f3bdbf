"""Class weights against sklearn and the published formulas."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from jaxaudio.training.weights import (
    ClassWeightError,
    class_counts,
    compute_class_weights,
    weight_vector,
)

SPECIES = ["Alder Flycatcher", "Blue Jay", "Common Loon", "Dunlin"]
COUNTS = {"Alder Flycatcher": 40, "Blue Jay": 10, "Common Loon": 5, "Dunlin": 3}


def labels():
    return [s for s, n in COUNTS.items() for _ in range(n)]


def test_balanced_equals_sklearn():
    w = compute_class_weights(labels(), SPECIES)["methods"]["balanced"]
    ref = compute_class_weight("balanced", classes=np.array(SPECIES), y=np.array(labels()))
    np.testing.assert_allclose([w[s] for s in SPECIES], ref, rtol=1e-12)


def test_effective_number_formula_hand_computed():
    beta = 0.9
    w = compute_class_weights(labels(), SPECIES, beta=beta)["methods"]["effective"]
    # Cui et al. 2019: w_c ∝ (1 - beta) / (1 - beta^n_c), normalised so sum_c w_c = C.
    raw = {s: (1 - beta) / (1 - beta**n) for s, n in COUNTS.items()}
    # hand check of one raw term: n=3 -> 0.1 / (1 - 0.729) = 0.369003...
    assert raw["Dunlin"] == pytest.approx(0.1 / 0.271)
    scale = 4 / sum(raw.values())
    for s in SPECIES:
        assert w[s] == pytest.approx(raw[s] * scale, rel=1e-12)
    assert sum(w.values()) == pytest.approx(4.0)
    assert w["Dunlin"] > w["Common Loon"] > w["Blue Jay"] > w["Alder Flycatcher"]


def test_effective_tends_to_inverse_frequency_and_uniform():
    near_one = compute_class_weights(labels(), SPECIES, beta=0.999999)["methods"]["effective"]
    inv = {s: 1 / n for s, n in COUNTS.items()}
    ratio = [near_one[s] / inv[s] for s in SPECIES]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-3)
    zero = compute_class_weights(labels(), SPECIES, beta=0.0)["methods"]["effective"]
    np.testing.assert_allclose(list(zero.values()), 1.0)


def test_sqrt_inverse_mean_one():
    w = compute_class_weights(labels(), SPECIES)["methods"]["sqrt"]
    assert np.mean(list(w.values())) == pytest.approx(1.0)
    # w_c ∝ n_c^-1/2: ratio between 40 and 10 clips is sqrt(4) = 2
    assert w["Blue Jay"] / w["Alder Flycatcher"] == pytest.approx(2.0)


def test_artifact_is_keyed_by_name_and_vector_follows_requested_order():
    art = compute_class_weights(labels(), SPECIES)
    assert set(art["methods"]["balanced"]) == set(SPECIES)
    reordered = list(reversed(SPECIES))
    v = weight_vector(art, "balanced", reordered)
    # balanced weight of Dunlin (3 clips) = 58 / (4 * 3)
    assert v[0] == pytest.approx(58 / 12)
    assert weight_vector(art, "none", SPECIES) is None


def test_recommended_rule():
    art = compute_class_weights(labels(), SPECIES)
    assert art["imbalance_ratio"] == pytest.approx(40 / 3)
    assert art["recommended"] == "effective"
    mild = compute_class_weights(["a"] * 5 + ["b"] * 2, ["a", "b"])
    assert mild["recommended"] == "balanced"
    np.testing.assert_allclose(
        weight_vector(art, "recommended", SPECIES), weight_vector(art, "effective", SPECIES)
    )


def test_species_without_training_clip_is_named():
    with pytest.raises(ClassWeightError, match="Dunlin"):
        class_counts(["Blue Jay", "Common Loon"], ["Blue Jay", "Common Loon", "Dunlin"])


def test_unknown_species_in_vector_is_named():
    art = compute_class_weights(labels(), SPECIES)
    with pytest.raises(ClassWeightError, match="Osprey"):
        weight_vector(art, "balanced", SPECIES + ["Osprey"])
    with pytest.raises(ClassWeightError, match="unknown class-weight method"):
        weight_vector(art, "focal", SPECIES)
