"""The Snakemake workflow end to end on the tiny .test config, in a temporary directory.

Tests run in file order and share one working directory: the end-to-end run, then a dry
run after a one-key change, then an interrupted and resumed training job.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import textwrap
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"
EXPERIMENTS, MODELS = ("baseline_v1", "v2"), ("cnn", "vit")


def snakemake_cmd(workdir: Path, *args: str, configs: tuple[Path, ...] = ()) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(TEST_CONFIG), *map(str, configs), *args,
    ]


def snakemake(workdir: Path, *args: str, configs: tuple[Path, ...] = (), check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(snakemake_cmd(workdir, *args, configs=configs), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def scheduled_jobs(output: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> count (the target rule `all` left out)."""
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("workflow")
    snakemake(wd, "--cores", "2")
    return wd


def test_every_output_exists_and_parses(workdir):
    r = workdir / "results"
    summary = json.loads((r / "data" / "dataset.json").read_text())
    species = summary["species"]
    assert len(species) == 10 and species == sorted(species)
    manifest = pd.read_csv(r / "data" / "manifest.csv")
    assert set(manifest["split"]) == {"train", "val", "test"}
    clips = pd.read_csv(r / "features" / "clips.csv")  # crop=center: one clip per recording
    assert list(clips["recording"]) == list(range(len(manifest))) and list(clips["path"]) == list(manifest["path"])
    assert pd.read_csv(r / "features" / "skipped.csv").empty

    features = np.load(r / "features" / "features.npy", mmap_mode="r")
    assert features.shape == (len(manifest), 3, 40, 44) and features.dtype == np.float32
    stats = json.loads((r / "features" / "stats.json").read_text())
    train = np.asarray(features[manifest.index[manifest["split"] == "train"]], np.float64)
    for k, ch in enumerate(("mfcc", "delta", "delta2")):  # statistics of the training rows only
        assert stats["channels"][ch]["mean"] == pytest.approx(train[:, k].mean(), rel=1e-5, abs=1e-6)
        assert stats["channels"][ch]["std"] == pytest.approx(train[:, k].std(), rel=1e-5)

    weights = json.loads((r / "data" / "class_weights.json").read_text())
    counts = manifest[manifest["split"] == "train"]["species"].value_counts()
    n, c = counts.sum(), len(counts)
    for sp in species:  # balanced = n / (C n_c), looked up by name
        assert weights["methods"]["balanced"][sp] == pytest.approx(n / (c * counts[sp]))

    for exp in EXPERIMENTS:
        for model in MODELS:
            t, e = r / "train" / exp / model / "seed0", r / "eval" / exp / model / "seed0"
            history = pd.read_csv(t / "history.csv")
            assert list(history.columns[:5]) == ["epoch", "train_loss", "val_loss", "val_acc", "val_macro_f1"]
            assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
            meta = json.loads((t / "model" / "model.json").read_text())
            assert meta["species"] == species and (meta["normalisation"] is None) == (exp == "baseline_v1")
            metrics = json.loads((e / "metrics.json").read_text())
            assert 0 <= metrics["macro_f1"] <= 1 and metrics["n_test"] == int((manifest["split"] == "test").sum())
            per_class = pd.read_csv(e / "per_class.csv")
            assert list(per_class["species"]) == species
            cm = np.load(e / "confusion.npy")
            assert cm.shape == (10, 10) and cm.sum() == metrics["n_test"]
            assert np.trace(cm) / cm.sum() == pytest.approx(metrics["accuracy"])
            for png in ("confusion.png", "curves.png"):
                assert (e / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert (r / "logs" / "train" / exp / model / "seed0.log").stat().st_size > 0
            assert (r / "benchmarks" / "train" / exp / model / "seed0.tsv").is_file()

    comparison = json.loads((r / "comparison.json").read_text())
    assert comparison["decision"] in {"GO", "INVESTIGATE", "NO-GO"}
    assert set(comparison["models"]) == set(MODELS)
    for model in MODELS:
        exps = comparison["models"][model]["experiments"]
        assert set(exps) == set(EXPERIMENTS)
        m = json.loads((r / "eval" / "v2" / model / "seed0" / "metrics.json").read_text())
        b = json.loads((r / "eval" / "baseline_v1" / model / "seed0" / "metrics.json").read_text())
        assert exps["v2"]["delta_vs_baseline"]["macro_f1"] == pytest.approx(m["macro_f1"] - b["macro_f1"])
        assert isinstance(exps["v2"]["beats_baselines"], bool)

    # the logistic-regression baselines: a row each, equal to sklearn fitted here directly
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, np.float64)
    pooled = np.concatenate([x.mean(-1).reshape(len(x), -1), x.std(-1).reshape(len(x), -1)], axis=1)
    split, y = manifest["split"].to_numpy(), manifest["label"].to_numpy()
    for name, cw in (("logreg", None), ("logreg_balanced", "balanced")):
        ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight=cw))
        pred = ref.fit(pooled[split == "train"], y[split == "train"]).predict(pooled[split == "test"])
        got = json.loads((r / "eval" / "baselines" / name / "metrics.json").read_text())
        assert got["macro_f1"] == pytest.approx(f1_score(y[split == "test"], pred, average="macro"), abs=1e-3)
        assert comparison["baselines"][name]["macro_f1"] == got["macro_f1"]
        assert ("sklearn", name) in {(row["model"], row["experiment"]) for row in comparison["table"]}


def test_best_bundle_is_the_run_with_the_best_validation_macro_f1(workdir):
    from jaxaudio.inference.bundle import load_bundle

    r = workdir / "results"
    val = {(e, m): json.loads((r / "train" / e / m / "seed0" / "summary.json").read_text())["best_val_macro_f1"]
           for e in EXPERIMENTS for m in MODELS}
    best = max(val, key=val.get)
    bundle = load_bundle(r / "bundles" / "best")
    assert (bundle.info["source"]["experiment"], bundle.info["source"]["model"]) == best
    assert bundle.info["metrics"]["macro_f1"] == json.loads(
        (r / "eval" / best[0] / best[1] / "seed0" / "metrics.json").read_text())["macro_f1"]


def test_report_figures_hold_what_the_run_measured(workdir):
    """The report's cross-run pieces agree with the files they summarise."""
    from jaxaudio.evaluation.report import benchmark_table

    r = workdir / "results"
    page = (r / "report" / "comparison.html").read_text()
    comparison = json.loads((r / "comparison.json").read_text())
    assert f"Overall decision (v2 vs baseline_v1):\n<b style=" in page and f">{comparison['decision']}</b></p>" in page
    for row in comparison["table"]:  # every row's macro-F1, as printed in the text table
        assert f"<td>{row['experiment']}</td>" in page and f"<td>{row['macro_f1']:.3f}</td>" in page
    jobs = benchmark_table(r / "benchmarks")
    tsvs = sorted(r.joinpath("benchmarks").rglob("*.tsv"))
    assert len(jobs) == len(tsvs) >= 17  # every job of the run but the figures' own
    assert jobs.set_index("job").loc["train/v2/cnn/seed0", "s"] == pytest.approx(
        pd.read_csv(r / "benchmarks" / "train" / "v2" / "cnn" / "seed0.tsv", sep="\t")["s"].mean())
    assert set(jobs["rule"]) >= {"features", "stats", "class_weights", "train", "evaluate", "baseline", "compare", "bundle"}
    for png in ("f1_vs_train_count.png", "class_weights.png", "timings.png"):
        assert (r / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_snakemake_report_opens_in_chromium_with_every_section(workdir, tmp_path):
    """`snakemake --report` builds the HTML report; headless Chromium renders it and a reader
    clicking through the menu sees each section's table or figure."""
    import shutil

    from jaxaudio.evaluation.report import render_report, report_views

    report = workdir / "results" / "report.html"
    snakemake(workdir, "--report", str(report))
    page = report.read_text()
    for caption in ("The findings of this run", "Test F1 of each rare species", "Candidate minus baseline test confusion",
                    "Test-split metrics of every", "Each point is one species", "Class weights computed",
                    "rows normalised", "The dashed line marks the epoch", "Wall-clock seconds and peak"):
        assert caption in page, caption
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (`make chromium`; CI installs it in .ci/run)")
    home = render_report(report, tmp_path / "home.png")
    for section in ("0. Findings", "1. Comparison", "2. Data", "3. Confusion matrices", "4. Training curves",
                    "5. Benchmark times"):
        assert section in home["text"]
    assert "experiments baseline_v1, v2; models cnn, vit" in home["text"]  # workflow.rst, filled from the config
    for name, clicks in report_views("results", "v2", "baseline_v1", "vit").items():
        if not clicks:
            continue
        shown = "frames" if clicks[-1].endswith(".html") else "images"
        seen = render_report(report, tmp_path / f"{name}.png", clicks)
        assert seen[shown] > home[shown], (name, seen)  # the section's table/figure is on screen
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_predict_on_a_long_recording_agrees_with_the_evaluated_model(workdir, tmp_path):
    """The bundle the workflow wrote, run by `jaxaudio predict` over one long file made of
    test clips with noise between them at known times: the window aligned with each clip
    names the species the evaluated model predicts for that clip (same decoder, frontend,
    normalisation and parameters as training and evaluation), and the detection rate is
    the evaluated accuracy on those clips."""
    import soundfile as sf

    from jaxaudio.data.audio import fit_length, load_audio
    from jaxaudio.inference.bundle import load_bundle
    from jaxaudio.cli import main
    from jaxaudio.inference.model_store import normaliser

    r = workdir / "results"
    bundle_dir = r / "bundles" / "v2" / "cnn" / "seed0"
    bundle = load_bundle(bundle_dir)
    cfg = bundle.features
    clips = pd.read_csv(r / "features" / "clips.csv")
    test = clips[clips["split"] == "test"].groupby("species").head(2).reset_index()
    sr, n, gap = cfg.sample_rate, cfg.n_samples, int(1.5 * cfg.sample_rate)
    rng = np.random.default_rng(0)
    parts, starts = [], []
    for p in test["path"]:
        parts.append(rng.normal(scale=1e-3, size=gap).astype(np.float32))
        starts.append(sum(map(len, parts)) / sr)
        path = Path(p) if Path(p).is_absolute() else workdir / p
        parts.append(fit_length(load_audio(path, sr), n, cfg.crop))
    parts.append(rng.normal(scale=1e-3, size=gap).astype(np.float32))
    sf.write(tmp_path / "night.wav", np.concatenate(parts), sr, subtype="FLOAT")

    # what evaluation computes for these clips, from the feature cache
    feats = np.load(r / "features" / "features.npy", mmap_mode="r")[test["index"].to_numpy()]
    mean, std = normaliser(bundle.meta)
    expected = np.asarray(bundle.model((feats - mean) / std)).argmax(1)

    out = tmp_path / "d.csv"
    assert main(["predict", str(bundle_dir), str(tmp_path / "night.wav"), "--out", str(out), "--hop", "0.5",
                 "--min-score", "0", "--raven", str(tmp_path / "raven")]) == 0
    d = pd.read_csv(out)
    assert list(d.columns) == ["file", "start_s", "end_s", "species", "score"]
    assert all(len(v.split(".")[-1]) <= 4 for v in out.read_text().splitlines()[1].split(",")[1:3])  # %.4f
    total_s = sum(map(len, parts)) / sr
    assert d["start_s"].min() == 0 and d["end_s"].max() == pytest.approx(total_s, abs=1e-3)
    at = {round(t, 3): sp for t, sp in zip(d["start_s"], d["species"])}
    aligned = [at.get(round(t, 3)) for t in starts]
    agree = np.mean([a == bundle.species[e] for a, e in zip(aligned, expected)])
    assert agree >= 0.9, (aligned, [bundle.species[e] for e in expected])
    hit = np.mean([a == s for a, s in zip(aligned, test["species"])])
    evaluated = np.mean(expected == test["label"].to_numpy())
    assert abs(hit - evaluated) <= 0.1
    raven = (tmp_path / "raven" / "night.selections.txt").read_text().splitlines()
    assert raven[0].startswith("Selection\tView\tChannel\tBegin Time (s)") and len(raven) == len(d) + 1


def test_cli_steps_write_what_the_workflow_writes(workdir, tmp_path):
    """`jaxaudio features`, `train` and `evaluate` by hand, with the test config, give the
    workflow's artifacts: the same features and statistics, the same training curve and
    test metrics (a fresh process; XLA's CPU reductions allow float32 rounding)."""
    override = tmp_path / "here.yaml"
    override.write_text(f"results: {tmp_path / 'results'}\n")
    cli = [sys.executable, "-m", "jaxaudio.cli"]
    cfg = ["-c", str(TEST_CONFIG), "-c", str(override)]
    run = dict(capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path)
    ours, theirs = tmp_path / "results", workdir / "results"

    p = subprocess.run([*cli, "features", *cfg, "--threads", "2"], **run)
    assert p.returncode == 0, p.stderr[-3000:]
    np.testing.assert_allclose(np.load(ours / "features" / "features.npy"), np.load(theirs / "features" / "features.npy"),
                               rtol=0, atol=1e-5)
    for f in ("data/class_weights.json", "data/dataset.json"):
        assert json.loads((ours / f).read_text()) == json.loads((theirs / f).read_text()), f
    s_ours, s_theirs = (json.loads((d / "features" / "stats.json").read_text())["channels"] for d in (ours, theirs))
    for ch in ("mfcc", "delta", "delta2"):
        assert s_ours[ch]["mean"] == pytest.approx(s_theirs[ch]["mean"], rel=1e-5, abs=1e-6)
        assert s_ours[ch]["std"] == pytest.approx(s_theirs[ch]["std"], rel=1e-5)

    p = subprocess.run([*cli, "train", *cfg, "--experiment", "v2", "--model", "cnn"], **run)
    assert p.returncode == 0, p.stderr[-3000:]
    assert re.search(r"epoch +4/4 +train_loss [0-9.]+ +val_loss", p.stderr), p.stderr[-2000:]  # plain lines, no TTY
    assert "JAX backend cpu" in p.stderr
    h_ours = pd.read_csv(ours / "train" / "v2" / "cnn" / "seed0" / "history.csv")
    h_theirs = pd.read_csv(theirs / "train" / "v2" / "cnn" / "seed0" / "history.csv")
    np.testing.assert_allclose(h_ours["train_loss"], h_theirs["train_loss"], rtol=1e-3)

    p = subprocess.run([*cli, "evaluate", *cfg, "--experiment", "v2", "--model", "cnn"], **run)
    assert p.returncode == 0, p.stderr[-3000:]
    m_ours = json.loads((ours / "eval" / "v2" / "cnn" / "seed0" / "metrics.json").read_text())
    m_theirs = json.loads((theirs / "eval" / "v2" / "cnn" / "seed0" / "metrics.json").read_text())
    assert m_ours["accuracy"] == pytest.approx(m_theirs["accuracy"], abs=0.02)
    assert f"macro-F1 {m_ours['macro_f1']:.3f}" in p.stdout

    p = subprocess.run([*cli, "train", *cfg, "--experiment", "v9", "--model", "cnn"], **run)
    assert p.returncode == 2 and "--experiment 'v9': not declared in the config" in p.stderr


def test_nothing_to_do_after_a_complete_run(workdir):
    assert scheduled_jobs(snakemake(workdir, "-n", "--cores", "2").stdout) == {}


@pytest.mark.parametrize(
    "change, jobs, not_scheduled, scheduled, reason",
    [
        # one model's learning rate: that model's runs (and its bundle) only; features, stats,
        # baselines reused
        ("models:\n  cnn:\n    lr: 0.002\n", {"train": 2, "evaluate": 2, "bundle": 1, "decision": 1, "bundle_best": 1, "compare": 1, "report_figures": 1}, "model=vit", "model=cnn",
         "params have changed since last execution"),
        # a second seed: 2 experiments x 2 models for seed 1 only; seed 0 reused
        ("run:\n  seeds: [0, 1]\n", {"train": 4, "evaluate": 4, "decision": 1, "bundle_best": 1, "compare": 1, "report_figures": 1}, "seed=0", "seed=1", "missing output files"),
    ],
    ids=["one-model-lr", "add-a-seed"],
)
def test_one_config_change_reruns_only_what_it_affects(workdir, tmp_path, change, jobs, not_scheduled, scheduled, reason):
    extra = tmp_path / "change.yaml"
    extra.write_text(change)
    out = snakemake(workdir, "-n", "--cores", "2", configs=(extra,)).stdout
    assert scheduled_jobs(out) == jobs
    assert not_scheduled not in out and scheduled in out
    assert reason in out.lower()


def steps(ckpts: Path) -> list[int]:
    return [int(p.name) for p in ckpts.glob("[0-9]*") if p.name.isdigit()] if ckpts.is_dir() else []


def this_run(ckpts: Path) -> bool:
    """Whether the checkpoints are the 40-epoch run's, not the earlier short run's."""
    try:
        return json.loads((ckpts / "fingerprint.json").read_text())["settings"]["epochs"] == 40
    except (OSError, ValueError, KeyError):
        return False


def test_interrupted_training_resumes_from_checkpoint(workdir, tmp_path):
    longer = tmp_path / "long.yaml"
    longer.write_text("models:\n  cnn:\n    epochs: 40\ntraining:\n  patience: 100\n")
    target = "results/train/v2/cnn/seed0/summary.json"
    ckpts = workdir / "results" / "checkpoints" / "v2" / "cnn" / "seed0"
    proc = subprocess.Popen(
        snakemake_cmd(workdir, "--cores", "1", target, configs=(longer,)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 300
    try:
        while time.time() < deadline:  # kill once this run (40 epochs) has checkpointed epoch 3
            if this_run(ckpts) and max(steps(ckpts), default=0) >= 3:
                break
            assert proc.poll() is None, "training finished before it could be interrupted"
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint appeared")
    finally:
        # Kill the whole tree at once, like a power cut: Snakemake and the job it spawned
        # (which runs in a session of its own, so a process-group kill would miss it).
        tree = psutil.Process(proc.pid)
        for p in [*tree.children(recursive=True), tree]:
            p.send_signal(signal.SIGKILL)
        proc.wait()
    saved = max(steps(ckpts))
    assert saved < 40
    snakemake(workdir, "--unlock", configs=(longer,))
    snakemake(workdir, "--cores", "1", "--rerun-incomplete", target, configs=(longer,))
    log = (workdir / "results" / "logs" / "train" / "v2" / "cnn" / "seed0.log").read_text()
    resumed = int(re.search(r"resumed from checkpoint at epoch (\d+)", log)[1])
    assert resumed >= saved >= 3
    history = pd.read_csv(workdir / "results" / "train" / "v2" / "cnn" / "seed0" / "history.csv")
    assert list(history["epoch"]) == list(range(1, 41))  # the saved epochs plus the rest, no gap
    assert json.loads((workdir / "results" / "train" / "v2" / "cnn" / "seed0" / "summary.json").read_text())["resumed_from_epoch"] == resumed


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("models:\n  cnn:\n    lr: -0.001\n", "jaxaudio: config key models.cnn.lr (in bad.yaml):"),
        ("experiments:\n  v2:\n    class_weights: focal\n", "jaxaudio: config key experiments.v2.class_weights (in bad.yaml):"),
        ("data:\n  source: manifest\n  manifest: /no/such/manifest.csv\n", "jaxaudio: config key data.manifest (in bad.yaml): file '/no/such/manifest.csv' does not exist"),
        ("bundles:\n  - {experiment: v3, model: cnn, seed: 0}\n", "jaxaudio: config key bundles.0.experiment (in bad.yaml): 'v3' is not one of"),
        # a detection job over a folder without audio fails now, not after hours of training
        ("predict:\n  night:\n    audio: [{tmp}]\n    bundle: {experiment: v2, model: cnn, seed: 0}\n",
         "jaxaudio: config key predict.night.audio (in bad.yaml): {tmp}: folder holds no audio files"),
        ("predict:\n  night:\n    audio: [{tmp}]\n    bundle: {experiment: v2, model: vit, seed: 0}\n",
         "jaxaudio: config key predict.night.bundle (in bad.yaml): {'experiment': 'v2', 'model': 'vit', 'seed': 0} is not one of the bundles"),
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


def peak_threads(log: str) -> tuple[int | None, int, int]:
    """``(provided cores, peak threads of jobs running at once, jobs)`` from a Snakemake log
    (cores ``None`` for a log that ran no job: a report, a dry run).

    The scheduler logs a job's block (``rule X:`` ... ``threads: T``; no line means 1) when
    it starts it and ``Finished jobid: N`` after its process has ended, in the order it
    does both, so replaying the lines gives the threads in use at every moment; each job's
    logged span contains its process's lifetime.
    """
    provided = re.search(r"^Provided cores: (\d+)", log, re.M)
    cores = int(provided[1]) if provided else None
    running: dict[str, int] = {}
    peak = jobs = 0
    block = None
    for line in log.splitlines():
        if re.match(r"^(local)?(rule|checkpoint) \w+:$", line):
            block = {"threads": 1}
        elif block is not None and (m := re.match(r"^\s+(jobid|threads): (\d+)$", line)):
            block[m[1]] = int(m[2])
        elif block is not None and not line.startswith(" "):
            if "jobid" in block:
                running[block["jobid"]] = block["threads"]
                jobs += 1
                peak = max(peak, sum(running.values()))
            block = None
        if m := re.match(r"^Finished jobid: (\d+)", line):
            running.pop(int(m[1]), None)
    return cores, peak, jobs


def test_peak_threads_reads_overlap_from_a_log():
    """The parser on a hand-made log: two 2-thread jobs overlap (4 > 2 cores), a 1-thread job after."""
    log = textwrap.dedent("""\
        Provided cores: 2
        [Tue Dec  1 09:53:58 2026]
        localrule a:
            jobid: 1
            threads: 2
            resources: tmpdir=/tmp
        [Tue Dec  1 09:53:58 2026]
        rule a:
            jobid: 3
            threads: 2
        [Tue Dec  1 09:54:00 2026]
        Finished jobid: 1 (Rule: a)
        Finished jobid: 3 (Rule: a)
        [Tue Dec  1 09:54:00 2026]
        rule b:
            jobid: 4
        Select jobs to execute...
        Finished jobid: 4 (Rule: b)
        """)
    assert peak_threads(log) == (2, 4, 3)


def test_jobs_never_use_more_threads_than_cores(workdir):
    """snakemake/snakemake#3913 (Snakemake 9.10-9.16 did not count a job started alone, so
    jobs beyond --cores ran at once): every run of this module keeps within its --cores."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    measured = [peak_threads(p.read_text()) for p in logs]
    assert any(jobs >= 15 for _, _, jobs in measured), measured  # the full run is among them
    for path, (cores, peak, jobs) in zip(logs, measured):
        assert cores is not None or jobs == 0, path.name
        assert cores is None or peak <= cores, f"{path.name}: {peak} threads at once with --cores {cores}"


def test_empty_mapping_in_an_overlay_switches_the_baselines_off(tmp_path):
    off = tmp_path / "off.yaml"
    off.write_text("baselines: {}\n")
    assert "baseline" not in scheduled_jobs(snakemake(tmp_path, "-n", "--cores", "2", configs=(off,)).stdout)
    assert scheduled_jobs(snakemake(tmp_path, "-n", "--cores", "2").stdout)["baseline"] == 2


def test_one_species_data_set_is_rejected_before_any_job(tmp_path):
    import soundfile as sf

    (tmp_path / "robin").mkdir()
    for i in range(12):
        sf.write(tmp_path / "robin" / f"{i}.wav", np.full(2205, 0.1, np.float32), 22050)
    cfg = tmp_path / "one.yaml"
    cfg.write_text(f"data:\n  source: folder\n  folder: {tmp_path / 'robin'}/..\n")
    (tmp_path / "run").mkdir()
    proc = snakemake(tmp_path / "run", "--cores", "1", configs=(cfg,), check=False)
    assert proc.returncode != 0
    assert re.search(r"jaxaudio: config key data.folder \(in .*one.yaml\): .*: 1 species \(robin\) .*at least 2",
                     proc.stderr), proc.stderr[-2000:]
    assert not (tmp_path / "run" / "results").exists()


def test_second_run_on_the_same_results_folder_is_refused_and_the_first_finishes(tmp_path):
    """Two working directories (two clones), one `results:`: the second run stops before any
    job, naming the first; the first's outputs are untouched and it completes."""
    shared = tmp_path / "shared-results"
    cfg = tmp_path / "shared.yaml"
    cfg.write_text(f"results: {shared}\n")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    target = f"{shared}/train/v2/cnn/seed0/summary.json"
    first = subprocess.Popen([*snakemake_cmd(a, "--cores", "2", configs=(cfg,)), target],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        lock = shared / ".jaxaudio.lock"
        deadline = time.time() + 120
        while not (lock.is_file() and f'"pid": {first.pid}' in lock.read_text()):
            assert first.poll() is None and time.time() < deadline, "the first run never took the lock"
            time.sleep(0.1)
        second = snakemake(b, "--cores", "2", configs=(cfg,), check=False)
        assert second.returncode != 0
        assert f"jaxaudio: results folder {shared} is in use by another jaxaudio run (pid {first.pid}" in second.stderr
        assert str(a) in second.stderr  # the first run's directory
        assert not (b / ".snakemake" / "metadata").exists() or not any((b / ".snakemake" / "metadata").iterdir())
        out, _ = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out[-3000:]
    clips = pd.read_csv(shared / "data" / "manifest.csv")
    assert all(Path(p if Path(p).is_absolute() else a / p).is_file() for p in clips["path"])  # synthetic audio intact
    assert (shared / "train" / "v2" / "cnn" / "seed0" / "summary.json").is_file()


def test_byte_identical_feature_rebuild_keeps_checkpoints_and_baselines(workdir, tmp_path):
    """A rewrite of features.npy with the same bytes (new mtime) reruns the jobs downstream,
    as Snakemake must; training resumes from its last checkpoint and the baseline reuses its
    outputs, both with the same results (their checks hash content, not times). (baseline_v1:
    the run no other test of this module retrains.)"""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)  # copy2: modification times kept
    r = copy / "results"
    before = {p: (r / p).read_bytes() for p in ("train/baseline_v1/cnn/seed0/history.csv", "eval/baselines/logreg/metrics.json")}
    summary = json.loads((r / "train" / "baseline_v1" / "cnn" / "seed0" / "summary.json").read_text())
    features = r / "features" / "features.npy"
    data = features.read_bytes()
    time.sleep(0.01)
    features.write_bytes(data)
    targets = [f"results/{p}" for p in before]
    proc = snakemake(copy, "--cores", "2", *targets)
    out = proc.stdout + proc.stderr
    assert "rule train:" in out and "rule baseline:" in out  # both did rerun
    train_log = (r / "logs" / "train" / "baseline_v1" / "cnn" / "seed0.log").read_text()
    assert f"resumed from checkpoint at epoch {summary['epochs_run']}" in train_log
    assert "other settings or inputs" not in train_log
    assert "outputs reused" in (r / "logs" / "baselines" / "logreg.log").read_text()
    for p, content in before.items():
        assert (r / p).read_bytes() == content, p


def test_ladder_is_not_scheduled_when_the_candidate_is_go(tmp_path):
    """The decision checkpoint says GO: no rung is trained, and nothing is left to do."""
    go = ROOT / ".test" / "ladder-go" / "config.yaml"
    snakemake(tmp_path, "--cores", "2", configs=(go,))
    r = tmp_path / "results"
    assert json.loads((r / "compare" / "decision.json").read_text())["models"]["cnn"]["decision"] == "GO"
    comparison = json.loads((r / "comparison.json").read_text())
    cnn = comparison["models"]["cnn"]
    assert cnn["decision"] == "GO" and cnn["ladder"] is None
    assert cnn["experiments"]["v2"]["intervals"]["rare_f1"]["low"] > 0
    assert sorted(p.name for p in (r / "train").iterdir()) == ["frozen", "v2"]  # no rung trained
    assert scheduled_jobs(snakemake(tmp_path, "-n", "--cores", "2", configs=(go,)).stdout) == {}
    assert comparison["recommended"]["experiment"] == "v2"
    assert json.loads((r / "bundles" / "best" / "bundle.json").read_text())["source"]["experiment"] == "v2"
    assert (r / "findings.md").read_text().startswith("# Findings: v2 vs frozen\n\n**Decision: GO**")


def test_ladder_runs_by_itself_when_the_candidate_fails(tmp_path):
    """An absurd learning rate: the checkpoint's decision is not GO, so the rungs derived from
    the candidate are trained and judged with the same rules, and the first GO is named."""
    fails = ROOT / ".test" / "ladder-fails" / "config.yaml"
    dry = snakemake(tmp_path, "-n", "--cores", "2", configs=(fails,)).stdout
    assert "decision" in scheduled_jobs(dry) and "checkpoint" in dry
    snakemake(tmp_path, "--cores", "2", configs=(fails,))
    r = tmp_path / "results"
    assert json.loads((r / "compare" / "decision.json").read_text())["models"]["cnn"]["decision"] != "GO"
    for rung in ("weights_only", "lower_lr"):
        assert (r / "train" / rung / "cnn" / "seed0" / "history.csv").is_file(), rung
    settings = json.loads((r / "train" / "lower_lr" / "cnn" / "seed0" / "model" / "model.json").read_text())["settings"]
    assert settings["lr"] == pytest.approx(1e-4) and settings["class_weights"] == "balanced" and settings["normalise"] is True
    ladder = json.loads((r / "comparison.json").read_text())["models"]["cnn"]["ladder"]
    assert [(x["experiment"], x["ran"]) for x in ladder["rungs"]] == [("weights_only", True), ("lower_lr", True)]
    assert all(x["decision"] in ("GO", "INVESTIGATE", "NO-GO") and x["reasons"] for x in ladder["rungs"])
    firsts = [x for x in ladder["rungs"] if x["decision"] == "GO"]
    assert ladder["first_go"] == ({"rung": firsts[0]["rung"], "experiment": firsts[0]["experiment"]} if firsts else None)
    findings = (r / "findings.md").read_text()
    assert "Rollback ladder:" in findings and ("first rung to reach GO" in findings or "no rung reached GO" in findings)
    assert "weights_only (ladder)" in (r / "comparison.txt").read_text()
