"""Diagnostic figures: confusion matrix, training history, and the report's summary plots
(per-class F1 against train count, class-weight bars, per-job times).

Figures are built with the object-oriented :class:`matplotlib.figure.Figure`
API on an explicit Agg canvas rather than through ``pyplot``: that never
touches the process-wide backend or pyplot's figure registry (so it is safe in
Snakemake jobs, threads and headless machines), and nothing is ever shown.
Each function writes one PNG and releases the figure before returning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "plot_class_weights",
    "plot_confusion",
    "plot_confusion_difference",
    "plot_f1_vs_count",
    "plot_history",
    "plot_rare_species_pairs",
    "plot_timings",
]

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_acc", "val_macro_f1")


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    return fig


def _save(fig: Figure, path: Path, dpi: int) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, format="png", dpi=dpi)
    finally:
        # Not registered with pyplot, so there is nothing to plt.close(); clear
        # it so artists are released even if a caller keeps a reference.
        fig.clear()


def _row_normalise(confusion: np.ndarray) -> np.ndarray:
    """Divide each row by its sum: entry (i, j) becomes P(pred = j | true = i).

    The diagonal is then per-class recall.  Rows that sum to zero (species
    with no test clips) stay all-zero instead of becoming NaN.
    """
    cm = confusion.astype(np.float64)
    row_sums = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, row_sums, out=np.zeros_like(cm), where=row_sums > 0)


def _check_confusion(confusion: np.ndarray, species: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``(matrix, names)`` of a square confusion matrix with one row per species.

    Checked before any figure exists, so a mismatch is a clear ``ValueError`` rather than
    a half-drawn PNG or a heatmap whose tick labels are silently off by some rows.
    """
    cm = np.asarray(confusion)
    names = [str(s) for s in species]
    n = len(names)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion must be a square 2-D matrix, got shape {cm.shape}")
    if cm.shape[0] != n:
        raise ValueError(
            f"shape mismatch: confusion is {cm.shape[0]}x{cm.shape[1]} but there are {n} species"
        )
    return cm, names


def _confusion_side(names: list[str]) -> float:
    """Side of the heatmap's square in inches: ``max(4, 0.16 C) + min(0.055 L, 2.5)``.

    ``C`` classes at about 0.16 in per class keep every cell (and tick label) readable; ``L``,
    the longest name, adds room for the rotated column labels and the row labels, capped so
    one very long name cannot squeeze the matrix.
    """
    longest = max((len(s) for s in names), default=1)
    label_in = min(0.055 * longest, 2.5)  # room for the rotated/long tick labels
    return max(4.0, 0.16 * len(names)) + label_in


def _label_confusion_axes(ax: Axes, names: list[str], title: str) -> None:
    """Every species as a tick label on both axes, in a font that shrinks with ``C``.

    9 pt up to 20 classes, 7 up to 50, 5.5 beyond: with :func:`_confusion_side` this keeps
    names from overlapping up to ~90 classes.
    """
    n = len(names)
    fontsize = 9 if n <= 20 else (7 if n <= 50 else 5.5)
    ticks = np.arange(n)
    ax.set_xticks(ticks, labels=names, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, labels=names, fontsize=fontsize)
    ax.set_xlabel("predicted species")
    ax.set_ylabel("true species")
    if title:
        ax.set_title(title)


def _annotate_cells(
    ax: Axes, values: np.ndarray, cm: np.ndarray, normalise: bool, vmax: float
) -> None:
    """Write each cell's value in it: the row fraction (2 decimals) or the raw count.

    White on cells darker than 60 % of the colour scale, black elsewhere, so the text stays
    legible on the ``Blues`` map. Only worth it for small matrices (the caller's ``C <= 15``).
    """
    n = len(values)
    for i in range(n):
        for j in range(n):
            v = values[i, j]
            text = f"{v:.2f}" if normalise else f"{int(cm[i, j])}"
            colour = "white" if v > 0.6 * vmax else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)


def plot_confusion(
    confusion: np.ndarray,
    species: Sequence[str],
    path: Path,
    title: str = "",
    normalise: bool = True,
) -> None:
    """Save a confusion-matrix heatmap (rows = true, columns = predicted).

    With ``normalise=True`` each row is divided by its total, so cell
    :math:`(i, j) = C_{ij} / \\sum_k C_{ik}` is the fraction of species *i*
    clips predicted as *j*, the diagonal is per-class recall, and the colour
    scale is fixed to [0, 1] so rare and common species are comparable (raw
    counts would make the tail invisible).  Rows of species without test clips
    are drawn as zeros.  With ``normalise=False`` raw counts are shown.

    The figure grows linearly with the number of classes ``C`` (about 0.16 in
    per class, :func:`_confusion_side`) and the tick font shrinks
    (:func:`_label_confusion_axes`), so every species name stays legible up to
    ~90 classes; cell values are written in the cells when ``C <= 15``.

    Raises:
        ValueError: if ``confusion`` is not square or does not match
            ``len(species)``.
    """
    cm, names = _check_confusion(confusion, species)
    n = len(names)

    values = _row_normalise(cm) if normalise else cm.astype(np.float64)
    vmax = 1.0 if normalise else max(float(values.max(initial=0.0)), 1.0)

    side = _confusion_side(names)
    fig = _new_figure(side + 1.2, side + 0.4)
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label("fraction of true class (recall on diagonal)" if normalise else "count")
    _label_confusion_axes(ax, names, title)
    if n <= 15:
        _annotate_cells(ax, values, cm, normalise, vmax)

    _save(fig, path, dpi=150 if n <= 50 else 120)


def plot_history(history: pd.DataFrame, path: Path, title: str = "") -> None:
    """Save training curves: losses (left) and validation accuracy/macro-F1 (right).

    ``history`` needs columns ``epoch, train_loss, val_loss, val_acc,
    val_macro_f1`` (one row per epoch).  The best epoch — the one maximising
    ``val_macro_f1``, the model-selection criterion on long-tailed data; the
    first one on ties — is marked by a dashed vertical line in both panels.

    Raises:
        ValueError: if a column is missing or ``history`` is empty.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing columns: {missing}")
    if len(history) == 0:
        raise ValueError("history is empty: nothing to plot")
    h = history.sort_values("epoch")
    epoch = h["epoch"].to_numpy()

    fig = _new_figure(11.0, 4.2)
    ax_loss, ax_score = fig.subplots(1, 2)
    marker = "o" if len(h) <= 30 else None

    ax_loss.plot(epoch, h["train_loss"], marker=marker, ms=3, label="train loss")
    ax_loss.plot(epoch, h["val_loss"], marker=marker, ms=3, label="val loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss")

    ax_score.plot(epoch, h["val_acc"], marker=marker, ms=3, label="val accuracy")
    ax_score.plot(epoch, h["val_macro_f1"], marker=marker, ms=3, label="val macro-F1")
    ax_score.set_xlabel("epoch")
    ax_score.set_ylabel("score")
    ax_score.set_title("validation")

    f1 = pd.to_numeric(h["val_macro_f1"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(f1).any():
        best = int(np.nanargmax(np.where(np.isfinite(f1), f1, np.nan)))  # first max
        label = f"best epoch {epoch[best]:g} (macro-F1 {f1[best]:.3f})"
        for ax in (ax_loss, ax_score):
            ax.axvline(epoch[best], color="grey", linestyle="--", linewidth=1, label=label)

    for ax in (ax_loss, ax_score):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)

    _save(fig, path, dpi=120)


def binned_means(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``y`` per bin of ``x`` (bins between ``edges``, the last closed), at each bin's
    geometric-mean ``x``; sorted by that centre. Empty bins are left out."""
    bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
    centres = np.array([np.exp(np.log(x[bins == b]).mean()) for b in np.unique(bins)])
    means = np.array([y[bins == b].mean() for b in np.unique(bins)])
    order = np.argsort(centres)
    return centres[order], means[order]


def plot_f1_vs_count(
    table: pd.DataFrame, path: Path, rare_max_count: float | None = None, title: str = ""
) -> None:
    """Per-class test F1 against the species' train count, one panel per model.

    ``table`` has columns ``model, experiment, species, train_count, f1`` (one row per
    species and experiment, F1 already averaged over seeds; see
    :func:`jaxaudio.evaluation.report.f1_by_train_count`). Each experiment is a scatter in its own
    colour plus a line through its mean F1 in count bins (quantiles of the train counts,
    up to six), so the picture answers the question the class weights are for: did the
    rare (left) species improve, and what did the common ones pay for it. The x axis is
    logarithmic (long-tailed counts); ``rare_max_count`` draws the rare-species boundary.
    """
    missing = [
        c for c in ("model", "experiment", "species", "train_count", "f1") if c not in table.columns
    ]
    if missing:
        raise ValueError(f"table is missing columns: {missing}")
    if len(table) == 0:
        raise ValueError("table is empty: nothing to plot")
    models = list(dict.fromkeys(table["model"]))
    fig = _new_figure(5.5 * len(models), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(models), sharey=True))
    counts = table["train_count"].to_numpy(dtype=float)
    edges = np.unique(np.quantile(counts, np.linspace(0, 1, 7)))
    rng = np.random.default_rng(0)  # jitter only spreads species that share a count
    for ax, model in zip(axes, models):
        sub = table[table["model"] == model]
        for i, (exp, rows) in enumerate(sub.groupby("experiment", sort=False)):
            x = rows["train_count"].to_numpy(dtype=float)
            y = rows["f1"].to_numpy(dtype=float)
            ax.scatter(
                x * np.exp(rng.uniform(-0.04, 0.04, len(x))), y, s=14, alpha=0.55, color=f"C{i}"
            )
            centres, means = binned_means(x, y, edges)
            label = f"{exp} (mean F1 {y.mean():.3f})"
            ax.plot(centres, means, "-o", color=f"C{i}", lw=2, ms=4, label=label)
        if rare_max_count is not None:
            ax.axvline(
                rare_max_count,
                color="grey",
                linestyle="--",
                linewidth=1,
                label=f"rare: <= {rare_max_count:g}",
            )
        ax.set_xscale("log")
        ax.set_xlabel("train clips of the species (log scale)")
        ax.set_title(model)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("test F1 of the species")
    if title:
        fig.suptitle(title)
    _save(fig, path, dpi=120)


def plot_class_weights(weights: dict, path: Path) -> None:
    """Bars of each class-weight method per species, species sorted by train count.

    ``weights`` is the class-weight artifact (:func:`jaxaudio.training.weights.compute_class_weights`):
    ``train_counts`` and ``methods`` (method -> species -> weight), keyed by species name.
    A second axis shows the train counts themselves (grey line), so the inverse relation
    between count and weight is visible at a glance.
    """
    counts = weights["train_counts"]
    species = sorted(counts, key=lambda k: (counts[k], k))
    methods = list(weights["methods"])
    n = len(species)
    fig = _new_figure(max(7.0, 0.14 * n * max(1, len(methods)) ** 0.5 + 3), 4.6)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            [weights["methods"][m][sp] for sp in species],
            width=width,
            label=m,
            color=f"C{i}",
        )
    ax.set_ylabel("class weight")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(x, [counts[sp] for sp in species], color="0.3", lw=1.5, label="train count")
    ax2.set_ylabel("train clips")
    ax2.set_yscale("log")
    fontsize = 8 if n <= 20 else (6 if n <= 50 else 4.5)
    ax.set_xticks(x, labels=species, rotation=90, fontsize=fontsize)
    ax.set_xlim(-0.6, n - 0.4)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper right")
    ax.set_title(
        f"class weights by method (recommended: {weights.get('recommended', '?')}; "
        f"imbalance ratio {weights.get('imbalance_ratio', float('nan')):.1f})"
    )
    _save(fig, path, dpi=120)


def plot_timings(jobs: pd.DataFrame, path: Path) -> None:
    """Horizontal bars of wall-clock seconds and peak memory per job.

    ``jobs`` has columns ``job`` (a label), ``rule``, ``s`` (seconds) and ``max_rss`` (MiB),
    as :func:`jaxaudio.evaluation.report.benchmark_table` reads them from Snakemake's ``benchmark:``
    files. Jobs are sorted by time, longest at the top; bars are coloured by rule.
    """
    if len(jobs) == 0:
        raise ValueError("no benchmark records: nothing to plot")
    j = jobs.sort_values("s")
    rules = list(dict.fromkeys(jobs.sort_values("s", ascending=False)["rule"]))
    colour = {r: f"C{i % 10}" for i, r in enumerate(rules)}
    fig = _new_figure(11.0, max(3.0, 0.28 * len(j) + 1.2))
    ax_t, ax_m = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(j))
    ax_t.barh(y, j["s"], color=[colour[r] for r in j["rule"]])
    ax_t.set_yticks(y, labels=j["job"], fontsize=7 if len(j) > 20 else 9)
    ax_t.set_xlabel("wall-clock seconds")
    ax_t.set_title(f"time per job (total {jobs['s'].sum():.0f} s over {len(jobs)} jobs)")
    ax_m.barh(y, j["max_rss"], color=[colour[r] for r in j["rule"]])
    ax_m.set_xlabel("peak RSS (MiB)")
    ax_m.set_title("memory per job")
    for ax in (ax_t, ax_m):
        ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path, dpi=120)


def plot_rare_species_pairs(
    rows_by_model: dict[str, list[dict]], path: Path, baseline: str, candidate: str
) -> None:
    """Paired per-species test F1 of the rare species: baseline (left) to candidate (right).

    ``rows_by_model``: model -> the comparison's ``analysis.rare_species`` rows (``species,
    train_count, baseline_f1, candidate_f1``). One line per species, green where it gained,
    red where it lost, grey where equal; the mean is drawn thick. A paired plot answers
    "did the rare species improve" species by species, which a mean alone hides.
    """
    models = [m for m, rows in rows_by_model.items() if rows] or list(rows_by_model)
    fig = _new_figure(max(4.0, 3.6 * len(models)), 4.6)
    axes = np.atleast_1d(fig.subplots(1, len(models), sharey=True))
    for ax, model in zip(axes, models):
        rows = rows_by_model[model]
        for r in rows:
            d = r["candidate_f1"] - r["baseline_f1"]
            ax.plot(
                [0, 1],
                [r["baseline_f1"], r["candidate_f1"]],
                "-o",
                ms=3,
                lw=1,
                alpha=0.6,
                color="#1a7f37" if d > 0 else "#cf222e" if d < 0 else "#8c959f",
            )
        if rows:
            mb, mc = (
                np.mean([r["baseline_f1"] for r in rows]),
                np.mean([r["candidate_f1"] for r in rows]),
            )
            ax.plot([0, 1], [mb, mc], "-", color="black", lw=3, label=f"mean {mb:.3f} → {mc:.3f}")
            ax.legend(fontsize=8, loc="lower center")
        gained = sum(r["candidate_f1"] > r["baseline_f1"] for r in rows)
        lost = sum(r["candidate_f1"] < r["baseline_f1"] for r in rows)
        ax.set_title(f"{model}: {len(rows)} rare species, {gained} gained, {lost} lost", fontsize=9)
        ax.set_xticks([0, 1], [baseline, candidate])
        ax.set_xlim(-0.2, 1.2)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("test F1 of the species (mean over seeds)")
    _save(fig, path, dpi=120)


def plot_confusion_difference(
    diffs: dict[str, np.ndarray], species: Sequence[str], path: Path, title: str = ""
) -> None:
    """Candidate minus baseline confusion matrices (``model -> C x C``; rows: true species,
    test clips, mean over seeds), one panel per model: blue where the candidate puts more
    clips, red where fewer, on one symmetric scale. Blue on the diagonal is correct
    predictions won; blue off it is new confusion."""
    n = len(species)
    for model, d in diffs.items():
        if d.shape != (n, n):
            raise ValueError(f"{model}: difference matrix of shape {d.shape} for {n} species")
    size = min(14.0, max(4.5, 0.13 * n + 2.5))
    fig = _new_figure(size * len(diffs) + 1.2, size)
    axes = np.atleast_1d(fig.subplots(1, len(diffs)))
    limit = max([float(np.abs(d).max()) for d in diffs.values()] + [1e-9])
    for ax, (model, d) in zip(axes, diffs.items()):
        image = ax.imshow(d, cmap="RdBu", vmin=-limit, vmax=limit, interpolation="nearest")
        if n <= 40:
            ax.set_xticks(range(n), species, rotation=90, fontsize=7)
            ax.set_yticks(range(n), species, fontsize=7)
        ax.set_xlabel("predicted species")
        ax.set_ylabel("true species")
        ax.set_title(model, fontsize=10)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="Δ test clips (candidate − baseline)")
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path, dpi=110)
