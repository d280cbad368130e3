"""The indexer's reads and writes: loading the rows a batch touches, writing a batch with
its undo history and checkpoint, rolling batches back. Runs inside the caller's transaction.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from agora.db.models import (
    APPEND_ONLY, MUTABLE, ChainEvent, Checkpoint, IndexedBatch, ParameterChange, Payout, Slash, UndoEntry, Vote,
)
from agora.indexer.projections import Projection

CHUNK = 500  # keys per IN (...) clause: well under SQLite's variable limit
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
        wanted = sorted(wanted)
        for i in range(0, len(wanted), CHUNK):
            result = session.execute(select(model.__table__).where(pk.in_(wanted[i:i + CHUNK])))
            for row in result.mappings():
                found[row[pk.name]] = dict(row)
        rows[table] = found
    return rows


def get_checkpoint(session: Session, lock: bool = False) -> Checkpoint | None:
    query = select(Checkpoint).where(Checkpoint.name == CHECKPOINT)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def set_checkpoint(session: Session, chain_id: int, block_number: int, block_hash: str) -> None:
    checkpoint = get_checkpoint(session)
    if checkpoint is None:
        session.add(Checkpoint(name=CHECKPOINT, chain_id=chain_id, block_number=block_number, block_hash=block_hash))
    else:
        checkpoint.block_number, checkpoint.block_hash = block_number, block_hash
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

    undo = []
    for table, rows in projection.rows.items():
        if not rows:
            continue
        model = MUTABLE[table]
        pk = _pk(model)
        keys = sorted(rows)
        for i in range(0, len(keys), CHUNK):
            session.execute(delete(model).where(pk.in_(keys[i:i + CHUNK])))
        present = [row for row in rows.values() if row is not None]
        if present:
            session.execute(insert(model), present)
        undo.extend(
            {"batch_id": batch.id, "table_name": table, "row_key": key, "before": _json_ready(before[table].get(key))}
            for key in keys
        )
    if undo:
        session.execute(insert(UndoEntry), undo)

    _insert_events(session, projection.events)
    for model, rows in ((Slash, projection.slashes), (Payout, projection.payouts), (Vote, projection.votes),
                        (ParameterChange, projection.parameter_changes)):
        if rows:
            session.execute(insert(model), rows)
    return batch.id


def _insert_events(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY is about three times faster than batched INSERTs for the event log.
        raw = connection.connection.driver_connection
        columns = ["block_number", "block_hash", "block_time", "log_index", "tx_hash", "contract", "name", "args",
                   "job_id", "provider", "account"]
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY events ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[c]) if c == "args" else row[c] for c in columns])
        return
    session.execute(insert(ChainEvent), rows)


def rollback_to(session: Session, block_number: int) -> None:
    """Deletes every append-only row above `block_number` (mutable rows are restored by undo)."""
    for model in APPEND_ONLY:
        session.execute(delete(model).where(model.block_number > block_number))


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

