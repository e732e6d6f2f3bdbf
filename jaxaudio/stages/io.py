"""Named inputs and outputs of a stage.

A stage takes its files by name, as the rule declares them (``input: features=..., clips=...``),
never as a list of positional paths: :func:`named` builds a stage's ``Inputs``/``Outputs``
dataclass from ``snakemake.input``/``snakemake.output`` (or any mapping, as the CLI passes),
and a missing name fails with the name, not with a wrong file read in its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def named(cls: type[T], files: Any) -> T:
    """``cls`` (a dataclass of ``Path`` and ``list[Path]`` fields) from the named files of ``files``.

    ``files`` is a mapping or a Snakemake ``namedlist`` (``snakemake.input``); entries the
    dataclass does not name are ignored, so a rule may declare more (the log, a flag file).
    """
    get = files.get if isinstance(files, Mapping) else (lambda k, d=None: getattr(files, k, d))
    values: dict[str, Path] = {}
    missing = []
    for f in fields(cls):  # type: ignore[arg-type]
        value = get(f.name, None)
        if value is None:
            if f.default is None:
                values[f.name] = None  # type: ignore[assignment]
                continue
            missing.append(f.name)
        elif str(f.type).startswith("list"):
            # Snakemake gives one file of a list input as a plain string
            values[f.name] = (
                [Path(str(value))]
                if isinstance(value, (str, Path))
                else [Path(str(v)) for v in value]
            )
        else:
            values[f.name] = Path(str(value))
    if missing:
        raise TypeError(f"{cls.__name__}: no file named {', '.join(missing)}")
    return cls(**values)
