"""A soundscape round trip in the workflow: annotated soundscapes rendered from the tiny run's
synthetic data (`jaxaudio synth --soundscape ... --bundle`), a predict job over them that names
their truth (.test/soundscape-truth), and the workflow's scores.json against `jaxaudio score`'s
function run directly, with durations from the renderer's table instead of the audio.

Works on a copy of the session's tiny run (tests/workflow/conftest.py): only the predict job,
its scoring and the report figures run.
"""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest

from tests.workflow.helpers import filled_scenario, scheduled_jobs, snakemake

pytestmark = pytest.mark.slow

#: The ratios of scores.json's summary, each in [0, 1] where defined.
RATIOS = ("precision", "recall", "f1", "macro_f1", "unknown_calls_detected_fraction", "window_cmap")


def test_a_predict_job_with_truth_is_scored_and_reported(tiny_run_copy, tmp_path):
    from jaxaudio.cli import main
    from jaxaudio.stages.field import durations_of, score

    r = tiny_run_copy / "results"
    bundle = r / "bundles" / "v2" / "cnn" / "seed0"
    scapes = tmp_path / "scapes"
    synth = ["synth", str(scapes), "--soundscape", str(r / "data" / "synthetic" / "manifest.csv")]
    assert main([*synth, "--bundle", str(bundle), "--files", "2", "--seconds", "20"]) == 0
    overlay = filled_scenario("soundscape-truth", tmp_path, scapes=scapes)

    dry = snakemake(tiny_run_copy, "-n", "--cores", "1", configs=(overlay,))
    assert scheduled_jobs(dry.stdout) == {
        "predict": 1,
        "score_predictions": 1,
        "report_figures": 1,
    }, dry.stdout
    snakemake(tiny_run_copy, "--cores", "2", configs=(overlay,))

    job = r / "predictions" / "scapes"
    stems = ["soundscape_000", "soundscape_001"]
    assert sorted(p.name for p in (job / "audacity").glob("*.txt")) == [f"{s}.txt" for s in stems]
    got = json.loads((job / "scores.json").read_text())
    s = got["summary"]
    assert {"n_files", "hours", "n_events", "n_detections", "false_alarms_per_hour"} <= set(s)
    assert s["n_files"] == 2 and s["hours"] == pytest.approx(40 / 3600, abs=1e-4)
    assert s["n_events"] > 0 and s["recall"] is not None and s["window_cmap"] is not None
    for k in RATIOS:
        assert s[k] is None or 0.0 <= s[k] <= 1.0, (k, s[k])
    assert s["n_detections"] == len(pd.read_csv(job / "detections.csv"))

    # the same scores by hand: the CLI's function, the renderer's durations, bundle.json's species
    known = json.loads((bundle / "bundle.json").read_text())["species"]
    direct = tmp_path / "direct.json"
    score(
        job / "detections.csv",
        scapes / "truth",
        durations_of(table=scapes / "soundscapes.csv"),
        known,
        out_json=direct,
    )
    want = json.loads(direct.read_text())
    assert got["per_species"] == want["per_species"]
    assert got["summary"].keys() == want["summary"].keys()
    for k, v in want["summary"].items():
        assert got["summary"][k] == (v if v is None else pytest.approx(v, rel=1e-6)), k

    # the findings page carries the job's table; the Snakemake report embeds that page
    page = (r / "report" / "findings.html").read_text()
    assert "<h2>Field scores</h2>" in page and "<h3>scapes</h3>" in page
    recall = f"{s['recall']:.3f}"
    assert re.search(r"<th>recall</th>.*<th>window cmAP</th>", page, re.S)
    assert f"<td>{recall}</td>" in page
    report = tmp_path / "report.html"
    snakemake(tiny_run_copy, "--report", str(report), configs=(overlay,))
    (embedded,) = re.findall(
        r"data:text/html;[^,\"]*filename=findings\.html;base64,([A-Za-z0-9+/=]+)",
        report.read_text(),
    )
    assert base64.b64decode(embedded).decode() == page
