"""Settings dataclasses built from config dicts, with unknown keys rejected by name."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound="FromDict")


class FromDict:
    """Mixin for dataclasses: ``from_dict`` raises on keys the dataclass does not have.

    A typo in a config key must fail loudly, not be silently ignored.
    """

    @classmethod
    def from_dict(cls: type[T], d: dict[str, Any]) -> T:
        unknown = set(d) - set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**d)
