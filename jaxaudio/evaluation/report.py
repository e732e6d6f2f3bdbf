"""What the Snakemake report shows beyond the per-run plots: the comparison as an HTML table,
per-class F1 against train count, class weights, and per-job times.

``snakemake --report results/report.html`` collects every output marked ``report(...)`` in
the rules (captions in ``workflow/report/*.rst``). The per-run confusion matrices and
training curves come from :mod:`jaxaudio.evaluation.metrics`; this module makes the cross-run pieces
in one workflow step (:func:`report_figures`), from files the workflow already wrote.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.config.load import DEFAULT_CONFIG, load_config
from jaxaudio.evaluation.bootstrap import format_interval
from jaxaudio.evaluation.compare import TABLE_METRICS, row_name
from jaxaudio.evaluation.findings import ladder_verdict
from jaxaudio.evaluation.metrics import rare_threshold
from jaxaudio.evaluation.plots import (
    plot_class_weights,
    plot_confusion_difference,
    plot_f1_vs_count,
    plot_rare_species_pairs,
    plot_timings,
)
from jaxaudio.layout import Layout
from jaxaudio.training.weights import species_counts

# Snakemake benchmark folders whose files are one job each of the rule named by the folder.
_RULE_FOLDERS = {
    "train": "train",
    "eval": "evaluate",
    "bundle": "bundle",
    "baselines": "logreg",
    "predict": "predict",
    "score_predictions": "score_predictions",
}
# One-job rules whose timing file is not named after the rule (the path predates the name).
_RULE_OF_FILE = {"class_weights": "weight_table"}
_METRIC_NAMES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "rare_f1": "rare-F1",
    "cmap": "cmAP",
}


def f1_by_train_count(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per-species test F1 averaged over seeds, with the species' train count.

    ``runs``: one mapping per run with ``model``, ``experiment`` and ``per_class`` (the
    evaluation's per-class CSV path or DataFrame: ``species, train_count, f1, rare``).
    Returns ``model, experiment, species, train_count, rare, f1, n_seeds`` in run order.
    """
    frames = []
    for r in runs:
        pc = (
            r["per_class"]
            if isinstance(r["per_class"], pd.DataFrame)
            else pd.read_csv(r["per_class"])
        )
        frames.append(
            pc[["species", "train_count", "rare", "f1"]].assign(
                model=r["model"], experiment=r["experiment"]
            )
        )
    if not frames:
        raise ValueError("no runs: nothing to summarise")
    df = pd.concat(frames, ignore_index=True)
    out = (
        df.groupby(["model", "experiment", "species"], sort=False)
        .agg(
            train_count=("train_count", "first"),
            rare=("rare", "first"),
            f1=("f1", "mean"),
            n_seeds=("f1", "size"),
        )
        .reset_index()
    )
    return out[["model", "experiment", "species", "train_count", "rare", "f1", "n_seeds"]]


def benchmark_table(bench_dir: str | Path) -> pd.DataFrame:
    """Every Snakemake ``benchmark:`` file under ``bench_dir`` as one row per job.

    Columns: ``job`` (the file's path below ``bench_dir`` without ``.tsv``), ``rule``,
    ``s`` (wall-clock seconds; the mean when a benchmark was repeated) and ``max_rss`` (MiB).
    Files that are not Snakemake benchmark tables (no ``s`` column) are left out.
    """
    bench_dir = Path(bench_dir)
    rows = []
    for f in sorted(bench_dir.rglob("*.tsv")):
        try:
            t = pd.read_csv(f, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            continue
        if "s" not in t.columns or len(t) == 0:
            continue
        parts = f.relative_to(bench_dir).with_suffix("").parts
        rule = (
            _RULE_FOLDERS.get(parts[0], _RULE_OF_FILE.get(parts[-1], parts[-1]))
            if len(parts) > 1
            else parts[0]
        )
        max_rss = pd.to_numeric(t.get("max_rss", pd.Series([np.nan])), errors="coerce")
        rows.append(
            {
                "job": "/".join(parts),
                "rule": rule,
                "s": float(t["s"].mean()),
                "max_rss": float(max_rss.max()),
            }
        )
    return pd.DataFrame(rows, columns=["job", "rule", "s", "max_rss"])


def _cell(value: Any, std: Any, n_seeds: int) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    text = f"{value:.3f}"
    if n_seeds > 1 and std is not None:
        text += f" ± {std:.3f}"
    return text


#: What the field-scores table of a scored predict job shows: scores.json summary key ->
#: (name, format).
_FIELD_METRICS = {
    "recall": ("recall", ".3f"),
    "precision": ("precision", ".3f"),
    "f1": ("F1", ".3f"),
    "false_alarms_per_hour": ("false alarms per hour", ".2f"),
    "detections_per_unknown_call": ("detections per unknown call", ".2f"),
    "window_cmap": ("window cmAP", ".3f"),
}


_FLOOR_METRICS = (
    ("recall", ".3f"),
    ("precision", ".3f"),
    ("f1", ".3f"),
    ("false_alarms_per_hour", ".0f"),
)


def _before_after(field: Mapping[str, Any], key: str, fmt: str) -> str:
    """``before → after`` of one event score of a field floor; "–" when either is undefined."""
    before, after = field["before"].get(key), field["after"].get(key)
    if before is None or after is None:
        return "–"
    return f"{format(before, fmt)} → {format(after, fmt)}"


def field_floor_markdown(bundles: Sequence[str | Path]) -> str:
    """The findings page's "Thresholds for recordings" section: per bundle with a field
    floor (``bundle.json`` ``thresholds.field``, :mod:`jaxaudio.inference.field_threshold`),
    the floor and the event scores on the soundscapes it was tuned on, at the clip-tuned
    thresholds and at the floored ones; "" when no bundle has one."""
    rows = []
    for b in map(Path, bundles):
        info = json.loads((b / "bundle.json").read_text())
        f = info["thresholds"].get("field")
        if f is None:
            continue
        name = "/".join(b.parts[b.parts.index("bundles") + 1 :]) if "bundles" in b.parts else b.name
        cells = [_before_after(f, k, fmt) for k, fmt in _FLOOR_METRICS]
        rows.append(f"| {name} | {f['floor']:.2f} | " + " | ".join(cells) + " |")
    if not rows:
        return ""
    return "\n".join(
        [
            "",
            "## Thresholds for recordings",
            "",
            "Each bundle's per-species thresholds, tuned on the validation clips, raised to one "
            "floor tuned on soundscapes of the validation clips "
            "(`evaluation.field_threshold`, `jaxaudio/inference/field_threshold.py`): event "
            "scores on those soundscapes at the clip thresholds → at the floored ones.",
            "",
            "| bundle | floor | recall | precision | F1 | false alarms per hour |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def field_scores_markdown(scores: Mapping[str, str | Path]) -> str:
    """The findings page's "Field scores" section: one small table per predict job that
    names ``truth:`` (job -> its scores.json, :func:`jaxaudio.stages.field.score_predictions`);
    "" when there is none. Undefined values (no unknown call, no detection) are "–"."""
    if not scores:
        return ""
    lines = [
        "",
        "## Field scores",
        "",
        "Predict jobs that name `truth:`: their detections scored against it "
        "(`jaxaudio/evaluation/events.py`; the bundle's species known).",
        "",
    ]
    for job, path in scores.items():
        s = json.loads(Path(path).read_text())["summary"]
        lines += [
            f"### {job}",
            "",
            f"{s['n_files']} file(s), {s['hours']:.3f} h of audio, {s['n_events']} known-species "
            f"call(s), {s['n_unknown_events']} unknown-species call(s), "
            f"{s['n_detections']} detection(s); window cmAP over {s['window_s']:g} s windows.",
            "",
            "| " + " | ".join(name for name, _ in _FIELD_METRICS.values()) + " |",
            "|" + "---|" * len(_FIELD_METRICS),
            "| "
            + " | ".join(
                "–" if s.get(k) is None else format(s[k], fmt)
                for k, (_, fmt) in _FIELD_METRICS.items()
            )
            + " |",
            "",
        ]
    return "\n".join(lines)


def findings_html(markdown_text: str) -> str:
    """``findings.md`` as a standalone HTML page (markdown-it, tables on), for the report."""
    from markdown_it import MarkdownIt  # lazy: only the findings page needs markdown-it

    body = MarkdownIt("commonmark").enable("table").render(markdown_text)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>jaxaudio findings</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; max-width: 70em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d0d7de; padding: 3px 8px; }}
th {{ background: #f6f8fa; }}
</style></head><body>
{body}
</body></html>
"""


#: Colour of each decision in the comparison page; any other decision is grey (#57606a).
_DECISION_COLOURS = {"GO": "#1a7f37", "INVESTIGATE": "#9a6700", "NO-GO": "#cf222e"}
#: The "beats baselines" column: ``None`` where it was not judged.
_BEATS_TEXT = {True: "yes", False: "no", None: "–"}


def _decision_html(decision: str) -> str:
    """A decision in bold, in its colour: GO green, INVESTIGATE amber, NO-GO red, else grey."""
    colour = _DECISION_COLOURS.get(decision, "#57606a")
    return f'<b style="color:{colour}">{html.escape(decision)}</b>'


def _comparison_header(confidence: float) -> str:
    """The table's ``<th>`` cells; the Δ columns name the bootstrap's confidence level."""
    conf = f"{100 * confidence:g} %"
    names = [
        "model",
        "experiment",
        "seeds",
        "val macro-F1",
        *(_METRIC_NAMES[k] for k in TABLE_METRICS),
        f"Δ macro-F1 [{conf} CI]",
        f"Δ rare-F1 [{conf} CI]",
        "decision",
        "beats baselines",
    ]
    return "".join(f"<th>{html.escape(h)}</th>" for h in names)


def _comparison_row(row: Mapping[str, Any]) -> str:
    """One ``<tr>`` of the comparison table: a (model, experiment) or reference-baseline row.

    Metrics are ``mean ± std`` over seeds (:func:`_cell`; the std only with several seeds),
    the Δ columns the paired-bootstrap intervals against the baseline (``–`` where there are
    none, as for the reference rows), and "beats baselines" ``yes``/``no``/``–`` (not judged).
    """
    esc = html.escape
    n = int(row.get("n_seeds", 1))
    ci = row.get("intervals") or {}
    name = row_name(row)
    cells = [
        esc(str(row["model"])),
        esc(name),
        str(n),
        _cell(row.get("mean_val_macro_f1"), None, 1),
        *(_cell(row[k], row.get(f"{k}_std"), n) for k in TABLE_METRICS),
        format_interval(ci.get("macro_f1")),
        format_interval(ci.get("rare_f1")),
        _decision_html(str(row["decision"])),
        _BEATS_TEXT[row.get("beats_baselines")],
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _ladder_html(ladder: Mapping[str, Any]) -> str:
    """A model's rollback ladder: each rung's decision and macro-F1 (or "not run"), and
    the first rung that reached GO, so a reader sees how far back the model had to go."""
    esc = html.escape
    rungs = "".join(
        f"<li>{esc(step['rung'])} ({esc(step['experiment'])}): "
        + (
            f"{esc(step['decision'])}, macro-F1 {step['metrics']['macro_f1']:.3f}"
            if step["ran"]
            else "not run"
        )
        + "</li>"
        for step in ladder["rungs"]
    )
    return f"<p>rollback ladder ({esc(ladder_verdict(ladder))}):</p><ul>{rungs}</ul>"


def _model_reasons(model: str, m: Mapping[str, Any]) -> str:
    """A model's decision as a heading, the reasons for it (level: reason), then its ladder."""
    esc = html.escape
    items = "".join(f"<li>{esc(r['level'])}: {esc(r['reason'])}</li>" for r in m["reasons"])
    out = f"<h3>{esc(model)}: {esc(m['decision'])}</h3><ul>{items}</ul>"
    return out + _ladder_html(m["ladder"]) if m.get("ladder") else out


def comparison_html(comparison: Mapping[str, Any]) -> str:
    """The comparison document (:func:`jaxaudio.evaluation.compare.compare_runs`) as a standalone HTML page.

    The overall decision comes first, then one row per (model, experiment) and per reference
    baseline with accuracy, macro-F1, rare-species F1 and cmAP (``mean ± std`` over seeds),
    the decision and whether the run beats every reference baseline; then the reasons for
    each model's decision and the thresholds used. Every value is escaped.
    """
    esc = html.escape
    head = _comparison_header(comparison["bootstrap"]["confidence"])
    body = [_comparison_row(row) for row in comparison["table"]]
    reasons = [_model_reasons(model, m) for model, m in comparison["models"].items()]
    thresholds = ", ".join(f"{esc(k)} = {v}" for k, v in comparison["thresholds"].items())
    overall = str(comparison["decision"])
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>jaxaudio comparison</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 10px; text-align: right; }}
th {{ background: #f6f8fa; }} td:nth-child(-n+2) {{ text-align: left; }}
.decision {{ font-size: 1.4em; }}
</style></head><body>
<p class="decision">Overall decision ({esc(str(comparison["candidate"]))} vs {esc(str(comparison["baseline"]))}):
{_decision_html(overall)}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<p>Test split; mean ± sample standard deviation over seeds where a run has several.
"beats baselines": macro-F1 and rare-F1 both above every reference (sklearn) row.</p>
{"".join(reasons)}
<p>Thresholds: {thresholds}</p>
</body></html>
"""


def confusion_differences(
    runs: Sequence[Mapping[str, Any]],
    confusions: Sequence[str | Path],
    baseline: str,
    candidate: str,
) -> dict[str, np.ndarray]:
    """model -> candidate minus baseline test confusion matrix, each the mean over seeds."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        mean = {
            e: np.mean(
                [
                    np.load(c)
                    for r, c in zip(runs, confusions)
                    if (r["experiment"], r["model"]) == (e, model)
                ],
                axis=0,
            )
            for e in (baseline, candidate)
        }
        out[model] = mean[candidate] - mean[baseline]
    return out


def report_figures(
    runs: Sequence[Mapping[str, Any]],
    per_class_csvs: Sequence[str | Path],
    comparison_json: str | Path,
    weights_json: str | Path,
    bench_dir: str | Path,
    out: Mapping[str, str | Path],
    rare_quantile: float = 0.25,
    decision_runs: Sequence[Mapping[str, Any]] = (),
    confusions: Sequence[str | Path] = (),
    findings_md: str | Path | None = None,
    field_scores: Mapping[str, str | Path] | None = None,
    bundles: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Workflow step: write the report's cross-run pieces.

    ``runs`` (``experiment, model, seed`` dicts) and ``per_class_csvs`` are parallel lists,
    as are ``decision_runs`` (the baseline's and candidate's) and their ``confusions``.
    ``out`` has the keys ``table`` (HTML), ``f1_vs_count``, ``weights`` and ``timings``
    (PNGs), and with the comparison's analysis ``findings`` (HTML of ``findings_md``,
    then :func:`field_floor_markdown` of ``bundles`` and :func:`field_scores_markdown` of
    ``field_scores``, job -> scores.json),
    ``rare_pairs`` and ``confusion_diff`` (PNGs). Times are those of every job whose
    benchmark file exists when this step runs, which is after every training, evaluation and
    comparison job (its inputs).
    """
    if len(runs) != len(per_class_csvs):
        raise ValueError("runs and per-class CSVs must be parallel lists")
    comparison = json.loads(Path(comparison_json).read_text())
    weights = json.loads(Path(weights_json).read_text())
    counts = species_counts(weights)
    for key in out:
        Path(out[key]).parent.mkdir(parents=True, exist_ok=True)
    Path(out["table"]).write_text(comparison_html(comparison), encoding="utf-8")
    table = f1_by_train_count([{**r, "per_class": p} for r, p in zip(runs, per_class_csvs)])
    plot_f1_vs_count(
        table,
        Path(out["f1_vs_count"]),
        rare_max_count=rare_threshold(counts, rare_quantile),
        title=f"per-species test F1 against train count ({comparison['candidate']} vs {comparison['baseline']})",
    )
    plot_class_weights(weights, Path(out["weights"]))
    base, cand = comparison["baseline"], comparison["candidate"]
    if "rare_pairs" in out:
        rows = {m: v["analysis"]["rare_species"] for m, v in comparison["models"].items()}
        plot_rare_species_pairs(rows, Path(out["rare_pairs"]), base, cand)
    if "confusion_diff" in out:
        diffs = confusion_differences(decision_runs, confusions, base, cand)
        species = sorted(counts)
        plot_confusion_difference(
            diffs,
            species,
            Path(out["confusion_diff"]),
            title=f"test confusion, {cand} − {base} (mean over seeds)",
        )
    if "findings" in out and findings_md is not None:
        text = (
            Path(findings_md).read_text()
            + field_floor_markdown(bundles)
            + field_scores_markdown(field_scores or {})
        )
        Path(out["findings"]).write_text(findings_html(text), encoding="utf-8")
    jobs = benchmark_table(bench_dir)
    plot_timings(jobs, Path(out["timings"]))
    return {"species_rows": len(table), "jobs": len(jobs), "seconds": float(jobs["s"].sum())}


# Clicks through the report's menu the way a reader would: each step is the visible text of
# a menu entry or of a result (then its "view" button is pressed). Run after React renders.
_CLICK_JS = """
function jaxaudioClick(text) {
  const hits = [...document.querySelectorAll("a,button,li,span,div,td")].filter(e => e.textContent.trim() === text);
  const el = hits.pop();
  if (!el) { document.body.setAttribute("data-missing", text); return; }
  const row = el.closest("tr") || el.closest("li");
  const view = row && !el.matches("a") ? row.querySelector('a[href="#"]') : null;
  (view || el).click();
}
"""


def render_report(
    report_html: str | Path,
    png: str | Path,
    clicks: Sequence[str] = (),
    chromium: str = "chromium",
    size: tuple[int, int] = (1400, 1000),
    timeout: float = 120,
) -> dict[str, Any]:
    """Open the Snakemake report in headless Chromium, click ``clicks`` in order, screenshot.

    Writes ``png`` and returns what a reader would see: ``text`` (the rendered page's
    visible text, scripts removed), ``images`` (the ``data:image/...`` pictures shown) and
    ``frames`` (embedded HTML documents shown). Raises ``RuntimeError`` when a click target
    is not on the page or Chromium fails.
    """
    exe = shutil.which(chromium)
    if exe is None:
        raise FileNotFoundError(f"{chromium}: not found (apt-get install chromium)")
    page = _with_clicks(Path(report_html).read_text(encoding="utf-8"), clicks)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "report.html"
        probe.write_text(page, encoding="utf-8")
        base = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp}/profile",
            f"--virtual-time-budget={400 * (len(clicks) + 2) + 3000}",
            f"--window-size={size[0]},{size[1]}",
        ]
        dom = subprocess.run(
            [*base, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=timeout
        )
        shot = subprocess.run(
            [*base, f"--screenshot={Path(png).resolve()}", probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if dom.returncode or shot.returncode or not Path(png).is_file():
        raise RuntimeError(
            f"chromium failed ({dom.returncode}, {shot.returncode}): {(dom.stderr + shot.stderr)[-2000:]}"
        )
    missing = re.search(r'data-missing="([^"]*)"', dom.stdout)
    if missing:
        raise RuntimeError(
            f"{report_html}: no {html.unescape(missing[1])!r} to click in the rendered report"
        )
    return _what_is_shown(dom.stdout)


def _with_clicks(page: str, clicks: Sequence[str]) -> str:
    """The report page with a script that clicks ``clicks`` in order, 400 ms apart."""
    steps = "".join(
        f"setTimeout(() => jaxaudioClick({json.dumps(t)}), {400 * (i + 1)});\n"
        for i, t in enumerate(clicks)
    )
    cut = page.rfind("</body>")
    return page[:cut] + f"<script>{_CLICK_JS}{steps}</script>" + page[cut:]


def _what_is_shown(dom: str) -> dict[str, Any]:
    """The rendered body's visible text (scripts and styles removed), pictures and frames."""
    body = dom[dom.find("<body") :]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return {
        "text": re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip(),
        "images": len(re.findall(r'<img[^>]+src="data:image/', body)),
        "frames": len(re.findall(r'<iframe[^>]+src="data:text/html', body)),
    }


def report_views(results: str, candidate: str, baseline: str, model: str) -> dict[str, list[str]]:
    """The clicks that open each section of the report: view name -> menu texts."""
    lay = Layout(results)
    return {
        "home": [],
        "findings": ["0. Findings", lay.report_file("findings.html")],
        "comparison": ["1. Comparison", lay.report_file("comparison.html")],
        "rare_species_f1": ["1. Comparison", lay.report_file("rare_species_f1.png")],
        "confusion_difference": ["1. Comparison", lay.report_file("confusion_difference.png")],
        "f1_vs_train_count": ["1. Comparison", lay.report_file("f1_vs_train_count.png")],
        "class_weights": ["2. Data", lay.report_file("class_weights.png")],
        "confusion": ["3. Confusion matrices", model, candidate],
        "curves": ["4. Training curves", model, baseline],
        "timings": ["5. Benchmark times", lay.report_file("timings.png")],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jaxaudio.evaluation.report REPORT.html --views DIR``: screenshot every section."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("report", type=Path)
    p.add_argument("--views", type=Path, required=True, help="folder for one PNG per section")
    p.add_argument(
        "-c", "--config", action="append", type=Path, default=[], help="the run's config files"
    )
    args = p.parse_args(argv)
    config = load_config(DEFAULT_CONFIG, *args.config)
    views = report_views(
        config["results"],
        config["compare"]["candidate"],
        config["compare"]["baseline"],
        config["run"]["models"][0],
    )
    args.views.mkdir(parents=True, exist_ok=True)
    for name, clicks in views.items():
        seen = render_report(args.report, args.views / f"{name}.png", clicks)
        print(
            f"{args.views / name}.png: {seen['images']} image(s), {seen['frames']} embedded page(s) on screen"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
