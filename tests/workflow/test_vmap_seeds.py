"""training.vmap_seeds in the workflow (.test/vmap-seeds): one train_seeds job per experiment
× model writes every seed's outputs, equal to those of one train job per seed."""

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.workflow.helpers import scenario, scheduled_jobs, snakemake

pytestmark = pytest.mark.slow


def test_one_job_per_experiment_and_model_trains_every_seed(tiny_run):
    out = snakemake(tiny_run, "-n", "--cores", "2", configs=(scenario("vmap-seeds"),))
    counts = scheduled_jobs(out.stdout)
    # 2 experiments x the CNN: seed 0 exists, seed 1 is missing, so each job (both seeds) reruns
    assert counts.get("train_seeds") == 2, counts
    assert "train" not in counts, counts


def test_vmapped_seeds_write_what_separate_jobs_write(tiny_run, ensemble_selection_run, tmp_path):
    workdir = tmp_path / "workflow"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    shutil.rmtree(workdir / "results" / "checkpoints" / "v2" / "cnn")  # both seeds train
    run = [f"results/train/v2/cnn/seed{s}/history.csv" for s in (0, 1)]
    snakemake(workdir, "--cores", "1", *run, configs=(scenario("vmap-seeds"),))

    log = (workdir / "results" / "logs" / "train" / "v2" / "cnn" / "seeds.log").read_text()
    assert "training seeds [0, 1] as one vmapped program" in log
    for seed, reference in ((0, tiny_run), (1, ensemble_selection_run)):
        path = f"results/train/v2/cnn/seed{seed}/history.csv"
        vmapped, alone = pd.read_csv(workdir / path), pd.read_csv(reference / path)
        assert list(vmapped["epoch"]) == list(alone["epoch"])
        np.testing.assert_array_equal(vmapped["val_macro_f1"], alone["val_macro_f1"])
        np.testing.assert_allclose(vmapped["val_loss"], alone["val_loss"], rtol=1e-4)
        np.testing.assert_allclose(vmapped["train_loss"], alone["train_loss"], rtol=1e-4)
        assert (workdir / f"results/train/v2/cnn/seed{seed}/model/model.json").is_file()
