"""The results-folder lock: a second run is refused naming the first; no stale lock after a kill."""

import os
import signal
import subprocess
import sys

import pytest

from jaxaudio.runtime.results_lock import ResultsLocked, lock_results, release_results

HOLD = "from jaxaudio.runtime.results_lock import lock_results; lock_results({folder!r}); print('locked', flush=True); input()"


def holder(folder):
    """Another process that takes the lock and keeps it until its stdin closes or it is killed."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(folder=str(folder))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_taker_is_refused_with_the_holders_identity(tmp_path):
    p = holder(tmp_path / "results")
    try:
        with pytest.raises(ResultsLocked) as err:
            lock_results(tmp_path / "results")
        msg = str(err.value)
        assert f"results folder {tmp_path / 'results'} is in use by another jaxaudio run" in msg
        assert f"pid {p.pid} on " in msg and os.getcwd() in msg
    finally:
        p.kill()
        p.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    p = holder(tmp_path / "results")
    os.kill(p.pid, signal.SIGKILL)  # no clean-up code runs
    p.wait()
    path = lock_results(tmp_path / "results")
    try:
        assert path.name == ".jaxaudio.lock"
        assert (
            lock_results(tmp_path / "results") == path
        )  # taking it again in the same process: no-op
    finally:
        release_results(tmp_path / "results")


def test_released_lock_can_be_taken_by_another_process(tmp_path):
    lock_results(tmp_path / "r")
    release_results(tmp_path / "r")
    p = holder(tmp_path / "r")
    p.kill()
    p.wait()
