"""End to end: wall time of a workflow run, the per-rule times Snakemake measured, where each
training job's time goes, and what the compilation cache saves.

Runs ``snakemake --cores all`` on the default config (the embedded synthetic data set, as
``make run``), or on the config files given (``--workflow-config``, e.g.
``benchmarks/birdsounds-bench.yaml``: birdsounds-dev-sized work), into a fresh results
directory, so every rule runs, then reads the ``benchmark:`` file of every job (Snakemake's
own ``s``, ``max_rss`` columns). The reference for the wall time is the sum of the jobs'
seconds: wall < sum means jobs overlapped on the cores.

Each training job's seconds split into its epochs (``history.csv`` ``seconds``, each epoch
with its validation) and the rest, **start-up** (process start, imports, reading the cache,
building the model, the first compile is in the first epoch), and the first epoch's excess
over the median later epoch, **compile** (``compile_cache``: the part a cached program saves).

Then the run is repeated in the same folder with everything but the compilation cache
(``<results>/cache/jax``) deleted: the **warm** run. Cold wall / warm wall is the cache's
saving on the whole run, measured in one process on one machine.

When the config trains several seeds of an experiment × model, the run is repeated a third
time from nothing (no cache either) with ``training.vmap_seeds: true``: cold wall / vmapped
wall, and the training jobs' summed seconds against the ``train_seeds`` jobs', is what
training the seeds as one program saves (:mod:`jaxaudio.training.seeds`).
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def read_benchmarks(results: Path) -> list[dict[str, Any]]:
    """One row per job: ``job`` (path under ``benchmarks/`` without ``.tsv``), ``rule`` (its
    first component), ``seconds`` and ``max_rss_mib`` as Snakemake wrote them."""
    jobs = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        with open(tsv, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        job = tsv.relative_to(results / "benchmarks").with_suffix("").as_posix()
        rss = rows[-1].get("max_rss", "NA")
        jobs.append(
            {
                "job": job,
                "rule": job.split("/")[0],
                "seconds": float(rows[-1]["s"]),
                "max_rss_mib": float(rss) if rss not in ("NA", "-", "") else None,
            }
        )
    return jobs


def training_time(results: Path, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per training job: its seconds (benchmark file), epochs, the median epoch after the
    first, start-up (job seconds - the epochs' seconds) and compile (first epoch - median)."""
    out = []
    for j in jobs:
        if j["rule"] != "train":
            continue
        run = j["job"].split("/", 1)[1]  # train/<exp>/<model>/seed<k>
        hist = results / "train" / run / "history.csv"
        if not hist.is_file():
            continue
        with open(hist, newline="") as f:
            secs = [float(r["seconds"]) for r in csv.DictReader(f)]
        if len(secs) < 2:
            continue
        median = statistics.median(secs[1:])
        out.append(
            {
                "run": run,
                "seconds": j["seconds"],
                "epochs": len(secs),
                "median_epoch_seconds": median,
                "startup_seconds": j["seconds"] - sum(secs),
                "compile_seconds": secs[0] - median,
            }
        )
    return out


def _per_rule(jobs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    per_rule: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "seconds": 0.0, "max_rss_mib": 0.0}
    )
    for j in jobs:
        r = per_rule[j["rule"]]
        r["jobs"] += 1
        r["seconds"] += j["seconds"]
        r["max_rss_mib"] = max(r["max_rss_mib"], j["max_rss_mib"] or 0.0)
    return dict(per_rule)


def _run(cmd: list[str], log) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise RuntimeError(
            f"workflow benchmark failed (exit {out.returncode}):\n{out.stderr[-3000:]}"
        )
    return wall


def _one_pass(workdir: Path, cmd: list[str], log) -> dict[str, Any]:
    wall = _run(cmd, log)
    jobs = read_benchmarks(workdir)
    train = training_time(workdir, jobs)
    log(
        f"workflow: {wall:.0f} s wall, {len(jobs)} jobs, {sum(j['seconds'] for j in jobs):.0f} s summed"
    )
    return {
        "wall_seconds": wall,
        "job_seconds_sum": sum(j["seconds"] for j in jobs),
        "train_seconds": train_seconds(jobs),
        "jobs": jobs,
        "per_rule": _per_rule(jobs),
        "train_jobs": train,
        "train_startup_seconds": sum(t["startup_seconds"] for t in train),
        "train_compile_seconds": sum(t["compile_seconds"] for t in train),
        "train_epoch_seconds": sum(t["seconds"] - t["startup_seconds"] for t in train),
    }


def bench_workflow(
    workdir: Path, cores: str = "all", log=print, configfiles: tuple[Path, ...] = ()
) -> dict[str, Any]:
    """Run the workflow (default config, or ``configfiles`` on top of it) into ``workdir``
    (deleted first) and time it cold, then warm (only the compilation cache kept)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--cores", cores]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += ["--config", f"results={workdir}", "--quiet"]
    log(f"workflow: {' '.join(cmd)}")
    cold = _one_pass(workdir, cmd, log)
    for p in workdir.iterdir():  # keep only the compilation cache
        if p.name != "cache":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    for p in (workdir / "cache").iterdir():
        if p.name != "jax":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    log("workflow: again, with the compilation cache of the first run")
    warm = _one_pass(workdir, cmd, log)
    shutil.rmtree(workdir)
    out = {
        "command": " ".join(cmd),
        "configfiles": [str(c) for c in configfiles],
        **cold,
        "warm": warm,
        "cache_saving_ratio": cold["wall_seconds"] / warm["wall_seconds"],
    }
    if max(seeds_per_run(cold["jobs"]).values(), default=1) > 1:
        out["vmapped"] = _vmapped_pass(workdir, cmd, log)
        out["vmap_ratio"] = cold["wall_seconds"] / out["vmapped"]["wall_seconds"]
        out["vmap_train_ratio"] = cold["train_seconds"] / out["vmapped"]["train_seconds"]
    return out


def seeds_per_run(jobs: list[dict[str, Any]]) -> dict[str, int]:
    """``<exp>/<model> -> training jobs`` (one per seed without ``training.vmap_seeds``)."""
    runs: dict[str, int] = defaultdict(int)
    for j in jobs:
        if j["rule"] == "train":
            runs[j["job"].split("/", 1)[1].rsplit("/", 1)[0]] += 1
    return dict(runs)


def train_seconds(jobs: list[dict[str, Any]]) -> float:
    """The training jobs' seconds (``train`` and ``train_seeds``: both write under ``train/``)."""
    return sum(j["seconds"] for j in jobs if j["rule"] == "train")


def _vmapped_pass(workdir: Path, cmd: list[str], log) -> dict[str, Any]:
    """The run again from nothing (no compilation cache either: both passes compile every
    program once) with ``training.vmap_seeds: true``: one job per experiment × model."""
    overlay = workdir.parent / "vmap_seeds.yaml"
    overlay.write_text("training:\n  vmap_seeds: true\n")
    at = cmd.index("--config")
    vmapped = (
        cmd[:at] + [str(overlay)] + cmd[at:]
        if "--configfile" in cmd
        else cmd[:at] + ["--configfile", str(overlay)] + cmd[at:]
    )
    log("workflow: again from nothing, every experiment x model's seeds in one vmapped job")
    t = _one_pass(workdir, vmapped, log)
    shutil.rmtree(workdir)
    overlay.unlink()
    return {"command": " ".join(vmapped), **t}


def bench_torch_workflow(out: Path, log=print) -> dict[str, Any]:
    """``python -m benchmarks.torch_workflow`` (its defaults: the experiments of
    ``benchmarks/birdsounds-bench.yaml``) in a fresh process: its JSON, plus the process's
    wall seconds (start-up and imports included, as a Snakemake job's are)."""
    cmd = [sys.executable, "-m", "benchmarks.torch_workflow", "--out", str(out)]
    log(f"workflow: the PyTorch reference, {' '.join(cmd)}")
    seconds = _run(cmd, log)
    ref = json.loads(out.read_text())
    out.unlink()
    log(f"workflow: PyTorch reference {seconds:.0f} s")
    return {"command": " ".join(cmd), "process_seconds": seconds, **ref}
