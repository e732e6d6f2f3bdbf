"""The full tiny run (.test/config) and what it wrote: every output, the best bundle, the
report, `jaxaudio predict` with its bundles, and the CLI steps by hand.

The run is the session's ``tiny_run`` (tests/workflow/conftest.py), shared with the other
files; these tests only read it (and add ``results/report.html``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.workflow.helpers import (
    EXPERIMENTS,
    MODELS,
    TEST_CONFIG,
    check_predict_agrees_with_evaluation,
    filled_scenario,
    night_recording,
    scenario,
    scheduled_jobs,
    snakemake,
)

pytestmark = pytest.mark.slow


def test_every_output_exists_and_parses(tiny_run):
    r = tiny_run / "results"
    summary = json.loads((r / "data" / "dataset.json").read_text())
    species = summary["species"]
    assert len(species) == 10 and species == sorted(species)
    # data.background: synthetic, 200 clips, split like the data (0.25 test, 0.15 val)
    assert summary["background"] == {"train": 120, "val": 30, "test": 50}
    manifest = pd.read_csv(r / "data" / "manifest.csv")
    assert set(manifest.loc[manifest["background"], "label"]) == {10}
    assert set(manifest["split"]) == {"train", "val", "test"}
    clips = pd.read_csv(
        r / "features" / "default" / "clips.csv"
    )  # crop=center: one clip per recording
    assert list(clips["recording"]) == list(range(len(manifest))) and list(clips["path"]) == list(
        manifest["path"]
    )
    assert pd.read_csv(r / "features" / "default" / "skipped.csv").empty

    features = np.load(r / "features" / "default" / "features.npy", mmap_mode="r")
    assert features.shape == (len(manifest), 3, 40, 44) and features.dtype == np.float32
    stats = json.loads((r / "features" / "default" / "stats.json").read_text())
    train = np.asarray(features[manifest.index[manifest["split"] == "train"]], np.float64)
    for k, ch in enumerate(("mfcc", "delta", "delta2")):  # statistics of the training rows only
        assert stats["channels"][ch]["mean"] == pytest.approx(
            train[:, k].mean(), rel=1e-5, abs=1e-6
        )
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
            assert list(history.columns[:5]) == [
                "epoch",
                "train_loss",
                "val_loss",
                "val_acc",
                "val_macro_f1",
            ]
            assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
            meta = json.loads((t / "model" / "model.json").read_text())
            assert meta["species"] == species and (meta["normalisation"] is None) == (
                exp == "baseline_v1"
            )
            assert meta["background"] == "background"  # the reserved last output
            metrics = json.loads((e / "metrics.json").read_text())
            assert 0 <= metrics["macro_f1"] <= 1 and metrics["n_test"] == int(
                ((manifest["split"] == "test") & ~manifest["background"]).sum()
            )  # clip-level metrics: species clips only
            cal = metrics["calibration"]
            assert cal["method"] == "temperature" and cal["temperature"] > 0
            assert {"ece_before", "ece_after", "brier_before", "brier_after"} <= set(cal)
            assert metrics["detection"]["test"]["background_detections_per_clip"] is not None
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
        assert exps["v2"]["delta_vs_baseline"]["macro_f1"] == pytest.approx(
            m["macro_f1"] - b["macro_f1"]
        )
        assert isinstance(exps["v2"]["beats_baselines"], bool)

    # the logistic-regression baselines: a row each, equal to sklearn fitted here directly
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, np.float64)
    pooled = np.concatenate([x.mean(-1).reshape(len(x), -1), x.std(-1).reshape(len(x), -1)], axis=1)
    split, y = manifest["split"].to_numpy(), manifest["label"].to_numpy()
    # fitted with the background class (label 10); the test's species clips scored by the
    # argmax among the 10 species (the background's column dropped, as evaluation does)
    test = (split == "test") & ~manifest["background"].to_numpy()
    for name, cw in (("logreg", None), ("logreg_balanced", "balanced")):
        ref = make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight=cw)
        )
        ref.fit(pooled[split == "train"], y[split == "train"])
        pred = ref.predict_proba(pooled[test])[:, :10].argmax(1)
        got = json.loads((r / "eval" / "baselines" / name / "metrics.json").read_text())
        assert got["macro_f1"] == pytest.approx(f1_score(y[test], pred, average="macro"), abs=1e-3)
        assert comparison["baselines"][name]["macro_f1"] == got["macro_f1"]
        assert ("sklearn", name) in {
            (row["model"], row["experiment"]) for row in comparison["table"]
        }


def test_best_bundle_is_the_run_with_the_best_validation_macro_f1(tiny_run):
    from jaxaudio.inference.bundle import load_bundle

    r = tiny_run / "results"
    val = {
        (e, m): json.loads((r / "train" / e / m / "seed0" / "summary.json").read_text())[
            "best_val_macro_f1"
        ]
        for e in EXPERIMENTS
        for m in MODELS
    }
    best = max(val, key=val.get)
    bundle = load_bundle(r / "bundles" / "best")
    assert (bundle.info["source"]["experiment"], bundle.info["source"]["model"]) == best
    assert (
        bundle.info["metrics"]["macro_f1"]
        == json.loads((r / "eval" / best[0] / best[1] / "seed0" / "metrics.json").read_text())[
            "macro_f1"
        ]
    )


def test_bundles_carry_the_field_floor_that_predict_and_score_reproduce(tiny_run, tmp_path):
    """Every bundle's thresholds are floored for recordings (evaluation.field_threshold): the
    floor tuned on soundscapes of the val clips. Rendered again from the same clips and seed,
    `jaxaudio predict` at the bundle's thresholds and `jaxaudio score` give the event scores
    the bundle recorded, and the floor scores no worse than the thresholds before it."""
    import yaml

    from jaxaudio.cli import main
    from jaxaudio.data.soundscape import SoundscapeSettings, render_soundscapes
    from jaxaudio.inference.field_threshold import GRID, validation_calls

    field = yaml.safe_load(TEST_CONFIG.read_text())["evaluation"]["field_threshold"]
    r = tiny_run / "results"
    findings = (r / "report" / "findings.html").read_text()
    assert "<h2>Thresholds for recordings</h2>" in findings
    for bundle in (r / "bundles" / "best", r / "bundles" / "v2" / "cnn" / "seed0"):
        info = json.loads((bundle / "bundle.json").read_text())
        th = info["thresholds"]
        floor = th["field"]["floor"]
        assert np.isclose(GRID, floor).any(), floor
        assert th["per_species"] == {s: max(t, floor) for s, t in th["before_field"].items()}
        assert th["field"]["after"]["f1"] >= th["field"]["before"]["f1"]
        assert "validation clips" in th["field"]["tuned_on"]
        name = "/".join(bundle.relative_to(r / "bundles").parts)
        assert f"<td>{name}</td>\n<td>{floor:.2f}</td>" in findings, name
        calls = validation_calls(r / "data" / "manifest.csv", info["species"])
        scapes = tmp_path / bundle.name / "scapes"
        render_soundscapes(
            calls,
            sorted(calls["species"].unique()),
            [],
            scapes,
            n_files=field["files"],
            settings=SoundscapeSettings(seconds=field["seconds"]),
            seed=field["seed"],
        )
        det, out = scapes.parent / "d.csv", scapes.parent / "s.json"
        assert main(["predict", str(bundle), str(scapes), "--out", str(det)]) == 0
        argv = ["score", str(det), "--truth", str(scapes / "truth"), "--audio", str(scapes)]
        assert main([*argv, "--bundle", str(bundle), "--out", str(out)]) == 0
        got = json.loads(out.read_text())["summary"]
        for k, v in th["field"]["after"].items():
            assert got[k] == pytest.approx(v, abs=0.02 if k == "false_alarms_per_hour" else 1e-9), k
        # `jaxaudio field-threshold` on the same recordings tunes the same floor
        copy = scapes.parent / "bundle"
        shutil.copytree(bundle, copy)
        argv = ["field-threshold", str(copy), str(scapes), "--truth", str(scapes / "truth")]
        assert main(argv) == 0
        again = json.loads((copy / "bundle.json").read_text())["thresholds"]
        assert again["field"]["curve"] == th["field"]["curve"]
        assert again["per_species"] == th["per_species"]
        assert again["field"]["tuned_on"].startswith(f"{field['files']} recording(s) annotated in")


def test_the_jobs_share_one_compilation_cache(tiny_run):
    """compile_cache: true: the jobs write their compiled programs to results/cache/jax, and
    later jobs read some of them (JAX rewrites an entry's -atime file, a little-endian
    time_ns, on every read; written at put, it is then later than the entry itself)."""
    cache = tiny_run / "results" / "cache" / "jax"
    entries = sorted(cache.glob("*-cache"))
    assert entries, f"{cache}: no compiled program cached"
    read_later = [
        e
        for e in entries
        if int.from_bytes(e.with_name(e.name[: -len("cache")] + "atime").read_bytes(), "little")
        > e.stat().st_mtime_ns + 1_000_000_000
    ]
    assert read_later, "no job loaded a program another job compiled"


def test_report_figures_hold_what_the_run_measured(tiny_run):
    """The report's cross-run pieces agree with the files they summarise."""
    from jaxaudio.evaluation.report import benchmark_table

    r = tiny_run / "results"
    page = (r / "report" / "comparison.html").read_text()
    comparison = json.loads((r / "comparison.json").read_text())
    assert (
        "Overall decision (v2 vs baseline_v1):\n<b style=" in page
        and f">{comparison['decision']}</b></p>" in page
    )
    for row in comparison["table"]:  # every row's macro-F1, as printed in the text table
        assert f"<td>{row['experiment']}</td>" in page and f"<td>{row['macro_f1']:.3f}</td>" in page
    jobs = benchmark_table(r / "benchmarks")
    tsvs = sorted(r.joinpath("benchmarks").rglob("*.tsv"))
    assert len(jobs) == len(tsvs) >= 17  # every job of the run but the figures' own
    assert jobs.set_index("job").loc["train/v2/cnn/seed0", "s"] == pytest.approx(
        pd.read_csv(r / "benchmarks" / "train" / "v2" / "cnn" / "seed0.tsv", sep="\t")["s"].mean()
    )
    assert set(jobs["rule"]) >= {
        "features",
        "stats",
        "weight_table",
        "train",
        "evaluate",
        "logreg",
        "compare",
        "bundle",
    }
    for png in ("f1_vs_train_count.png", "class_weights.png", "timings.png"):
        assert (r / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_snakemake_report_opens_in_chromium_with_every_section(tiny_run, tmp_path):
    """`snakemake --report` builds the HTML report; headless Chromium renders it and a reader
    clicking through the menu sees each section's table or figure."""
    import shutil

    from jaxaudio.evaluation.report import render_report, report_views

    report = tiny_run / "results" / "report.html"
    snakemake(tiny_run, "--report", str(report))
    page = report.read_text()
    for caption in (
        "The findings of this run",
        "Test F1 of each rare species",
        "Candidate minus baseline test confusion",
        "Test-split metrics of every",
        "Each point is one species",
        "Class weights computed",
        "rows normalised",
        "The dashed line marks the epoch",
        "Wall-clock seconds and peak",
    ):
        assert caption in page, caption
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (`make chromium`; CI installs it in .ci/run)")
    home = render_report(report, tmp_path / "home.png")
    for section in (
        "0. Findings",
        "1. Comparison",
        "2. Data",
        "3. Confusion matrices",
        "4. Training curves",
        "5. Benchmark times",
    ):
        assert section in home["text"]
    assert (
        "experiments baseline_v1, v2; models cnn, vit" in home["text"]
    )  # workflow.rst, filled from the config
    for name, clicks in report_views("results", "v2", "baseline_v1", "vit").items():
        if not clicks:
            continue
        shown = "frames" if clicks[-1].endswith(".html") else "images"
        seen = render_report(report, tmp_path / f"{name}.png", clicks)
        assert seen[shown] > home[shown], (name, seen)  # the section's table/figure is on screen
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_predict_on_a_long_recording_agrees_with_the_evaluated_model(tiny_run, tmp_path):
    """The MFCC bundle v2/cnn (helpers.check_predict_agrees_with_evaluation)."""
    check_predict_agrees_with_evaluation(tiny_run, "v2", "default", "cnn", tmp_path)


def test_a_background_recording_draws_what_the_evaluation_measured(tiny_run, tmp_path):
    """The default config trains with the synthetic background set as a reserved class and
    tunes thresholds with its validation clips as negatives. Over 2 minutes of background the
    model never trained on (other seeds), at the bundle's thresholds, windows of a recording
    draw detections at the rate the evaluation measured on its held-out background clips
    (``detection.test.background_detections_per_clip``), within 3 binomial standard errors:
    the evaluation's figure holds for recordings. (The 4-epoch tiny model is weak; that a
    trained model stays silent is tests/unit/inference/test_background_class.py.)"""
    from jaxaudio.cli import main
    from jaxaudio.data.background import synthetic_background_clips

    clips = synthetic_background_clips(12, 10.0, 22050, seed=991)
    wav = tmp_path / "background.wav"
    sf.write(wav, np.concatenate([a for _, a in clips]), 22050, subtype="FLOAT")
    r = tiny_run / "results"
    bundle = r / "bundles" / "v2" / "cnn" / "seed0"
    assert json.loads((bundle / "bundle.json").read_text())["background"] == "background"
    metrics = json.loads((r / "eval" / "v2" / "cnn" / "seed0" / "metrics.json").read_text())
    rate = metrics["detection"]["test"]["background_detections_per_clip"]
    out = tmp_path / "d.csv"
    assert main(["predict", str(bundle), str(wav), "--out", str(out), "--hop", "0.5"]) == 0
    windows = 1 + int((120.0 - 1.0) / 0.5)
    got = len(pd.read_csv(out)) / windows
    p = max(rate, 1 / windows)
    assert got <= rate + 3 * np.sqrt(p * (1 - p) / windows), (got, rate)


def test_predict_rule_writes_what_jaxaudio_predict_writes(tiny_run_copy, tmp_path):
    """.test/predict-night added to a finished run: a dry run schedules the predict job and the
    report figures that list its output, nothing upstream; the rule's detections, failed.csv
    and Raven table equal `jaxaudio predict`'s with the same bundle, hop and min_score."""
    from jaxaudio.cli import main

    wav, _, _, _ = night_recording(tiny_run_copy, tmp_path / "night")
    overlay = filled_scenario("predict-night", tmp_path, night=wav.parent)
    dry = snakemake(tiny_run_copy, "-n", "--cores", "1", configs=(overlay,))
    assert scheduled_jobs(dry.stdout) == {"predict": 1, "report_figures": 1}, dry.stdout
    snakemake(tiny_run_copy, "--cores", "1", configs=(overlay,))
    rule_out = tiny_run_copy / "results" / "predictions" / "night"
    bundle = tiny_run_copy / "results" / "bundles" / "v2" / "cnn" / "seed0"
    by_hand = tmp_path / "by-hand"
    args = ["predict", str(bundle), str(wav.parent), "--hop", "0.5", "--min-score", "0"]
    assert main([*args, "--out", str(by_hand / "d.csv"), "--raven", str(by_hand / "raven")]) == 0
    rule_d, hand_d = (pd.read_csv(p) for p in (rule_out / "detections.csv", by_hand / "d.csv"))
    assert len(rule_d) > 0
    pd.testing.assert_frame_equal(rule_d, hand_d)
    assert (rule_out / "failed.csv").read_text() == (by_hand / "failed.csv").read_text()
    assert (rule_out / "raven" / "night.selections.txt").read_text() == (
        by_hand / "raven" / "night.selections.txt"
    ).read_text()


def test_cli_steps_write_what_the_workflow_writes(tiny_run, tmp_path):
    """`jaxaudio features`, `train` and `evaluate` by hand, with the test config, give the
    workflow's artifacts: the same features and statistics, the same training curve and
    test metrics (a fresh process; XLA's CPU reductions allow float32 rounding)."""
    override = scenario("cli-steps")  # results: results, under cwd=tmp_path
    cli = [sys.executable, "-m", "jaxaudio.cli"]
    cfg = ["-c", str(TEST_CONFIG), "-c", str(override)]
    run = dict(capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path)
    ours, theirs = tmp_path / "results", tiny_run / "results"

    p = subprocess.run([*cli, "features", *cfg, "--threads", "2"], **run)
    assert p.returncode == 0, p.stderr[-3000:]
    np.testing.assert_allclose(
        np.load(ours / "features" / "default" / "features.npy"),
        np.load(theirs / "features" / "default" / "features.npy"),
        rtol=0,
        atol=1e-5,
    )
    for f in ("data/class_weights.json", "data/dataset.json"):
        assert json.loads((ours / f).read_text()) == json.loads((theirs / f).read_text()), f
    s_ours, s_theirs = (
        json.loads((d / "features" / "default" / "stats.json").read_text())["channels"]
        for d in (ours, theirs)
    )
    for ch in ("mfcc", "delta", "delta2"):
        assert s_ours[ch]["mean"] == pytest.approx(s_theirs[ch]["mean"], rel=1e-5, abs=1e-6)
        assert s_ours[ch]["std"] == pytest.approx(s_theirs[ch]["std"], rel=1e-5)

    p = subprocess.run([*cli, "train", *cfg, "--experiment", "v2", "--model", "cnn"], **run)
    assert p.returncode == 0, p.stderr[-3000:]
    assert re.search(r"epoch +4/4 +train_loss [0-9.]+ +val_loss", p.stderr), p.stderr[
        -2000:
    ]  # plain lines, no TTY
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
