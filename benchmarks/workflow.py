"""End to end: wall time of ``make run``'s workflow and the per-rule times Snakemake measured.

Runs ``snakemake --cores all`` on the default config (the embedded synthetic data set) into a
fresh results directory, so every rule runs, then reads the ``benchmark:`` file of every job
(Snakemake's own ``s``, ``max_rss`` columns). The reference for the table is the sum of the
jobs' seconds: wall < sum means jobs overlapped on the cores.
"""

from __future__ import annotations

import csv
import shutil
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


def bench_workflow(workdir: Path, cores: str = "all", log=print) -> dict[str, Any]:
    """Run the default workflow into ``workdir`` (deleted first) and time it."""
    if workdir.exists():
        shutil.rmtree(workdir)
    cmd = [
        str(Path(sys.executable).with_name("snakemake")),
        "--cores",
        cores,
        "--config",
        f"results={workdir}",
        "--quiet",
    ]
    log(f"workflow: {' '.join(cmd)}")
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise RuntimeError(
            f"workflow benchmark failed (exit {out.returncode}):\n{out.stderr[-3000:]}"
        )
    jobs = read_benchmarks(workdir)
    per_rule: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "seconds": 0.0, "max_rss_mib": 0.0}
    )
    for j in jobs:
        r = per_rule[j["rule"]]
        r["jobs"] += 1
        r["seconds"] += j["seconds"]
        r["max_rss_mib"] = max(r["max_rss_mib"], j["max_rss_mib"] or 0.0)
    log(
        f"workflow: {wall:.0f} s wall, {len(jobs)} jobs, {sum(j['seconds'] for j in jobs):.0f} s summed"
    )
    shutil.rmtree(workdir)
    return {
        "command": " ".join(cmd),
        "wall_seconds": wall,
        "job_seconds_sum": sum(j["seconds"] for j in jobs),
        "jobs": jobs,
        "per_rule": dict(per_rule),
    }
