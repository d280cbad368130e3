"""The indexer's reads and writes: loading the rows a batch touches, writing a batch with
its undo history and checkpoint, rolling batches back. Runs inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, delete, insert, select, text
from sqlalchemy.orm import Session

from agora.db.base import UINT256_DIGITS, Uint256, check_uint256
from agora.db.models import (
    APPEND_ONLY,
    MUTABLE,
    ChainEvent,
    Checkpoint,
    IndexedBatch,
    ParameterChange,
    Payout,
    Slash,
    UndoEntry,
    Vote,
)
from agora.indexer.projections import Projection

# JSON columns hold integers as exact JSON numbers, however large (token amounts exceed
# 2^64); Python's json writes and reads them exactly, and PostgreSQL's json type keeps
# the text as written. Readers in other languages should parse big numbers as such.
_dumps = json.JSONEncoder(check_circular=False).encode

CHUNK = 500  # keys per IN (...) clause: well under SQLite's variable limit
# The block each mutable table's rows are created at.
CREATED_AT = {MUTABLE["providers"]: "registered_block", MUTABLE["jobs"]: "posted_block",
              MUTABLE["proposals"]: "created_block"}
CHECKPOINT = "agora"


def _pk(model):
    return next(iter(model.__table__.primary_key.columns))


def load_rows(session: Session, keys: dict[str, set[str]]) -> dict[str, dict[str, dict]]:
    """The current rows of every mutable key a batch touches (absent keys are left out)."""
    rows: dict[str, dict[str, dict]] = {}
    for table, wanted in keys.items():
        model = MUTABLE[table]
        pk = _pk(model)
        found: dict[str, dict] = {}
        ordered = sorted(wanted)
        for i in range(0, len(ordered), CHUNK):
            result = session.execute(select(model.__table__).where(pk.in_(ordered[i:i + CHUNK])))
            for row in result.mappings():
                found[row[pk.name]] = dict(row)
        rows[table] = found
    return rows


def skip_commit_flush(session: Session) -> None:
    """PostgreSQL: do not wait for this transaction's WAL flush at commit.

    Safe for the indexer: a server crash can lose only the last few commits whole (never
    part of one), and the checkpoint is lost with the rows it covers, so the indexer
    re-indexes those blocks. Atomicity, not durability, is what exactly-once needs.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def get_checkpoint(session: Session, lock: bool = False) -> Checkpoint | None:
    query = select(Checkpoint).where(Checkpoint.name == CHECKPOINT)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def existing_checkpoint(session: Session, lock: bool = False) -> Checkpoint:
    """The checkpoint, which the caller knows exists (it indexed or rolled back from it)."""
    checkpoint = get_checkpoint(session, lock=lock)
    if checkpoint is None:
        raise LookupError("the indexer's checkpoint is gone: was the database reset under a running indexer?")
    return checkpoint


def start_checkpoint(session: Session, chain_id: int, block_number: int, block_hash: str) -> None:
    """Creates the checkpoint; only ever inserts. If another indexer created it meanwhile this
    fails with an IntegrityError (the caller reads theirs), instead of moving theirs back:
    a read-then-write here would, under READ COMMITTED, overwrite a checkpoint that another
    indexer created and advanced after this transaction found none."""
    session.add(Checkpoint(name=CHECKPOINT, chain_id=chain_id, block_number=block_number, block_hash=block_hash))
    session.flush()


def set_checkpoint(session: Session, chain_id: int, block_number: int, block_hash: str) -> None:
    """Moves the checkpoint; the caller holds its row lock (get_checkpoint(lock=True)) and
    has checked it is where the caller's batch or rollback started."""
    checkpoint = existing_checkpoint(session)
    checkpoint.chain_id, checkpoint.block_number, checkpoint.block_hash = chain_id, block_number, block_hash
    session.flush()


def write_batch(
    session: Session,
    projection: Projection,
    before: dict[str, dict[str, dict]],
    *,
    from_block: int,
    to_block: int,
    parent_hash: str,
    to_hash: str,
) -> int:
    """Writes a projected batch, its before-images and its record; returns the batch id."""
    batch = IndexedBatch(from_block=from_block, to_block=to_block, parent_hash=parent_hash, to_hash=to_hash,
                         event_count=len(projection.events))
    session.add(batch)
    session.flush()

    undo: list[dict] = []
    for table, rows in projection.rows.items():
        if not rows:
            continue
        model = MUTABLE[table]
        pk = _pk(model)
        existed = sorted(before[table])
        for i in range(0, len(existed), CHUNK):
            session.execute(delete(model).where(pk.in_(existed[i:i + CHUNK])))
        _bulk_insert(session, model.__table__, [row for row in rows.values() if row is not None])
        # Rows this batch created need no before-image: a rollback deletes rows created
        # above the common ancestor by their creation block (see rollback_to).
        undo.extend(
            {"batch_id": batch.id, "table_name": table, "row_key": key, "before": _json_ready(before[table][key])}
            for key in existed
        )
    _bulk_insert(session, UndoEntry.__table__, undo)

    appended = ((ChainEvent, projection.events), (Slash, projection.slashes), (Payout, projection.payouts),
                (Vote, projection.votes), (ParameterChange, projection.parameter_changes))
    for appended_model, appended_rows in appended:
        _bulk_insert(session, appended_model.__table__, appended_rows)
    return batch.id


def _bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Inserts many rows at once: PostgreSQL COPY (about three times faster than batched
    INSERTs), elsewhere one executemany."""
    if not rows:
        return
    connection = session.connection()
    names = [c.name for c in table.columns if c.name in rows[0]]
    if connection.dialect.name != "postgresql":
        # The driver's executemany on plain tuples: SQLAlchemy's per-value type processing
        # took as long as SQLite's own work.
        to_tuple = _sql_tuple_writer(table, tuple(names))
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            list(map(to_tuple, rows)),
        )
        return
    line = _copy_line_writer(table, tuple(names))
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("PostgreSQL COPY needs the driver's connection, and the pool gave none")
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            # COPY's text format built in chunks: cheaper than adapting value by value, and
            # the server parses one chunk while the next is built.
            for i in range(0, len(rows), 1_000):
                copy.write("".join(map(line, rows[i:i + 1_000])))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_JSON, _UINT, _INTEGER, _TEXT = "json", "uint", "integer", "text"


def _kind(column) -> str:
    if isinstance(column.type, JSON):
        return _JSON
    if isinstance(column.type, Uint256):
        return _UINT
    if isinstance(column.type, (BigInteger, Integer)):
        return _INTEGER
    return _TEXT


def _copy_text(v: str) -> str:
    # Hashes, addresses and states (nearly every value) have nothing to escape; checking
    # is far cheaper than translating character by character.
    if "\\" in v or "\t" in v or "\n" in v or "\r" in v:
        return v.translate(_COPY_ESCAPES)
    return v


def _copy_json(v) -> str:
    # JSON text never holds a raw tab or line break (they are escaped as \\t, \\n), but
    # it holds backslashes, which COPY's text format doubles.
    out = _dumps(v)
    return out.replace("\\", "\\\\") if "\\" in out else out


# Per column kind: value -> what the driver binds (SQLite) / COPY text (PostgreSQL), for
# non-NULL values; both as the column types themselves would bind them.
_TO_DRIVER: dict[str, Callable[[Any], Any]] = {
    _JSON: _dumps, _UINT: lambda v: str(check_uint256(v)).zfill(UINT256_DIGITS),
}
_TO_COPY: dict[str, Callable[[Any], str]] = {
    _JSON: _copy_json, _UINT: lambda v: str(check_uint256(v)), _INTEGER: str, _TEXT: _copy_text,
}


@lru_cache(maxsize=64)
def _sql_tuple_writer(table, names: tuple[str, ...]):
    """row -> tuple of driver values (SQLite)."""
    fields = [(name, _TO_DRIVER.get(_kind(table.columns[name]))) for name in names]
    # Most columns bind as they are: no call for those, this runs per value of a backfill.
    return lambda row: tuple([v if (v := row[name]) is None or to is None else to(v) for name, to in fields])


@lru_cache(maxsize=64)
def _copy_line_writer(table, names: tuple[str, ...]):
    """row -> one line of COPY text format (NULL is \\N), for these columns of `table`."""
    fields = [(name, _TO_COPY[_kind(table.columns[name])]) for name in names]
    return lambda row: "\t".join(["\\N" if (v := row[name]) is None else to(v) for name, to in fields]) + "\n"


def rollback_to(session: Session, block_number: int) -> None:
    """Deletes every append-only row above `block_number`, and every mutable row created
    above it (rows changed above it were restored from their before-images by undo_batch)."""
    for model in APPEND_ONLY:
        session.execute(delete(model).where(model.block_number > block_number))
    for created_model, created in CREATED_AT.items():
        session.execute(delete(created_model).where(getattr(created_model, created) > block_number))


def undo_batch(session: Session, batch: IndexedBatch) -> None:
    """Restores every mutable row the batch changed to its before-image, newest first."""
    entries = session.execute(
        select(UndoEntry).where(UndoEntry.batch_id == batch.id).order_by(UndoEntry.id.desc())
    ).scalars().all()
    for entry in entries:
        model = MUTABLE[entry.table_name]
        session.execute(delete(model).where(_pk(model) == entry.row_key))
        if entry.before is not None:
            session.execute(insert(model), [_from_json(model, entry.before)])
    session.execute(delete(UndoEntry).where(UndoEntry.batch_id == batch.id))
    session.delete(batch)
    session.flush()


def batches_newest_first(session: Session) -> list[IndexedBatch]:
    return list(session.execute(select(IndexedBatch).order_by(IndexedBatch.id.desc())).scalars())


def prune_batches(session: Session, below_block: int) -> int:
    """Forgets the undo history of batches entirely below `below_block`; keeps the newest."""
    newest = session.execute(select(IndexedBatch.id).order_by(IndexedBatch.id.desc()).limit(1)).scalar()
    if newest is None:
        return 0
    old = select(IndexedBatch.id).where(IndexedBatch.to_block < below_block, IndexedBatch.id != newest)
    ids = list(session.execute(old).scalars())
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        session.execute(delete(UndoEntry).where(UndoEntry.batch_id.in_(chunk)))
        session.execute(delete(IndexedBatch).where(IndexedBatch.id.in_(chunk)))
    return len(ids)


def _json_ready(row: dict | None) -> dict | None:
    if row is None:
        return None
    # Amounts beyond 2^53 as strings, so the JSON column keeps them exact in every backend.
    return {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53 else v)
            for k, v in row.items()}


def _from_json(model, row: dict) -> dict:
    from agora.db.base import Uint256

    restored = dict(row)
    for column in model.__table__.columns:
        value = restored.get(column.name)
        if isinstance(column.type, Uint256) and isinstance(value, str):
            restored[column.name] = int(value)
    return restored

