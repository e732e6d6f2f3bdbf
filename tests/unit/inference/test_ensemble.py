"""Seed ensembles: the combined logits against the mean of scipy's softmax / sigmoid, an
ensemble bundle's scores against its members' mean, and the checks that refuse members
that do not agree."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, softmax

from jaxaudio.inference.bundle import BundleError, load_bundle, write_best_bundle, write_bundle
from jaxaudio.inference.model_store import combine_logits, save_model
from jaxaudio.inference.predict import Detector
from jaxaudio.models.registry import build_model
from tests.unit.inference.test_predict import TINY_FEATURES

SPECIES = ["a", "b", "c"]


def test_combined_logits_give_the_members_mean_probability():
    z = np.random.default_rng(0).normal(scale=3.0, size=(3, 5, 4)).astype(np.float32)
    got = softmax(np.asarray(combine_logits(jnp.asarray(z))), axis=-1)
    np.testing.assert_allclose(got, softmax(z, axis=-1).mean(0), rtol=1e-5, atol=1e-7)
    got = expit(np.asarray(combine_logits(jnp.asarray(z), "sigmoid"), np.float64))
    np.testing.assert_allclose(got, expit(z.astype(np.float64)).mean(0), rtol=1e-5, atol=1e-7)
    # one member: its own distribution, and its own logits with the sigmoid objective
    np.testing.assert_allclose(
        softmax(np.asarray(combine_logits(jnp.asarray(z[:1]))), axis=-1),
        softmax(z[0], axis=-1),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(combine_logits(jnp.asarray(z[:1]), "sigmoid")), z[0], atol=1e-5
    )


def member(root, seed, **meta):
    """An untrained 3-species CNN on TINY_FEATURES, initialised from ``seed``."""
    options = {"channels": [4], "dropout": 0.0}
    model = build_model("cnn", 3, TINY_FEATURES.shape, options, seed=seed)
    save_model(
        model,
        root / f"model{seed}",
        {
            "arch": "cnn",
            "options": options,
            "input_shape": list(TINY_FEATURES.shape),
            "species": SPECIES,
            "normalisation": None,
            **meta,
        },
    )
    return root / f"model{seed}"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Two members' bundles and their ensemble's, uncalibrated (T = 1)."""
    root = tmp_path_factory.mktemp("ensemble")
    metrics = root / "metrics.json"
    metrics.write_text(json.dumps({}))
    dirs = [member(root, s) for s in (0, 1)]
    cfg = TINY_FEATURES.to_dict()
    singles = [write_bundle(d, metrics, cfg, root / f"single{i}") for i, d in enumerate(dirs)]
    return singles, write_bundle(dirs, metrics, cfg, root / "ensemble")


def test_an_ensemble_bundle_scores_the_mean_of_its_members(bundles):
    singles, ens = bundles
    b = load_bundle(ens)
    assert len(b.members) == 2 and json.loads((ens / "bundle.json").read_text())["members"] == [
        "members/0",
        "members/1",
    ]
    x = np.random.default_rng(1).normal(size=(3, TINY_FEATURES.n_samples)).astype(np.float32)
    each = [Detector(load_bundle(s), batch_size=4).probabilities(x) for s in singles]
    assert not np.allclose(each[0], each[1])  # two different members
    got = Detector(b, batch_size=4).probabilities(x)
    np.testing.assert_allclose(got, np.mean(each, axis=0), rtol=1e-5, atol=1e-6)


def test_members_that_disagree_are_refused_naming_the_member(tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{}")
    dirs = [member(tmp_path, 0), member(tmp_path, 1, objective="sigmoid")]
    with pytest.raises(BundleError, match=r"model1: an ensemble's members must agree.*objective"):
        write_bundle(dirs, metrics, TINY_FEATURES.to_dict(), tmp_path / "b")
    ok = write_bundle(dirs[:1] * 2, metrics, TINY_FEATURES.to_dict(), tmp_path / "b")
    info = json.loads((ok / "bundle.json").read_text())
    meta = ok / "members" / "1" / "model.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "species": ["a", "b", "x"]}))
    with pytest.raises(BundleError, match=r"members/1: an ensemble's members must agree.*species"):
        load_bundle(ok)
    assert info["members"] == ["members/0", "members/1"]


def test_the_best_bundle_of_a_recommended_ensemble_holds_every_seed(tmp_path):
    dirs = [member(tmp_path, s) for s in (0, 1)]
    single, ens = tmp_path / "m.json", tmp_path / "ens.json"
    single.write_text("{}")
    ens.write_text(json.dumps({"calibration": {"method": "temperature", "temperature": 1.5}}))
    comparison = tmp_path / "comparison.json"
    rec = {"experiment": "v2", "model": "cnn", "ensemble": True, "seeds": [0, 1]}
    rec |= {"rule": "r", "mean_val_macro_f1": 0.7, "candidates": {"v2/cnn/ensemble": 0.7}}
    comparison.write_text(json.dumps({"recommended": rec}))
    runs = [{"experiment": "v2", "model": "cnn", "seed": s} for s in (0, 1)]
    source = write_best_bundle(
        runs,
        dirs,
        [single, single],
        comparison,
        {"v2": TINY_FEATURES.to_dict()},
        tmp_path / "best",
        ensembles=[{"experiment": "v2", "model": "cnn", "seeds": [0, 1]}],
        ensemble_metrics=[ens],
    )
    b = load_bundle(tmp_path / "best")
    assert len(b.members) == 2 and b.temperature == 1.5  # the ensemble's own calibration
    assert source["ensemble"] is True and source["seeds"] == [0, 1]
    with pytest.raises(ValueError, match="recommended ensemble v2/cnn was not evaluated"):
        write_best_bundle(
            runs, dirs, [single] * 2, comparison, {"v2": TINY_FEATURES.to_dict()}, tmp_path / "x"
        )
