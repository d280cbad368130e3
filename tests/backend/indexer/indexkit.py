"""What the indexer tests share besides fixtures: the checkout's root and a canonical dump
of a database's projected rows. (A module of its own: test files importing names from
`conftest` get whichever conftest Python found first.)"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from agora.db.base import Base

ROOT = Path(__file__).resolve().parents[3]

IGNORED_COLUMNS = {"id", "updated_at", "batch_id"}
INTERNAL_TABLES = {"indexed_batches", "undo_entries"}  # bookkeeping, shaped by how batches fell


def dump(url: str, skip: frozenset[str] | set[str] = INTERNAL_TABLES) -> dict[str, list[tuple]]:
    """Every projected row, without surrogate ids, in a canonical order (tables in `skip` left out)."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            if name in skip:
                continue
            columns = [c for c in table.columns if c.name not in IGNORED_COLUMNS]
            rows = connection.execute(select(*columns)).all()
            out[name] = sorted(tuple(repr(v) for v in row) for row in rows)
    engine.dispose()
    return out
