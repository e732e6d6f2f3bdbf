"""Scheduling: jobs running at once never use more threads than --cores
(snakemake/snakemake#3913), read from the Snakemake logs of the tiny run and of the
interrupted and resumed training (.test/resume).
"""

from __future__ import annotations

import re
import textwrap

import pytest

pytestmark = pytest.mark.slow


def peak_threads(log: str) -> tuple[int | None, int, int]:
    """``(provided cores, peak threads of jobs running at once, jobs)`` from a Snakemake log
    (cores ``None`` for a log that ran no job: a report, a dry run).

    The scheduler logs a job's block (``rule X:`` ... ``threads: T``; no line means 1) when
    it starts it and ``Finished jobid: N`` after its process has ended, in the order it
    does both, so replaying the lines gives the threads in use at every moment; each job's
    logged span contains its process's lifetime.
    """
    provided = re.search(r"^Provided cores: (\d+)", log, re.M)
    cores = int(provided[1]) if provided else None
    running: dict[str, int] = {}
    peak = jobs = 0
    block = None
    for line in log.splitlines():
        if re.match(r"^(local)?(rule|checkpoint) \w+:$", line):
            block = {"threads": 1}
        elif block is not None and (m := re.match(r"^\s+(jobid|threads): (\d+)$", line)):
            block[m[1]] = int(m[2])
        elif block is not None and not line.startswith(" "):
            if "jobid" in block:
                running[block["jobid"]] = block["threads"]
                jobs += 1
                peak = max(peak, sum(running.values()))
            block = None
        if m := re.match(r"^Finished jobid: (\d+)", line):
            running.pop(int(m[1]), None)
    return cores, peak, jobs


def test_peak_threads_reads_overlap_from_a_log():
    """The parser on a hand-made log: two 2-thread jobs overlap (4 > 2 cores), a 1-thread job after."""
    log = textwrap.dedent("""\
        Provided cores: 2
        [Tue Dec  1 09:53:58 2026]
        localrule a:
            jobid: 1
            threads: 2
            resources: tmpdir=/tmp
        [Tue Dec  1 09:53:58 2026]
        rule a:
            jobid: 3
            threads: 2
        [Tue Dec  1 09:54:00 2026]
        Finished jobid: 1 (Rule: a)
        Finished jobid: 3 (Rule: a)
        [Tue Dec  1 09:54:00 2026]
        rule b:
            jobid: 4
        Select jobs to execute...
        Finished jobid: 4 (Rule: b)
        """)
    assert peak_threads(log) == (2, 4, 3)


def test_jobs_never_use_more_threads_than_cores(tiny_run, resumed_training):
    """snakemake/snakemake#3913 (Snakemake 9.10-9.16 did not count a job started alone, so
    jobs beyond --cores ran at once): every run in the tiny run's directory (the full run,
    and whatever dry runs and reports the session ran there before) and in the resume
    test's copy of it (the killed and the resumed training, --cores 1) keeps within its
    --cores."""
    found = [
        p
        for wd in (tiny_run, resumed_training.workdir)
        for p in (wd / ".snakemake" / "log").glob("*.snakemake.log")
    ]
    logs = sorted(
        {p.name: p for p in found}.values(), key=lambda p: p.name
    )  # the copy repeats the tiny run's logs
    measured = [peak_threads(p.read_text()) for p in logs]
    assert any(jobs >= 15 for _, _, jobs in measured), measured  # the full run is among them
    for path, (cores, peak, jobs) in zip(logs, measured):
        assert cores is not None or jobs == 0, path.name
        assert cores is None or peak <= cores, (
            f"{path.name}: {peak} threads at once with --cores {cores}"
        )
