"""What a provider agent ran and what an arbiter ruled: the node's own records of work
done off-chain (not projections of the chain, so a reorganization never touches them).

An agent's run is keyed by (job, attempt): a job that fails over and comes back to the
same provider is a new attempt and runs again. A ruling is kept with its evidence, the
hashes the arbiter compared, so anyone can check it by re-running the job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Address, Base, Hash


class AgentRun(Base):
    """One execution of a job by this node's provider agent.

    status: running, done (the record below is final), submitted (its hash is on chain)."""

    __tablename__ = "agent_runs"

    job_id: Mapped[str] = mapped_column(Hash, primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(Address, index=True)
    status: Mapped[str] = mapped_column(String(16))
    # How the module's run ended (agora.market.spec.STATUSES) and the result record's hash.
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    result_hash: Mapped[str | None] = mapped_column(Hash, nullable=True)
    fuel_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    wall_seconds: Mapped[float | None] = mapped_column(nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ArbiterRuling(Base):
    """The arbiter's ruling on one dispute, with what it compared."""

    __tablename__ = "arbiter_rulings"

    job_id: Mapped[str] = mapped_column(Hash, primary_key=True)
    provider: Mapped[str] = mapped_column(Address, index=True)
    provider_at_fault: Mapped[bool] = mapped_column(Boolean)
    submitted_hash: Mapped[str] = mapped_column(Hash)
    # The hash of the arbiter's own re-run (None when the job's data could not be had).
    rerun_hash: Mapped[str | None] = mapped_column(Hash, nullable=True)
    rerun_outcome: Mapped[str] = mapped_column(String(24))
    evidence: Mapped[dict] = mapped_column(JSON)
    ruled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
