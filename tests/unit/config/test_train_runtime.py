"""The train rule's ``runtime`` estimate follows the run's resolved epochs: an experiment's
epochs win over its model's, and a model declared without any builds its DAG too (the
rule read ``config["models"][model]["epochs"]``: a KeyError, and the model's epochs
for every experiment)."""

import re
import subprocess
import sys

from jaxaudio.training.settings import TrainSettings
from tests.conftest import ROOT

# A model without epochs; v2 sets its own, baseline_v1 none (TrainSettings' default applies).
# No offset copies: the train inputs below are the features' only.
OVERLAY = """\
results: res
offsets: {copies: 0}
models:
  tiny: {arch: cnn, batch_size: 16, lr: 0.001, options: {channels: [8]}}
experiments:
  v2: {epochs: 7}
run: {experiments: [baseline_v1, v2], models: [tiny]}
bundles: [{experiment: v2, model: tiny, seed: 0}]
"""
FEATURES_MB = 100  # the estimate: 30 + size_mb * epochs // 50 minutes


def train_runtimes(workdir) -> dict[str, int]:
    """experiment -> runtime of its train job in a dry run over existing train inputs."""
    (workdir / "overlay.yaml").write_text(OVERLAY)
    (workdir / "res" / "features" / "default").mkdir(parents=True)
    (workdir / "res" / "data").mkdir()
    with open(workdir / "res" / "features" / "default" / "features.npy", "wb") as f:
        f.truncate(FEATURES_MB * 1024 * 1024)  # sparse: the size counts, not the bytes
    for name in (
        "features/default/clips.csv",
        "features/default/stats.json",
        "data/class_weights.json",
    ):
        (workdir / "res" / name).touch()
    targets = [f"res/train/{e}/tiny/seed0/summary.json" for e in ("baseline_v1", "v2")]
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(workdir / "overlay.yaml")]
    cmd += ["--cores", "1", "--allowed-rules", "train", "--", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    job = r"wildcards: exp=(\w+), model=tiny, seed=0\n\s+resources: .*?runtime=(\d+)"
    jobs = re.findall(job, proc.stdout)
    return {exp: int(minutes) for exp, minutes in jobs}


def test_train_runtime_uses_the_runs_epochs_for_a_model_without_epochs(tmp_path):
    assert train_runtimes(tmp_path) == {
        "v2": 30 + FEATURES_MB * 7 // 50,
        "baseline_v1": 30 + FEATURES_MB * TrainSettings.epochs // 50,
    }
