"""Providers a matchmaker can match: listing, capacity in use, stake and reputation."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from agora.db.models import Provider
from agora.db.queries.rows import values


@dataclass(frozen=True)
class ActiveProvider:
    """An Active provider as the registry holds it. Prices are hourly, in gwei of the
    token; gpu_model and region are label text."""

    address: str
    endpoint: str
    region: str
    gpu_model: str
    cpu_millicores: int
    memory_mib: int
    storage_gib: int
    gpu_count: int
    used_cpu_millicores: int
    used_memory_mib: int
    used_storage_gib: int
    used_gpu_count: int
    price_cpu_core_gwei: int
    price_memory_gib_gwei: int
    price_gpu_gwei: int
    price_storage_gib_gwei: int
    stake: int
    locked_collateral: int
    completed_jobs: int
    missed_deadlines: int
    lapsed_matches: int
    disputes_lost: int

    @property
    def free_stake(self) -> int:
        """Stake not locked as collateral: what a new job's collateral can come from."""
        return self.stake - self.locked_collateral


_COLUMNS = [getattr(Provider, f.name) for f in fields(ActiveProvider)]


def active_providers(session: Session) -> list[ActiveProvider]:
    """Every Active provider (not paused), by address."""
    query = select(*_COLUMNS).where(Provider.status == "active").order_by(Provider.address)
    return [ActiveProvider(*values(row)) for row in session.execute(query)]
