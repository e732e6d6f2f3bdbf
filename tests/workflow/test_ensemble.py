"""Seed ensembles in the workflow (.test/ensemble-selection: a second CNN seed,
compare.ensemble), run in a copy of the tiny run (``ensemble_selection_run``,
tests/workflow/conftest.py).
The ensemble's test probabilities are its seeds' mean distribution with one temperature
(scipy on the seeds' own saved models), each run's recorded validation macro-F1 is its best
epoch's, the comparison has a row per ensemble and deploys the chosen configuration as its
ensemble, and the ensemble bundle holds both seeds and scores like the evaluation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow

EXPERIMENTS = ("baseline_v1", "v2")  # .test/config/config.yaml's run.experiments


def test_the_ensembles_probabilities_are_its_seeds_mean_calibrated_as_one_model(
    ensemble_selection_run,
):
    """The ensemble scores ``softmax(log p̄ / T)`` over every output, background column then
    dropped: ``p̄`` the mean over seeds of ``softmax(z_s)``, ``z_s`` a seed's raw logits (its
    saved model on the cached test features), ``T`` the one temperature the ensemble's
    evaluation fitted on validation. numpy/scipy reference of that formula."""
    from scipy.special import softmax

    from jaxaudio.inference.model_store import Member

    r = ensemble_selection_run / "results"
    x_all = np.load(r / "features" / "default" / "features.npy", mmap_mode="r")
    for exp in EXPERIMENTS:
        seeds = [np.load(r / "eval" / exp / "cnn" / f"seed{s}" / "test_scores.npz") for s in (0, 1)]
        ens = np.load(r / "eval" / exp / "cnn" / "ensemble" / "test_scores.npz")
        for key in ("index", "y"):
            np.testing.assert_array_equal(ens[key], seeds[0][key])
        assert not np.allclose(seeds[0]["probs"], seeds[1]["probs"])
        x = np.asarray(x_all[ens["index"]])
        members = [Member.load(r / "train" / exp / "cnn" / f"seed{s}" / "model")[0] for s in (0, 1)]
        z = [np.asarray(m.model((x - m.mean) / m.std), np.float64) for m in members]
        p_mean = np.mean([softmax(zs, axis=1) for zs in z], axis=0)
        metrics = json.loads((r / "eval" / exp / "cnn" / "ensemble" / "metrics.json").read_text())
        temperature = metrics["calibration"]["temperature"]
        assert temperature != 1.0 and 0 < metrics["validation"]["macro_f1"]  # calibrated
        k = ens["probs"].shape[1]
        expected = softmax(np.log(p_mean) / temperature, axis=1)[:, :k]
        np.testing.assert_allclose(ens["probs"], expected, rtol=1e-4, atol=1e-5)


def test_a_runs_validation_macro_f1_is_its_best_epochs(ensemble_selection_run):
    """metrics.json ``validation`` scores the saved model as training scored each epoch, so the
    ensembles are ranked against the runs on the same measure."""
    import pandas as pd

    r = ensemble_selection_run / "results"
    for exp in EXPERIMENTS:
        for s in (0, 1):
            hist = pd.read_csv(r / "train" / exp / "cnn" / f"seed{s}" / "history.csv")
            metrics = json.loads(
                (r / "eval" / exp / "cnn" / f"seed{s}" / "metrics.json").read_text()
            )
            assert metrics["validation"]["macro_f1"] == pytest.approx(
                hist["val_macro_f1"].max(), abs=1e-6
            ), (exp, s)


def test_the_comparison_has_an_ensemble_row_and_deploys_the_chosen_ensemble(
    ensemble_selection_run,
):
    """A row per ensemble with its own figures; the configuration the re-splits chose
    (test_selection.py) is deployed as its ensemble in bundles/best."""
    r = ensemble_selection_run / "results"
    c = json.loads((r / "comparison.json").read_text())
    rows = {
        (row["experiment"], row["ensemble"]): row for row in c["table"] if row["model"] == "cnn"
    }
    assert set(rows) == {(e, k) for e in EXPERIMENTS for k in (False, True)}
    for exp in EXPERIMENTS:
        m = json.loads((r / "eval" / exp / "cnn" / "ensemble" / "metrics.json").read_text())
        assert rows[(exp, True)]["macro_f1"] == pytest.approx(m["macro_f1"])
        assert rows[(exp, True)]["mean_val_macro_f1"] == pytest.approx(m["validation"]["macro_f1"])
    rec = c["recommended"]
    assert rec["ensemble"] is True and rec["seeds"] == [0, 1]
    assert "(ensemble)" in (r / "comparison.txt").read_text()
    best_info = json.loads((r / "bundles" / "best" / "bundle.json").read_text())
    assert best_info["members"] == ["members/0", "members/1"]
    assert (best_info["source"]["experiment"], best_info["source"]["seeds"]) == (
        rec["experiment"],
        [0, 1],
    )


def test_the_ensemble_bundle_holds_both_seeds_and_scores_as_evaluated(ensemble_selection_run):
    from jaxaudio.data.clips import ClipTable
    from jaxaudio.inference.bundle import load_bundle
    from jaxaudio.inference.model_store import probabilities_fn

    r = ensemble_selection_run / "results"
    b = load_bundle(r / "bundles" / "v2" / "cnn" / "ensemble")
    assert len(b.members) == 2 and b.info["source"]["seeds"] == [0, 1]
    ens = np.load(r / "eval" / "v2" / "cnn" / "ensemble" / "test_scores.npz")
    table = ClipTable.read(r / "features" / "default" / "clips.csv")
    x = np.load(r / "features" / "default" / "features.npy", mmap_mode="r")[ens["index"]]
    probs = probabilities_fn(b.members, len(b.species), b.temperature, "softmax")(np.asarray(x))
    np.testing.assert_allclose(np.asarray(probs), ens["probs"], rtol=1e-5, atol=1e-6)
    assert table.species == b.species
