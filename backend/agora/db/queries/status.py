"""Where the index stands: its checkpoint, and the parameter version in force."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import BigInteger, cast, select
from sqlalchemy.orm import Session

from agora.db.models import Checkpoint, ParamsVersion
from agora.db.queries.rows import values

DEFAULT_INDEXER = "agora"  # the checkpoint name the indexer writes (agora.indexer.store.CHECKPOINT)


@dataclass(frozen=True)
class IndexedBlock:
    number: int
    hash: str


def indexed_block(session: Session, *, name: str = DEFAULT_INDEXER) -> IndexedBlock | None:
    """The last block whose events are projected, or None before the first batch."""
    row = session.execute(select(Checkpoint.block_number, Checkpoint.block_hash)
                          .where(Checkpoint.name == name)).first()
    return None if row is None else IndexedBlock(*row)


@dataclass(frozen=True)
class CurrentParams:
    """The newest published parameter version: what a match or take made now settles under."""

    version: int
    challenge_window_seconds: int
    arbitration_window_seconds: int
    collateral_ratio_bps: int
    min_job_collateral: int
    missed_deadline_slash_bps: int
    fault_slash_bps: int
    buyer_share_bps: int
    reporter_share_bps: int
    protocol_fee_bps: int
    matchmaker_fee_bps: int
    dispute_bond: int


_VALUES = [getattr(ParamsVersion, f.name) for f in fields(CurrentParams) if f.name != "version"]


def current_params(session: Session) -> CurrentParams | None:
    """The latest parameter version's values, or None before version 1 is indexed."""
    number = cast(ParamsVersion.version, BigInteger)  # stored as decimal text: "10" sorts before "9"
    row = session.execute(select(number, *_VALUES).order_by(number.desc()).limit(1)).first()
    return None if row is None else CurrentParams(*values(row))
