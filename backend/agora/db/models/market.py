"""Projections of the market: providers, jobs, slashes and payouts."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Address, Base, Hash, Uint256


class Provider(Base):
    __tablename__ = "providers"

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active | paused
    endpoint: Mapped[str] = mapped_column(String(256))
    region: Mapped[str] = mapped_column(String(16), index=True)
    gpu_model: Mapped[str] = mapped_column(String(16))
    cpu_millicores: Mapped[int] = mapped_column(BigInteger)
    memory_mib: Mapped[int] = mapped_column(BigInteger)
    storage_gib: Mapped[int] = mapped_column(BigInteger)
    gpu_count: Mapped[int] = mapped_column(Integer)
    used_cpu_millicores: Mapped[int] = mapped_column(BigInteger, default=0)
    used_memory_mib: Mapped[int] = mapped_column(BigInteger, default=0)
    used_storage_gib: Mapped[int] = mapped_column(BigInteger, default=0)
    used_gpu_count: Mapped[int] = mapped_column(Integer, default=0)
    # Hourly prices in gwei of the token per core, GiB of memory, GPU, GiB of storage.
    price_cpu_core_gwei: Mapped[int] = mapped_column(Uint256)
    price_memory_gib_gwei: Mapped[int] = mapped_column(Uint256)
    price_gpu_gwei: Mapped[int] = mapped_column(Uint256)
    price_storage_gib_gwei: Mapped[int] = mapped_column(Uint256)
    stake: Mapped[int] = mapped_column(Uint256)
    locked_collateral: Mapped[int] = mapped_column(Uint256, default=0)
    unbonding: Mapped[int] = mapped_column(Uint256, default=0)
    unbonding_unlocks_at: Mapped[int] = mapped_column(BigInteger, default=0)
    completed_jobs: Mapped[int] = mapped_column(Integer, default=0)
    missed_deadlines: Mapped[int] = mapped_column(Integer, default=0)
    disputes_lost: Mapped[int] = mapped_column(Integer, default=0)
    lapsed_matches: Mapped[int] = mapped_column(Integer, default=0)  # matches declined or left to lapse
    total_slashed: Mapped[int] = mapped_column(Uint256, default=0)
    registered_block: Mapped[int] = mapped_column(BigInteger)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Job(Base):
    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(Hash, primary_key=True)
    # Terms, as posted
    buyer: Mapped[str] = mapped_column(Address, index=True)
    max_price: Mapped[int] = mapped_column(Uint256)
    spec_hash: Mapped[str] = mapped_column(Hash)
    duration_seconds: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    salt: Mapped[int] = mapped_column(Uint256)
    cpu_millicores: Mapped[int] = mapped_column(BigInteger)
    memory_mib: Mapped[int] = mapped_column(BigInteger)
    storage_gib: Mapped[int] = mapped_column(BigInteger)
    gpu_count: Mapped[int] = mapped_column(Integer)
    gpu_model: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(16))
    # State
    state: Mapped[str] = mapped_column(String(16), index=True)
    provider: Mapped[str | None] = mapped_column(Address, nullable=True, index=True)
    matchmaker: Mapped[str | None] = mapped_column(Address, nullable=True)
    price: Mapped[int | None] = mapped_column(Uint256, nullable=True)
    collateral: Mapped[int | None] = mapped_column(Uint256, nullable=True)
    # The end of the window running now: Open, the expiry; Matched, the accept deadline;
    # Running, the delivery deadline; Submitted, the challenge deadline; Disputed, the
    # arbitration deadline. (The contract keeps the submit's time while Submitted.)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    result_hash: Mapped[str | None] = mapped_column(Hash, nullable=True)
    dispute_bond: Mapped[int | None] = mapped_column(Uint256, nullable=True)
    # The parameter version (params_versions) the job settles under, from its match or take;
    # kept once it settles (the contract clears it), cleared when it goes back to the market.
    params_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # That version's challenge window, copied at match or take: a submit in a later batch
    # then needs no other row to date the end of its challenge window.
    challenge_window_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # End of the challenge window: the submit's block time + challenge_window_seconds.
    challenge_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # End of the arbitration window, from the dispute.
    arbitration_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # matches or takes so far
    posted_block: Mapped[int] = mapped_column(BigInteger, index=True)
    posted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_block: Mapped[int] = mapped_column(BigInteger)
    # The terms as the contract takes them back (for matchmakers, keepers and agents).
    terms: Mapped[dict] = mapped_column(JSON)


class Slash(Base):
    __tablename__ = "slashes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(Hash, index=True)
    provider: Mapped[str] = mapped_column(Address, index=True)
    reporter: Mapped[str] = mapped_column(Address)
    reason: Mapped[str] = mapped_column(String(16))  # missed_deadline | proven_fault | lapsed_match
    amount: Mapped[int] = mapped_column(Uint256)
    buyer_share: Mapped[int] = mapped_column(Uint256)
    reporter_share: Mapped[int] = mapped_column(Uint256)
    treasury_share: Mapped[int] = mapped_column(Uint256)
    new_state: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(Hash)


class Payout(Base):
    """The credit ledger: every amount credited to an account, and every withdrawal."""

    __tablename__ = "payouts"
    # Four or five rows per job: appended in block order, so BRIN serves rollbacks (see events).
    __table_args__ = (Index("ix_payouts_block_number", "block_number", postgresql_using="brin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(Address, index=True)
    job_id: Mapped[str | None] = mapped_column(Hash, nullable=True, index=True)
    # provider_payout | matchmaker_fee | protocol_fee | refund | slash_buyer_share |
    # slash_reporter_share | slash_treasury_share | dispute_bond | withdrawal
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Uint256)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(Hash)
