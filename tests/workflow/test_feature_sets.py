"""A second feature set in one workflow (.test/feature-sets: experiment v2_pcen on feature set
``pcen``, 32 PCEN bands without deltas), run in a copy of the tiny run
(``feature_set_run``, tests/workflow/conftest.py). Its cache holds what librosa computes
from the recordings (``librosa.pcen``, the librosa backend), its statistics are those of its training rows, and the model and
bundle name its channels. (Its bundle on a long recording: the last test here;
the rerun scope of adding it: test_rerun.py, id add-a-feature-set.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workflow.helpers import check_predict_agrees_with_evaluation

pytestmark = pytest.mark.slow


def test_the_pcen_cache_is_librosas_pcen_of_the_clips(feature_set_run):
    from jaxaudio.data.audio import fit_length, load_audio
    from jaxaudio.features.config import FeatureConfig
    from jaxaudio.features.reference import reference_stack

    cfg = FeatureConfig(kind="pcen", deltas=False, n_mels=32)  # .test/feature-sets

    r = feature_set_run / "results"
    clips = pd.read_csv(r / "features" / "pcen" / "clips.csv")
    # the same clips as the default set, row for row
    pd.testing.assert_frame_equal(clips, pd.read_csv(r / "features" / "default" / "clips.csv"))
    x = np.load(r / "features" / "pcen" / "features.npy", mmap_mode="r")
    assert x.shape == (len(clips), 1, 32, 44)
    for i in np.linspace(0, len(clips) - 1, 6).round().astype(int):
        row = clips.iloc[i]
        if row["background"]:
            continue
        y = fit_length(load_audio(Path(row["path"]), 22050), 22050, "center")
        ref = reference_stack(y, cfg)[0]  # librosa.pcen (features.backend: librosa)
        err = np.abs(x[i, 0] - ref).max() / max(np.ptp(ref), 1.0)
        assert err < 1e-3, (row["path"], err)


def test_the_pcen_sets_statistics_and_model_name_its_channel(feature_set_run):
    r = feature_set_run / "results"
    clips = pd.read_csv(r / "features" / "pcen" / "clips.csv")
    x = np.load(r / "features" / "pcen" / "features.npy")
    train = x[(clips["split"] == "train").to_numpy()].astype(np.float64)
    stats = json.loads((r / "features" / "pcen" / "stats.json").read_text())
    assert stats["channel_order"] == ["pcen"] and list(stats["channels"]) == ["pcen"]
    # per band over training clips and frames, numpy's mean and population std
    np.testing.assert_allclose(
        stats["coefficients"]["pcen"]["mean"], train[:, 0].mean((0, 2)), rtol=1e-6
    )
    np.testing.assert_allclose(
        stats["coefficients"]["pcen"]["std"], train[:, 0].std((0, 2)), rtol=1e-6
    )
    meta = json.loads(
        (r / "train" / "v2_pcen" / "cnn" / "seed0" / "model" / "model.json").read_text()
    )
    assert meta["channels"] == ["pcen"] and meta["input_shape"] == [1, 32, 44]
    # normalise: coefficient -> one mean/std per band, as stats.json has them
    np.testing.assert_allclose(
        np.ravel(meta["normalisation"]["mean"]), stats["coefficients"]["pcen"]["mean"], rtol=1e-6
    )
    info = json.loads((r / "bundles" / "v2_pcen" / "cnn" / "seed0" / "bundle.json").read_text())
    assert (info["features"]["kind"], info["features"]["n_mels"], info["features"]["deltas"]) == (
        "pcen",
        32,
        False,
    )
    # the default set's experiments are untouched: still MFCC, delta, delta2
    meta_v2 = json.loads(
        (r / "train" / "v2" / "cnn" / "seed0" / "model" / "model.json").read_text()
    )
    assert meta_v2["channels"] == ["mfcc", "delta", "delta2"]
    comparison = json.loads((r / "comparison.json").read_text())
    assert "v2_pcen" in json.dumps(comparison)


def test_predict_with_the_pcen_bundle_agrees_with_its_evaluation(feature_set_run, tmp_path):
    """The bundle v2_pcen/cnn on a long recording (helpers.check_predict_agrees_with_evaluation)."""
    check_predict_agrees_with_evaluation(feature_set_run, "v2_pcen", "pcen", "cnn", tmp_path)
