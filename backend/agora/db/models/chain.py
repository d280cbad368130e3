"""The indexer's own state: checkpoint, batches with their undo history, raw events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Address, Base, Hash


class Checkpoint(Base):
    """The last block whose events are projected, with its hash (one row per indexer)."""

    __tablename__ = "indexer_checkpoints"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(Hash)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class IndexedBatch(Base):
    """A block range projected in one transaction: the unit a reorganization rolls back."""

    __tablename__ = "indexed_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_block: Mapped[int] = mapped_column(BigInteger)
    to_block: Mapped[int] = mapped_column(BigInteger, index=True)
    # Hash of block from_block - 1 when the batch was made: the batch sits on that block.
    parent_hash: Mapped[str] = mapped_column(Hash)
    to_hash: Mapped[str] = mapped_column(Hash)
    event_count: Mapped[int] = mapped_column(Integer)


class UndoEntry(Base):
    """A row of a mutable projection as it was before a batch changed it (None: absent)."""

    __tablename__ = "undo_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("indexed_batches.id", ondelete="CASCADE"), index=True)
    table_name: Mapped[str] = mapped_column(String(32))
    row_key: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ChainEvent(Base):
    """Every decoded event of the Agora contracts; chain order is (block_number, log_index).

    The key is the log's identity on its chain, (block hash, log index): a replayed log can
    never be stored twice.
    """

    __tablename__ = "events"
    # Indexes are most of what a backfill costs PostgreSQL. Blocks arrive in order, so a
    # BRIN index (a few pages) serves rollbacks by block number; the history lookups index
    # only the rows that have the value.
    __table_args__ = (
        Index("ix_events_block_number", "block_number", postgresql_using="brin"),
        *(Index(f"ix_events_{column}", column, postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL")) for column in ("job_id", "provider", "account")),
    )

    block_hash: Mapped[str] = mapped_column(Hash, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
    contract: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(48))
    args: Mapped[dict] = mapped_column(JSON)
    # What the event is about, for the histories of jobs, providers and accounts.
    job_id: Mapped[str | None] = mapped_column(Hash, nullable=True)
    provider: Mapped[str | None] = mapped_column(Address, nullable=True)
    account: Mapped[str | None] = mapped_column(Address, nullable=True)
