"""The workflow passes Snakemake's linter and is formatted with snakefmt."""

import subprocess
import sys

from tests.conftest import ROOT


def test_snakemake_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_check():
    snakefmt = ROOT / ".venv" / "bin" / "snakefmt"
    exe = [str(snakefmt)] if snakefmt.exists() else [sys.executable, "-m", "snakefmt"]
    proc = subprocess.run([*exe, "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
