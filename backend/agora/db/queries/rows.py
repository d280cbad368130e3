"""Row values for the read model's dataclasses."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Row


def values(row: Row) -> tuple[Any, ...]:
    """A selected row's values in column order, typed loosely: each query selects exactly
    the columns of the dataclass it fills, in its field order."""
    return cast("tuple[Any, ...]", row)
