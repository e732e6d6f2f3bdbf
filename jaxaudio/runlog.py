"""Logging for workflow steps: everything to the rule's log file, a one-line error on failure.

Snakemake scripts call :func:`step_log` first. Full tracebacks go to the log; the console
gets ``jaxaudio: <message>`` so the user sees what is wrong without opening the log.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def quiet_libraries() -> None:
    """Silence INFO chatter of orbax/absl and JAX's platform probing."""
    for name in ("absl", "orbax", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.WARNING)
    except ImportError:  # absl comes with orbax; tolerate its absence
        pass


@contextmanager
def step_log(path: str | Path) -> Iterator[logging.Logger]:
    console = sys.stderr
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as fh:
        sys.stderr = fh
        logging.basicConfig(stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
        quiet_libraries()
        try:
            yield logging.getLogger("jaxaudio")
        except Exception as exc:
            traceback.print_exc(file=fh)
            print(f"jaxaudio: {exc}  (log: {path})", file=console)
            raise SystemExit(1) from None
        finally:
            sys.stderr = console
