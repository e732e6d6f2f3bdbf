"""``findings.md``: the plan's "document findings" step, readable without opening JSON.

Written by the compare step from the comparison document
(:func:`jaxaudio.evaluation.compare.compare_runs`): the decision and every reason that fired, the
intervals behind the relative rules, the rollback ladder's outcome, the rare species that
gained and lost, the training stability per seed, and the configuration recommended on
validation. The report shows it as its first section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jaxaudio.evaluation.bootstrap import format_interval

#: How a seed ensemble's row is named after its experiment (tables, findings, report).
ENSEMBLE_LABEL = " (ensemble)"

#: Rare species listed as gained and as lost (the largest changes).
SHOWN_SPECIES = 8


def ladder_verdict(ladder: Mapping[str, Any]) -> str:
    """The rollback ladder's outcome in words: its first GO rung, that none reached GO, or
    that none has run (``compare.ladder_mode: never``, or the rungs not scheduled yet)."""
    first = ladder["first_go"]
    if first:
        return f"first rung to reach GO: {first['rung']} ({first['experiment']})"
    if not any(r["ran"] for r in ladder["rungs"]):
        return "no rung has run (compare.ladder_mode)"
    return "no rung reached GO"


def _metric(r: Mapping[str, Any], k: str) -> str:
    m, sd = r["metrics"], r["std"]
    if m.get(k) is None:
        return "–"
    return (
        f"{m[k]:.3f} ± {sd[k]:.3f}" if r["n_seeds"] > 1 and sd.get(k) is not None else f"{m[k]:.3f}"
    )


def _decision_table(model: str, m: Mapping[str, Any], conf: str) -> list[str]:
    lines = [
        f"| experiment | seeds | val macro-F1 | accuracy | macro-F1 | rare-F1 | Δ macro-F1 {conf} | Δ accuracy {conf} "
        f"| Δ rare-F1 {conf} | decision |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(exp, r) for exp, r in m["experiments"].items()]
    rows += [(exp + ENSEMBLE_LABEL, r) for exp, r in (m.get("ensembles") or {}).items()]
    for exp, r in rows:
        ci = r.get("intervals") or {}
        val = f"{r['mean_val_macro_f1']:.3f}" if r.get("mean_val_macro_f1") is not None else "–"
        lines.append(
            f"| {exp} | {r['n_seeds']} | {val} | {_metric(r, 'accuracy')} | "
            f"{_metric(r, 'macro_f1')} | {_metric(r, 'rare_f1')} | "
            f"{format_interval(ci.get('macro_f1'))} | {format_interval(ci.get('accuracy'))} | {format_interval(ci.get('rare_f1'))} | "
            f"**{r['decision']}** |"
        )
    return lines


def _species(rows: list[Mapping[str, Any]], gained: bool) -> str:
    picked = [
        r
        for r in (reversed(rows) if gained else rows)
        if (r["delta"] > 0 if gained else r["delta"] < 0)
    ]
    if not picked:
        return "none"
    shown = ", ".join(
        f"{r['species']} ({r['baseline_f1']:.2f} → {r['candidate_f1']:.2f}, {r['train_count']} train)"
        for r in picked[:SHOWN_SPECIES]
    )
    return shown + (
        f", and {len(picked) - SHOWN_SPECIES} more" if len(picked) > SHOWN_SPECIES else ""
    )


def analysis_lines(m: Mapping[str, Any], comparison: Mapping[str, Any]) -> list[str]:
    """The plan's analysis of one model as plain lines (also in comparison.txt): rare species
    gained and lost with train counts, the confusions that changed most, training per seed."""
    base, cand = comparison["baseline"], comparison["candidate"]
    rare = m["analysis"]["rare_species"]
    out = [
        f"Rare species ({len(rare)} with test clips), mean F1 over seeds, {base} → {cand}:",
        f"- gained: {_species(rare, True)}",
        f"- lost: {_species(rare, False)}",
        "",
    ]
    pairs = m["analysis"]["confusion_changes"]
    if pairs:
        out += [
            "Confusions that changed most (mean test clips over seeds, candidate − baseline): "
            + "; ".join(f"{p['true']} → {p['predicted']} {p['delta']:+.1f}" for p in pairs[:5])
            + ".",
            "",
        ]
    out.append(
        "Training per seed (best epoch / epochs, last÷lowest val loss, largest val macro-F1 fall):"
    )
    for exp in (base, cand):
        st = m["experiments"][exp]["stability"]
        cells = [
            f"seed {s}: {c['best_epoch']}/{c['epochs']}, "
            f"{'–' if c['val_loss_growth'] is None else format(c['val_loss_growth'], '.2f')}x, "
            f"{'–' if c['max_val_f1_drop'] is None else format(c['max_val_f1_drop'], '.3f')}"
            for s, c in st["per_seed"].items()
        ]
        out.append(f"- {exp}: {'; '.join(cells)} — {'stable' if st['stable'] else 'not stable'}")
    return out + [""]


def _model_section(
    model: str, m: Mapping[str, Any], comparison: Mapping[str, Any], conf: str
) -> list[str]:
    base, cand = comparison["baseline"], comparison["candidate"]
    imp = m["improvements"]
    rel = (
        f"{imp['relative_improvement_pct']:+.1f} %"
        if imp["relative_improvement_pct"] is not None
        else "–"
    )
    out = [
        f"## {model}: {m['decision']}",
        "",
        f"{cand} against {base}: macro-F1 {m['baseline_v1']['f1_macro']:.3f} → {m['baseline_v2']['f1_macro']:.3f} "
        f"({imp['f1_macro_delta']:+.3f}, {rel}), accuracy {m['baseline_v1']['accuracy']:.3f} → "
        f"{m['baseline_v2']['accuracy']:.3f} ({imp['accuracy_delta']:+.3f}).",
        "",
        "Reasons:",
    ]
    out += [f"- {r['level']}: {r['reason']}" for r in m["reasons"]]
    out += ["", *_decision_table(model, m, conf), "", *analysis_lines(m, comparison)]
    if m.get("ladder"):
        out.append("Rollback ladder:")
        for r in m["ladder"]["rungs"]:
            out.append(
                f"- {r['rung']} ({r['experiment']}): "
                + (
                    f"{r['decision']}, macro-F1 {r['metrics']['macro_f1']:.3f}, Δ rare-F1 {format_interval((r.get('intervals') or {}).get('rare_f1'))}"
                    if r["ran"]
                    else "not run"
                )
            )
        out += [f"- {ladder_verdict(m['ladder'])}", ""]
    return out


def _validation_of(rec: Mapping[str, Any]) -> str:
    """What the recommendation was ranked on: the re-splits' mean (compare.selection), or
    the validation macro-F1."""
    sel = (rec.get("selection") or {}).get(f"{rec['experiment']}/{rec['model']}")
    if sel:
        return (
            f"validation macro-F1 {sel['mean']:.3f} ± {sel['std']:.3f} over "
            f"{len(sel['per_split'])} re-splits of train + val"
        )
    return f"mean validation macro-F1 {rec['mean_val_macro_f1']:.3f}"


def findings_markdown(comparison: Mapping[str, Any]) -> str:
    """The findings as Markdown (see the module docstring)."""
    conf = f"[{100 * comparison['bootstrap']['confidence']:g} % CI]"
    rec = comparison["recommended"]
    lines = [
        f"# Findings: {comparison['candidate']} vs {comparison['baseline']}",
        "",
        f"**Decision: {comparison['decision']}** (per model below; GO only when every model is GO).",
        "",
    ]
    if rec.get("experiment"):
        t = rec["test_metrics"]
        lines += [
            f"**Recommended configuration: {rec['experiment']} / {rec['model']}"
            f"{' (seed ensemble of ' + str(len(rec['seeds'])) + ')' if rec.get('ensemble') else ''}** — "
            f"{_validation_of(rec)}; its test accuracy {t['accuracy']:.3f}, macro-F1 {t['macro_f1']:.3f}, "
            f"rare-F1 {'–' if t['rare_f1'] is None else format(t['rare_f1'], '.3f')}; decision {rec['decision']}. "
            f"Chosen as {rec['rule']}.",
            "",
        ]
    b = comparison["bootstrap"]
    lines += [
        f"Intervals: {100 * b['confidence']:g} % paired bootstrap over the test clips ({b['n_resamples']} "
        "resamples; the same clips for both sides, each seed scored, the mean over seeds differenced). "
        "Worse than the baseline = the whole Δ macro-F1 or Δ accuracy interval below 0; an improvement for "
        "rare species = the whole Δ rare-F1 interval above 0.",
        "",
    ]
    for model, m in comparison["models"].items():
        lines += _model_section(model, m, comparison, conf)
    return "\n".join(lines).rstrip() + "\n"
