"""The report's summaries, against hand-made inputs: seed means, benchmark files, HTML table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jaxaudio.evaluation.plots import plot_f1_vs_count, plot_timings
from jaxaudio.evaluation.report import benchmark_table, comparison_html, f1_by_train_count

SNAKEMAKE_HEADER = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
)


def per_class(f1s):
    return pd.DataFrame(
        {"species": ["a", "b"], "train_count": [3, 40], "rare": [True, False], "f1": f1s}
    )


def test_f1_by_train_count_averages_each_species_over_seeds():
    runs = [
        {"model": "cnn", "experiment": "v2", "per_class": per_class([0.2, 0.9])},
        {"model": "cnn", "experiment": "v2", "per_class": per_class([0.4, 0.7])},
        {"model": "cnn", "experiment": "baseline_v1", "per_class": per_class([0.0, 1.0])},
    ]
    t = f1_by_train_count(runs).set_index(["experiment", "species"])
    assert t.loc[("v2", "a"), "f1"] == pytest.approx(0.3) and t.loc[
        ("v2", "b"), "f1"
    ] == pytest.approx(0.8)
    assert t.loc[("v2", "a"), "n_seeds"] == 2 and t.loc[("baseline_v1", "a"), "n_seeds"] == 1
    assert t.loc[("v2", "b"), "train_count"] == 40


def test_benchmark_table_reads_snakemake_benchmark_files(tmp_path):
    (tmp_path / "train" / "v2" / "cnn").mkdir(parents=True)
    (tmp_path / "features").mkdir()
    # a repeated benchmark (two rows): the mean time, the largest memory
    (tmp_path / "train" / "v2" / "cnn" / "seed0.tsv").write_text(
        SNAKEMAKE_HEADER
        + "10.0\t0:00:10\t800\t0\t0\t0\t0\t0\t90\t9\n20.0\t0:00:20\t900\t0\t0\t0\t0\t0\t90\t19\n"
    )
    (tmp_path / "features" / "stats.tsv").write_text(
        SNAKEMAKE_HEADER + "1.5\t0:00:01\t-\t-\t-\t-\t-\t-\t-\t-\n"
    )
    (tmp_path / "compare.tsv").write_text(
        SNAKEMAKE_HEADER + "0.5\t0:00:00\t50\t0\t0\t0\t0\t0\t0\t0\n"
    )
    (tmp_path / "notes.tsv").write_text("name\tvalue\nx\t1\n")  # not a benchmark file
    (tmp_path / "bench.json").write_text("{}")
    t = benchmark_table(tmp_path).set_index("job")
    assert sorted(t.index) == ["compare", "features/stats", "train/v2/cnn/seed0"]
    assert (
        t.loc["train/v2/cnn/seed0", "s"] == 15.0 and t.loc["train/v2/cnn/seed0", "max_rss"] == 900
    )
    assert (
        t.loc["train/v2/cnn/seed0", "rule"] == "train"
        and t.loc["features/stats", "rule"] == "stats"
    )
    assert t.loc["compare", "rule"] == "compare" and pd.isna(t.loc["features/stats", "max_rss"])
    plot_timings(t.reset_index(), tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_comparison_html_shows_means_with_std_and_escapes_names():
    row = {
        "model": "cnn",
        "experiment": "<v2>",
        "n_seeds": 3,
        "accuracy": 0.9,
        "macro_f1": 0.85,
        "rare_f1": 0.8,
        "cmap": 0.91,
        "accuracy_std": 0.01,
        "macro_f1_std": 0.02,
        "rare_f1_std": 0.03,
        "cmap_std": 0.004,
        "decision": "GO",
        "beats_baselines": True,
        "mean_val_macro_f1": 0.8,
        "ladder": False,
        "intervals": {
            "macro_f1": {"delta": 0.1, "low": 0.05, "high": 0.15},
            "rare_f1": {"delta": 0.2, "low": -0.01, "high": 0.4},
        },
    }
    ref = {
        "model": "sklearn",
        "experiment": "logreg",
        "n_seeds": 1,
        "accuracy": 0.8,
        "macro_f1": 0.7,
        "rare_f1": None,
        "cmap": 0.75,
        "decision": "reference",
        "beats_baselines": None,
    }
    doc = {
        "decision": "GO",
        "candidate": "<v2>",
        "baseline": "baseline_v1",
        "thresholds": {"go_macro_f1": 0.25},
        "bootstrap": {"confidence": 0.95, "n_resamples": 2000},
        "models": {
            "cnn": {
                "decision": "GO",
                "reasons": [{"level": "GO", "reason": "macro-F1 0.850 > 0.25"}],
                "ladder": None,
            }
        },
        "table": [row, ref],
    }
    page = comparison_html(doc)
    assert "<script" not in page and "&lt;v2&gt;" in page and "<v2>" not in page
    assert "<td>0.850 ± 0.020</td>" in page and "<td>0.700</td>" in page and "<td>–</td>" in page
    assert ">GO</b>" in page and "GO: macro-F1 0.850 &gt; 0.25" in page
    assert "<th>Δ macro-F1 [95 % CI]</th>" in page and "<td>+0.100 [+0.050, +0.150]</td>" in page
    assert (
        "<td>+0.200 [-0.010, +0.400]</td>" in page and "<td>0.800</td>" in page
    )  # rare interval, val macro-F1


def test_findings_markdown_renders_its_table_as_html():
    from jaxaudio.evaluation.report import findings_html

    page = findings_html("# Findings\n\n| a | b |\n|---|---|\n| 1 | **GO** |\n")
    assert (
        "<h1>Findings</h1>" in page and "<td><strong>GO</strong></td>" in page and "<table>" in page
    )


def test_f1_plot_names_the_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="missing columns: \\['f1'\\]"):
        plot_f1_vs_count(
            pd.DataFrame({"model": [], "experiment": [], "species": [], "train_count": []}),
            tmp_path / "x.png",
        )


def test_field_floor_table_lists_each_bundles_floor_before_and_after(tmp_path):
    from jaxaudio.evaluation.report import field_floor_markdown

    def bundle(rel, field):
        d = tmp_path / "results" / "bundles" / rel
        d.mkdir(parents=True)
        th = {"per_species": {"a": 0.5}} | ({"field": field} if field else {})
        (d / "bundle.json").write_text(json.dumps({"thresholds": th}))
        return d

    scores = {"recall": 0.5, "precision": 0.25, "f1": 1 / 3, "false_alarms_per_hour": 600.0}
    after = {"recall": 0.5, "precision": 0.8, "f1": 0.6153846, "false_alarms_per_hour": 120.4}
    best = bundle("best", {"floor": 0.47, "before": scores, "after": after})
    plain = bundle("v2/cnn/seed0", None)  # made with files: 0 (no floor): no row
    md = field_floor_markdown([best, plain])
    assert "## Thresholds for recordings" in md
    assert "| best | 0.47 | 0.500 → 0.500 | 0.250 → 0.800 | 0.333 → 0.615 | 600 → 120 |" in md
    assert "v2/cnn/seed0" not in md
    assert field_floor_markdown([plain]) == ""
