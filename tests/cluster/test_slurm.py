"""The workflow on a real one-node Slurm cluster through profiles/slurm.

tests/cluster/slurm_test.sh installs slurm-wlm and munge with apt-get when missing, starts
munged, slurmctld and slurmd of its own (root), runs the tiny config locally and as Slurm
jobs and compares the outputs, makes a job fail, cancels one and reruns; about 8-9 minutes
on a 2-core machine. Opt in with JAXAUDIO_SLURM_TEST=1 (or `make slurm-test`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("JAXAUDIO_SLURM_TEST") != "1",
        reason="starts a real Slurm controller and node (root, apt-get install slurm-wlm munge, "
        "~9 min): set JAXAUDIO_SLURM_TEST=1 or run `make slurm-test`",
    ),
]


@pytest.mark.timeout(1800)
def test_workflow_on_a_one_node_slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root: apt-get, munged and slurmd")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        pytest.skip("Slurm is not installed and there is no apt-get to install it")
    env = {**os.environ, "JAXAUDIO_PYTHON": sys.executable}
    # output goes straight to the terminal (pytest -s) or to pytest's capture, shown on failure
    proc = subprocess.run(
        ["bash", str(ROOT / "tests" / "cluster" / "slurm_test.sh")],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, "tests/cluster/slurm_test.sh failed: see its FAIL lines above"
