"""The hand-written PyTorch reference for the workflow benchmark.

What a PyTorch user would write for the experiments the workflow runs on birdsounds-dev,
with plain PyTorch, librosa and scikit-learn (no ``jaxaudio`` import; the model is
:mod:`benchmarks.torch_models`, the PyTorch twin of our CNN). Each phase is timed with
``time.perf_counter``:

1. **manifest**: read the CSV (``path``, ``species``, ``split``; paths relative to its
   folder); the label of a species is its index in the sorted species names.
2. **features**: a ``multiprocessing.Pool`` of ``workers`` processes over the files; each
   file is decoded once (``librosa.load(sr=22050, mono=True)``), zero-padded at the end or
   centre-cropped to 1 s, and every requested feature set is computed from that audio with
   librosa's defaults, as ``jaxaudio/features/reference.py`` calls it: ``mfcc`` (40
   coefficients of 128 mel bands) or ``logmel64`` (``power_to_db(ref=np.max, top_db=80)`` of
   64 mel bands: dB re the clip's loudest bin, config/birdsounds-dev.yaml's ``db_reference``), then Δ and Δ² (``librosa.feature.delta``, width 9): ``(3, bands, 44)`` float32.
3. **train**: per experiment × seed, the CNN (``models.cnn`` of
   ``config/birdsounds-dev.yaml``) with AdamW (lr 1e-3, weight decay 1e-4), cosine decay to
   0 per step, batch 64 (the last batch partial), a permutation per epoch seeded by
   ``(seed, epoch)``, raw features, no class weights and the logit-adjusted loss (Menon et
   al. 2021, τ = 1) in training only; after each epoch the validation macro-F1 of the argmax,
   the best epoch's weights kept (strictly better; ties keep the earlier), early stopping
   after ``patience`` epochs without improvement.
4. **eval**: the best weights' test accuracy and macro-F1.

Deliberately NOT done, although the workflow does them: offset copies of the clips, the
synthetic background clips, calibration, decision thresholds, the baselines, seed
ensembles, bundles and the report. Time it against a workflow config without offsets and
background (and only these experiments), or the two sides do different work.

Run: ``.venv/bin/python -m benchmarks.torch_workflow --limit 40 --epochs 1``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from benchmarks.torch_models import build_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "birdsounds-dev" / "manifest.csv"

SAMPLE_RATE = 22050
N_SAMPLES = SAMPLE_RATE  # clip_seconds: 1.0
STFT = {"sr": SAMPLE_RATE, "n_fft": 2048, "hop_length": 512}
DELTA_WIDTH = 9
FEATURE_SETS = ("mfcc", "logmel64")

MODEL_OPTIONS = {"channels": [32, 64, 128], "dropout": 0.3, "pool": "time"}
BATCH_SIZE = 64
EVAL_BATCH_SIZE = 256
LR = 1e-3
WEIGHT_DECAY = 1e-4
TAU = 1.0
DEFAULT_EXPERIMENTS = {"v4": "mfcc", "v6": "logmel64"}

Split = tuple[dict[str, np.ndarray], np.ndarray]  # (features per set, labels)


def read_manifest(manifest: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Rows with ``path`` made absolute; ``limit``: the first ``limit`` rows of each split."""
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    taken: dict[str, int] = {}
    kept = []
    for row in rows:
        split = row["split"]
        if limit is None or taken.get(split, 0) < limit:
            taken[split] = taken.get(split, 0) + 1
            kept.append({**row, "path": str(manifest.parent / row["path"])})
    return kept


def load_clip(path: str | Path) -> np.ndarray:
    """The clip at 22050 Hz mono, zero-padded at the end or centre-cropped to 1 s."""
    y, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True)
    if len(y) < N_SAMPLES:
        return np.pad(y, (0, N_SAMPLES - len(y)))
    start = (len(y) - N_SAMPLES) // 2
    return y[start : start + N_SAMPLES]


def feature_stack(y: np.ndarray, feature_set: str) -> np.ndarray:
    """``(3, bands, frames)`` float32: the set's first channel, its Δ and its Δ²."""
    if feature_set == "mfcc":
        c = librosa.feature.mfcc(y=y, n_mfcc=40, n_mels=128, **STFT)
    elif feature_set == "logmel64":
        mel = librosa.feature.melspectrogram(y=y, n_mels=64, **STFT)
        c = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    else:
        raise ValueError(f"unknown feature set {feature_set!r}; use one of {FEATURE_SETS}")
    d1 = librosa.feature.delta(c, width=DELTA_WIDTH, order=1, mode="interp")
    d2 = librosa.feature.delta(c, width=DELTA_WIDTH, order=2, mode="interp")
    return np.stack([c, d1, d2]).astype(np.float32)


def clip_features(path: str | Path, feature_sets: Sequence[str]) -> dict[str, np.ndarray]:
    """Every requested feature set of one file, decoded once."""
    y = load_clip(path)
    return {name: feature_stack(y, name) for name in feature_sets}


def extract(
    paths: Sequence[str], feature_sets: Sequence[str], workers: int
) -> dict[str, np.ndarray]:
    """``(N, 3, bands, frames)`` per feature set, the files spread over a process pool."""
    with Pool(workers) as pool:
        per_clip = pool.map(partial(clip_features, feature_sets=tuple(feature_sets)), paths)
    return {name: np.stack([c[name] for c in per_clip]) for name in feature_sets}


def log_prior(train_labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """``log π_c``, ``π_c = n_c / n`` from the training labels; a class without training clips
    gets the smallest observed count (an infinite offset would make the loss NaN)."""
    counts = np.bincount(train_labels, minlength=n_classes).astype(np.float64)
    counts[counts == 0] = counts[counts > 0].min()
    return torch.tensor(np.log(counts / counts.sum()), dtype=torch.float32)


def logit_adjusted_loss(
    logits: torch.Tensor, y: torch.Tensor, prior_log: torch.Tensor, tau: float = TAU
) -> torch.Tensor:
    """Cross-entropy of ``logits + τ log π`` (Menon et al. 2021): the training loss only."""
    return F.cross_entropy(logits + tau * prior_log, y)


def cosine_lambda(total_steps: int) -> Callable[[int], float]:
    """LambdaLR factor: ``½(1 + cos(π t / T))``, from 1 at step 0 to 0 at step ``T``."""
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Argmax of the plain logits, eval mode, batches of 256."""
    model.eval()
    out = [model(x[i : i + EVAL_BATCH_SIZE]).argmax(1) for i in range(0, len(x), EVAL_BATCH_SIZE)]
    return torch.cat(out).cpu().numpy()


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    x: torch.Tensor,
    y: torch.Tensor,
    prior_log: torch.Tensor,
    perm: np.ndarray,
) -> None:
    """One pass over the training split in the order ``perm``, one scheduler step per batch."""
    model.train()
    for i in range(0, len(perm), BATCH_SIZE):
        idx = torch.from_numpy(perm[i : i + BATCH_SIZE]).to(x.device)
        loss = logit_adjusted_loss(model(x[idx]), y[idx], prior_log)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


def fit(
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, np.ndarray],
    n_classes: int,
    seed: int,
    epochs: int,
    patience: int,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train one seed; the model comes back with its best epoch's weights."""
    x, y = train
    torch.manual_seed(seed)
    model = build_model("cnn", n_classes, tuple(x.shape[1:]), MODEL_OPTIONS).to(x.device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, cosine_lambda(epochs * math.ceil(len(x) / BATCH_SIZE))
    )
    prior_log = log_prior(y.cpu().numpy(), n_classes).to(x.device)
    best = {"f1": -1.0, "epoch": 0, "state": None}
    epoch_seconds, bad = [], 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = np.random.default_rng((seed, epoch)).permutation(len(x))
        train_epoch(model, opt, sched, x, y, prior_log, perm)
        f1 = macro_f1(val[1], predict(model, val[0]))
        if f1 > best["f1"]:
            best, bad = (
                {"f1": f1, "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())},
                0,
            )
        else:
            bad += 1
        epoch_seconds.append(time.perf_counter() - t0)
        if bad >= patience:
            break
    model.load_state_dict(best["state"])
    log = {
        "epochs_run": len(epoch_seconds),
        "best_epoch": best["epoch"],
        "best_val_macro_f1": best["f1"],
        "epoch_seconds": epoch_seconds,
    }
    return model, log


def split_data(
    rows: list[dict[str, str]], features: dict[str, np.ndarray], species: list[str]
) -> dict[str, Split]:
    """Features and labels per split."""
    labels = np.array([species.index(r["species"]) for r in rows])
    splits = np.array([r["split"] for r in rows])
    return {
        s: ({k: v[splits == s] for k, v in features.items()}, labels[splits == s])
        for s in ("train", "val", "test")
    }


def run(
    manifest: Path,
    experiments: dict[str, str],
    seeds: list[int],
    epochs: int,
    patience: int = 15,
    workers: int | None = None,
    threads: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Every phase, timed; the JSON-ready result (module docstring)."""
    t_start = time.perf_counter()
    threads = threads or os.cpu_count() or 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = read_manifest(Path(manifest), limit)
    species = sorted({r["species"] for r in rows})
    manifest_seconds = time.perf_counter() - t_start

    t0 = time.perf_counter()
    sets = sorted(set(experiments.values()))
    features = extract([r["path"] for r in rows], sets, workers or os.cpu_count() or 1)
    feature_seconds = time.perf_counter() - t0

    torch.set_num_threads(threads)
    data = split_data(rows, features, species)
    y_train = torch.from_numpy(data["train"][1]).to(device)
    train_seconds, runs, eval_seconds = {}, {}, 0.0
    for name, feature_set in experiments.items():
        x = {s: torch.from_numpy(data[s][0][feature_set]).to(device) for s in data}
        for seed in seeds:
            key = f"{name}/seed{seed}"
            t0 = time.perf_counter()
            model, log = fit(
                (x["train"], y_train),
                (x["val"], data["val"][1]),
                len(species),
                seed,
                epochs,
                patience,
            )
            train_seconds[key] = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred, y_test = predict(model, x["test"]), data["test"][1]
            log["test_accuracy"] = float(accuracy_score(y_test, pred))
            log["test_macro_f1"] = macro_f1(y_test, pred)
            eval_seconds += time.perf_counter() - t0
            runs[key] = log
    return {
        "clips": len(rows),
        "species": len(species),
        "manifest_seconds": manifest_seconds,
        "feature_seconds": feature_seconds,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "wall_seconds": time.perf_counter() - t_start,
        "runs": runs,
        "torch": torch.__version__,
        "threads": threads,
        "device": str(device),
    }


def summary(result: dict[str, Any]) -> str:
    """A few lines: data, phase times, each run's metrics."""
    lines = [
        f"torch {result['torch']} on {result['device']}, {result['threads']} threads: "
        f"{result['clips']} clips, {result['species']} species",
        f"features {result['feature_seconds']:.1f} s, eval {result['eval_seconds']:.2f} s, "
        f"wall {result['wall_seconds']:.1f} s",
    ]
    for key, r in result["runs"].items():
        lines.append(
            f"{key}: {result['train_seconds'][key]:.1f} s train, {r['epochs_run']} epochs, "
            f"best {r['best_epoch']} (val macro-F1 {r['best_val_macro_f1']:.3f}), "
            f"test acc {r['test_accuracy']:.3f} macro-F1 {r['test_macro_f1']:.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--patience", type=int, default=15)
    p.add_argument(
        "--workers", type=int, default=None, help="feature processes (default: all cores)"
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--limit", type=int, default=None, help="first N clips of each split")
    p.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = p.parse_args(argv)
    result = run(
        args.manifest,
        DEFAULT_EXPERIMENTS,
        args.seeds,
        args.epochs,
        args.patience,
        args.workers,
        args.threads,
        args.limit,
    )
    print(summary(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
