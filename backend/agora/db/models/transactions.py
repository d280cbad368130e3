"""The node's outgoing transactions: every transaction the sender signed, stored before it
is broadcast, so a crash, a restart or a dead RPC never loses a nonce or sends a job's
transaction twice.

A record is one intent (an idempotency `key`) on one nonce; replacements at higher fees
keep the record and add a hash, so a mined original or a mined replacement both settle it.
The per-wallet row is what nonce allocation locks (SELECT ... FOR UPDATE on PostgreSQL;
SQLite's write transactions lock the whole file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Address, Base, Hash, Uint256


class SenderWallet(Base):
    """One row per wallet and chain: the lock nonce allocation takes."""

    __tablename__ = "sender_wallets"

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class OutgoingTransaction(Base):
    """A signed transaction of the node's wallet and what became of it.

    status: pending (signed and stored; in flight until a receipt), success, reverted,
    dropped (its nonce was consumed by a transaction that is none of ours), released
    (never accepted by the node; its nonce is free for the next send) or failed (released,
    and the nonce since reused)."""

    __tablename__ = "outgoing_transactions"
    __table_args__ = (
        Index("ix_outgoing_transactions_wallet_nonce", "address", "chain_id", "nonce"),
        Index("ix_outgoing_transactions_wallet_key", "address", "chain_id", "key"),
        Index("ix_outgoing_transactions_wallet_status", "address", "chain_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(Address)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[int] = mapped_column(BigInteger)
    to: Mapped[str] = mapped_column(Address)
    data: Mapped[str] = mapped_column(Text)
    value: Mapped[int] = mapped_column(Uint256)
    gas: Mapped[int] = mapped_column(BigInteger)
    max_fee: Mapped[int] = mapped_column(Uint256)
    priority_fee: Mapped[int] = mapped_column(Uint256)
    # The hash and signed bytes last broadcast (the newest replacement).
    tx_hash: Mapped[str] = mapped_column(Hash)
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    # The node accepted the current signed bytes (False: poll() broadcasts them again).
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replacements: Mapped[int] = mapped_column(Integer, default=0)
    # Set once final.
    mined_hash: Mapped[str | None] = mapped_column(Hash, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revert_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutgoingTransactionHash(Base):
    """Every hash a record was broadcast under (the original and each replacement)."""

    __tablename__ = "outgoing_transaction_hashes"

    tx_hash: Mapped[str] = mapped_column(Hash, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("outgoing_transactions.id", ondelete="CASCADE"), index=True)
    max_fee: Mapped[int] = mapped_column(Uint256)
    priority_fee: Mapped[int] = mapped_column(Uint256)
