"""The workflow passes Snakemake's linter and is formatted with snakefmt; the Python passes
ruff check and is formatted with ruff format (pyproject.toml, [tool.ruff])."""

import subprocess
import sys

from tests.conftest import ROOT


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_check():
    snakefmt = ROOT / ".venv" / "bin" / "snakefmt"
    exe = [str(snakefmt)] if snakefmt.exists() else [sys.executable, "-m", "snakefmt"]
    proc = subprocess.run(
        [*exe, "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = ROOT / ".venv" / "bin" / "ruff"
    exe = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    return subprocess.run([*exe, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    """The rules of pyproject.toml's [tool.ruff.lint] (pyflakes, import order, bugbear, ...)."""
    proc = _ruff("check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_check():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr
