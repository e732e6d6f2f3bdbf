"""Logging for workflow steps: everything to the rule's log file, a one-line error on failure.

Snakemake scripts call :func:`step_log` first. Full tracebacks go to the log; the console
gets ``jaxaudio: <message>`` so the user sees what is wrong without opening the log. Log
files hold plain lines: a step draws a progress bar only when :func:`is_terminal` says
stderr is a terminal, and otherwise logs its progress as INFO lines.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def quiet_libraries() -> None:
    """Silence INFO chatter of orbax/absl and JAX's platform probing."""
    for name in ("absl", "orbax", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.WARNING)
    except ImportError:  # absl comes with orbax; tolerate its absence
        pass


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stderr``) is an interactive terminal.

    Progress bars redraw their line with carriage returns, which only a terminal turns into
    one updating line; in a log file (:func:`step_log` points ``sys.stderr`` at one) or a
    batch job's output they pile up as one unreadable line, so callers log plain lines then.
    """
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


@contextmanager
def step_log(path: str | Path) -> Iterator[logging.Logger]:
    """Send ``sys.stderr`` and all logging (INFO and up) to the log file ``path`` while the
    step runs; on an exception, write its traceback to the log and a one-line message to the
    console, and exit with status 1. On leaving, stderr and the root logger's handlers are
    restored, so nothing logs into the closed file afterwards."""
    console = sys.stderr
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as fh:
        sys.stderr = fh
        for h in root.handlers[:]:  # as basicConfig(force=True) would, but without closing them
            root.removeHandler(h)
        logging.basicConfig(
            stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        quiet_libraries()
        try:
            yield logging.getLogger("jaxaudio")
        except Exception as exc:
            traceback.print_exc(file=fh)
            print(f"jaxaudio: {exc}  (log: {path})", file=console)
            raise SystemExit(1) from None
        finally:
            sys.stderr = console
            for h in root.handlers[:]:
                root.removeHandler(h)
                if getattr(h, "stream", None) is fh:
                    h.close()
            for h in saved[0]:
                root.addHandler(h)
            root.setLevel(saved[1])
