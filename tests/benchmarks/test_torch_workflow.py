"""The hand-written PyTorch reference of the workflow benchmark, against independent
references: librosa called directly, a loss computed by hand, and a tiny real run."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

pytest.importorskip("torch")

import librosa  # noqa: E402
import torch  # noqa: E402

from benchmarks import torch_workflow as tw  # noqa: E402

pytestmark = pytest.mark.birdsounds


def first_clip(birdsounds) -> str:
    with open(birdsounds / "manifest.csv", newline="") as f:
        return str(birdsounds / next(csv.DictReader(f))["path"])


def test_mfcc_features_of_a_real_clip_are_librosa_called_directly(birdsounds):
    path = first_clip(birdsounds)
    y, _ = librosa.load(path, sr=22050, mono=True)
    y = np.pad(y, (0, 22050 - len(y))) if len(y) < 22050 else y[(len(y) - 22050) // 2 :][:22050]
    m = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_fft=2048, hop_length=512, n_mels=128)
    want = np.stack(
        [m, librosa.feature.delta(m, width=9), librosa.feature.delta(m, order=2, width=9)]
    )
    got = tw.clip_features(path, ["mfcc"])["mfcc"]
    assert got.shape == (3, 40, 44) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_logit_adjusted_loss_matches_a_hand_computed_value():
    prior = tw.log_prior(np.array([0, 0, 0, 1]), 2)  # π = (3/4, 1/4)
    np.testing.assert_allclose(prior.numpy(), np.log([0.75, 0.25]), rtol=1e-6)
    logits = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    loss = tw.logit_adjusted_loss(logits, torch.tensor([0, 1]), prior, tau=1.0)
    # softmax of logits + log π: p(y) = π_y e^{l_y} / Σ_c π_c e^{l_c}
    l0 = -math.log(0.75 * math.e / (0.75 * math.e + 0.25))
    l1 = -math.log(0.25 * math.e**2 / (0.75 + 0.25 * math.e**2))
    assert loss.item() == pytest.approx((l0 + l1) / 2, rel=1e-6)


def test_a_tiny_run_gives_metrics_in_range_and_phases_within_the_wall(birdsounds):
    result = tw.run(
        birdsounds / "manifest.csv",
        tw.DEFAULT_EXPERIMENTS,
        seeds=[0],
        epochs=1,
        workers=2,
        threads=2,
        limit=30,
    )
    assert result["clips"] == 90
    assert set(result["runs"]) == {"v4/seed0", "v6/seed0"}
    for r in result["runs"].values():
        assert r["epochs_run"] == 1 and r["best_epoch"] == 1 and len(r["epoch_seconds"]) == 1
        for key in ("best_val_macro_f1", "test_accuracy", "test_macro_f1"):
            assert math.isfinite(r[key]) and 0.0 <= r[key] <= 1.0
    phases = (
        result["manifest_seconds"]
        + result["feature_seconds"]
        + sum(result["train_seconds"].values())
        + result["eval_seconds"]
    )
    assert phases <= result["wall_seconds"]
