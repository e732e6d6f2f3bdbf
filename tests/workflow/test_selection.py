"""The recommendation chosen on re-splits of train + val (.test/ensemble-selection: both
experiments' CNN on 2 re-splits), run in a copy of the tiny run (``ensemble_selection_run``,
tests/workflow/conftest.py). Each re-split keeps the test clips, has its own statistics and
class weights (numpy and a count over its own training rows), each re-split run validated
on its own split (its model scored again on those clips gives its best validation
macro-F1), and the recommendation is the best mean over them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

EXPERIMENTS = ("baseline_v1", "v2")


def test_each_re_split_keeps_the_test_clips_and_has_its_own_statistics(ensemble_selection_run):
    r = ensemble_selection_run / "results"
    given = pd.read_csv(r / "features" / "default" / "clips.csv")
    x = np.load(r / "features" / "default" / "features.npy")
    splits = []
    for k in (0, 1):
        d = r / "selection" / f"split{k}"
        clips = pd.read_csv(d / "clips.csv")
        pd.testing.assert_frame_equal(clips.drop(columns="split"), given.drop(columns="split"))
        test = given["split"] == "test"
        assert (clips.loc[test, "split"] == "test").all() and not (
            clips.loc[~test, "split"] == "test"
        ).any()
        # per species the given split's validation share of its pooled clips, rounded
        pooled = given["split"] != "test"
        f = (given["split"] == "val").sum() / pooled.sum()
        for species, n in given.loc[pooled, "species"].value_counts().items():
            n_val = ((clips["species"] == species) & (clips["split"] == "val")).sum()
            assert n_val == min(round(f * n), n - 1), species
        splits.append(clips["split"])
        train = (clips["split"] == "train").to_numpy()
        stats = json.loads((d / "default" / "stats.json").read_text())
        name = stats["channel_order"][0]
        np.testing.assert_allclose(
            stats["coefficients"][name]["mean"],
            x[train][:, 0].astype(np.float64).mean((0, 2)),
            rtol=1e-5,
        )
        weights = json.loads((d / "class_weights.json").read_text())
        counts = clips.loc[train & ~clips["background"].to_numpy(), "species"].value_counts()
        species = {s: n for s, n in weights["train_counts"].items() if s != weights["background"]}
        assert species == {s: int(n) for s, n in counts.items()}
    assert not splits[0].equals(splits[1])
    assert not splits[0].equals(given["split"])


def test_a_re_split_run_validated_on_its_own_split(ensemble_selection_run):
    """Its saved model, scored on the re-split's val clips and their offset copies as training
    scores an epoch, gives the best validation macro-F1 its summary records."""
    from jaxaudio.data.clips import ClipTable
    from jaxaudio.features.streaming import NpyRows
    from jaxaudio.inference.model_store import Member, ensemble_logits_fn
    from jaxaudio.stages.evaluate import copy_logits
    from jaxaudio.stages.scoring import validation_scores

    r = ensemble_selection_run / "results"
    d = r / "selection" / "split1"
    table = ClipTable.read(d / "clips.csv")
    member, _ = Member.load(d / "train" / "v2" / "cnn" / "model")
    scores = ensemble_logits_fn([member])
    val = table.rows("val")
    x = NpyRows(r / "features" / "default" / "features.npy")
    z = [np.asarray(scores(x[val]))]
    offsets = r / "features" / "default" / "offsets.npy"
    if offsets.exists():
        z.append(copy_logits(table, offsets, scores)(val))
    y = table.labels[val]
    y = np.concatenate([y, *[np.repeat(y, len(c) // len(val)) for c in z[1:]]])
    got = validation_scores(np.concatenate(z), y, "softmax")["macro_f1"]
    summary = json.loads((d / "train" / "v2" / "cnn" / "summary.json").read_text())
    assert got == pytest.approx(summary["best_val_macro_f1"], abs=1e-6)


def test_the_recommendation_is_the_best_mean_over_the_re_splits(ensemble_selection_run):
    r = ensemble_selection_run / "results"
    c = json.loads((r / "comparison.json").read_text())
    rec = c["recommended"]
    means = {}
    for e in EXPERIMENTS:
        vals = [
            json.loads(
                (r / "selection" / f"split{k}" / "train" / e / "cnn" / "summary.json").read_text()
            )["best_val_macro_f1"]
            for k in (0, 1)
        ]
        assert rec["selection"][f"{e}/cnn"]["per_split"] == pytest.approx(vals)
        means[e] = np.mean(vals)
    assert rec["experiment"] == max(EXPERIMENTS, key=lambda e: (means[e], -EXPERIMENTS.index(e)))
    assert "re-splits" in rec["rule"] and "re-splits" in (r / "comparison.txt").read_text()
    assert "re-splits of train + val" in (r / "findings.md").read_text()
