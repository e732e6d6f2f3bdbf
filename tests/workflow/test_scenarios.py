"""Scenarios that run in a directory of their own (no tiny run needed): a config checked
before any job (bad keys, .test/baselines-off, .test/one-species-folder), and two runs on
one results folder (.test/shared-results).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workflow.helpers import (
    filled_scenario,
    scenario,
    scheduled_jobs,
    snakemake,
    snakemake_cmd,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("models:\n  cnn:\n    lr: -0.001\n", "jaxaudio: config key models.cnn.lr (in bad.yaml):"),
        (
            "experiments:\n  v2:\n    class_weights: focal\n",
            "jaxaudio: config key experiments.v2.class_weights (in bad.yaml):",
        ),
        (
            "data:\n  source: manifest\n  manifest: /no/such/manifest.csv\n",
            "jaxaudio: config key data.manifest (in bad.yaml): file '/no/such/manifest.csv' does not exist",
        ),
        (
            "bundles:\n  - {experiment: v3, model: cnn, seed: 0}\n",
            "jaxaudio: config key bundles.0.experiment (in bad.yaml): 'v3' is not one of",
        ),
        (
            "bundles:\n  - {experiment: v2, model: cnn, ensemble: true}\n",
            "jaxaudio: config key bundles.0.ensemble (in bad.yaml): a seed ensemble needs 2 or more run.seeds",
        ),
        # a detection job over a folder without audio fails now, not after hours of training
        (
            "predict:\n  night:\n    audio: [{tmp}]\n    bundle: {experiment: v2, model: cnn, seed: 0}\n",
            "jaxaudio: config key predict.night.audio (in bad.yaml): {tmp}: folder holds no audio files",
        ),
        (
            "predict:\n  night:\n    audio: [{tmp}]\n    bundle: {experiment: v2, model: vit, seed: 0}\n",
            "jaxaudio: config key predict.night.bundle (in bad.yaml): {'experiment': 'v2', 'model': 'vit', 'seed': 0} is not one of the bundles",
        ),
    ],
)
def test_bad_config_fails_before_any_job_with_one_line(tmp_path, yaml_text, expected):
    bad = tmp_path / "bad.yaml"
    (tmp_path / "empty").mkdir()
    bad.write_text(yaml_text.replace("{tmp}", str(tmp_path / "empty")))
    proc = snakemake(tmp_path, "--cores", "1", configs=(bad,), check=False)
    assert proc.returncode != 0
    assert expected.replace("{tmp}", str(tmp_path / "empty")) in proc.stderr
    assert not (tmp_path / "results").exists()  # nothing ran


def test_empty_mapping_in_an_overlay_switches_the_baselines_off(tmp_path):
    off = scenario("baselines-off")
    assert "logreg" not in scheduled_jobs(
        snakemake(tmp_path, "-n", "--cores", "2", configs=(off,)).stdout
    )
    assert scheduled_jobs(snakemake(tmp_path, "-n", "--cores", "2").stdout)["logreg"] == 2


def test_one_species_data_set_is_rejected_before_any_job(tmp_path):
    import soundfile as sf

    robin = (
        tmp_path / "run" / "recordings" / "robin"
    )  # data.folder: recordings, under the run directory
    robin.mkdir(parents=True)
    for i in range(12):
        sf.write(robin / f"{i}.wav", np.full(2205, 0.1, np.float32), 22050)
    cfg = scenario("one-species-folder")
    proc = snakemake(tmp_path / "run", "--cores", "1", configs=(cfg,), check=False)
    assert proc.returncode != 0
    assert re.search(
        r"jaxaudio: config key data.folder \(in .*one-species-folder/config.yaml\): .*: 1 species \(robin\) .*at least 2",
        proc.stderr,
    ), proc.stderr[-2000:]
    assert not (tmp_path / "run" / "results").exists()


def test_second_run_on_the_same_results_folder_is_refused_and_the_first_finishes(tmp_path):
    """Two working directories (two clones), one `results:`: the second run stops before any
    job, naming the first; the first's outputs are untouched and it completes."""
    shared = tmp_path / "shared-results"
    cfg = filled_scenario("shared-results", tmp_path, shared=shared)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    target = f"{shared}/train/v2/cnn/seed0/summary.json"
    first = subprocess.Popen(
        [*snakemake_cmd(a, "--cores", "2", configs=(cfg,)), target],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        lock = shared / ".jaxaudio.lock"
        deadline = time.time() + 120
        while not (lock.is_file() and f'"pid": {first.pid}' in lock.read_text()):
            assert first.poll() is None and time.time() < deadline, (
                "the first run never took the lock"
            )
            time.sleep(0.1)
        second = snakemake(b, "--cores", "2", configs=(cfg,), check=False)
        assert second.returncode != 0
        assert (
            f"jaxaudio: results folder {shared} is in use by another jaxaudio run (pid {first.pid}"
            in second.stderr
        )
        assert str(a) in second.stderr  # the first run's directory
        assert not (b / ".snakemake" / "metadata").exists() or not any(
            (b / ".snakemake" / "metadata").iterdir()
        )
        out, _ = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out[-3000:]
    clips = pd.read_csv(shared / "data" / "manifest.csv")
    assert all(
        Path(p if Path(p).is_absolute() else a / p).is_file() for p in clips["path"]
    )  # synthetic audio intact
    assert (shared / "train" / "v2" / "cnn" / "seed0" / "summary.json").is_file()
