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


class ParamsVersion(Base):
    """One published version of the parameters a job settles under (ProtocolParams'
    settlement and dispute parameters): a copy of the previous version (ParamsVersionSet)
    with the change that published it (the setter event that follows in the same
    transaction). Version 1 holds the values set at deployment. Published versions never
    change; jobs name theirs in `jobs.params_version`."""

    __tablename__ = "params_versions"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)  # uint24, decimal
    challenge_window_seconds: Mapped[int] = mapped_column(BigInteger)
    arbitration_window_seconds: Mapped[int] = mapped_column(BigInteger)
    collateral_ratio_bps: Mapped[int] = mapped_column(Integer)
    min_job_collateral: Mapped[int] = mapped_column(Uint256)
    missed_deadline_slash_bps: Mapped[int] = mapped_column(Integer)
    fault_slash_bps: Mapped[int] = mapped_column(Integer)
    buyer_share_bps: Mapped[int] = mapped_column(Integer)
    reporter_share_bps: Mapped[int] = mapped_column(Integer)
    protocol_fee_bps: Mapped[int] = mapped_column(Integer)
    matchmaker_fee_bps: Mapped[int] = mapped_column(Integer)
    dispute_bond: Mapped[int] = mapped_column(Uint256)
    # Where it was published: the rows a reorganization removes are those above the
    # common ancestor (see agora.db.models.APPEND_ONLY).
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
