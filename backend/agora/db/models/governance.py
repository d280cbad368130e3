"""Projections of governance: proposals, votes, and every parameter value over time."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Address, Base, Hash, Uint256


class Proposal(Base):
    __tablename__ = "proposals"

    proposal_id: Mapped[str] = mapped_column(String(80), primary_key=True)  # uint256, decimal
    proposer: Mapped[str] = mapped_column(Address, index=True)
    description: Mapped[str] = mapped_column(Text)
    actions: Mapped[list] = mapped_column(JSON)  # [{target, value, calldata}]
    vote_start: Mapped[int] = mapped_column(BigInteger)
    vote_end: Mapped[int] = mapped_column(BigInteger)
    # created | queued | executed | canceled (pending/active/succeeded/defeated follow
    # from the clock and the tallies; the API derives them)
    status: Mapped[str] = mapped_column(String(16), index=True)
    eta: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    for_votes: Mapped[int] = mapped_column(Uint256, default=0)
    against_votes: Mapped[int] = mapped_column(Uint256, default=0)
    abstain_votes: Mapped[int] = mapped_column(Uint256, default=0)
    created_block: Mapped[int] = mapped_column(BigInteger)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(String(80), index=True)
    voter: Mapped[str] = mapped_column(Address, index=True)
    support: Mapped[int] = mapped_column(Integer)  # 0 against, 1 for, 2 abstain
    weight: Mapped[int] = mapped_column(Uint256)
    reason: Mapped[str] = mapped_column(Text)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(Hash)


class ParameterChange(Base):
    """A governed value changed: protocol parameters, the arbiter, the governor's and the
    timelock's settings. The latest row per (contract, name) is the value in force."""

    __tablename__ = "parameter_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(48), index=True)
    old_value: Mapped[str] = mapped_column(String(80))
    new_value: Mapped[str] = mapped_column(String(80))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(Hash)
    extra: Mapped[dict | None] = mapped_column(JSON, nullable=True)
