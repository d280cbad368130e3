"""The store's bulk writes (COPY on PostgreSQL, driver executemany on SQLite) store what
the ORM would: exact big integers, any text, JSON with escapes, NULLs; and refuse what the
column types refuse."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agora.db.migrate import upgrade
from agora.db.models import ChainEvent, Payout, Provider
from agora.db.session import make_engine, make_sessionmaker
from agora.indexer import store

AWKWARD = "tab\there, line\nbreak, cr\rback\\slash, quote\" and ünïcode ✓"


def provider_row(address: str, endpoint: str, stake: int) -> dict:
    return {
        "address": address, "status": "active", "endpoint": endpoint, "region": "eu-west", "gpu_model": "",
        "cpu_millicores": 16_000, "memory_mib": 65_536, "storage_gib": 500, "gpu_count": 0,
        "used_cpu_millicores": 0, "used_memory_mib": 0, "used_storage_gib": 0, "used_gpu_count": 0,
        "price_cpu_core_gwei": 1, "price_memory_gib_gwei": 2, "price_gpu_gwei": 3, "price_storage_gib_gwei": 4,
        "stake": stake, "locked_collateral": 0, "unbonding": 0, "unbonding_unlocks_at": 0, "completed_jobs": 0,
        "missed_deadlines": 0, "disputes_lost": 0, "total_slashed": 0, "registered_block": 1, "updated_block": 1,
    }


@pytest.fixture
def sessions(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_BulkInsertStoresWhatTheOrmWould(sessions):
    providers = [provider_row("0x" + "11" * 20, AWKWARD, 2**256 - 1), provider_row("0x" + "22" * 20, "plain", 0)]
    args = {"note": AWKWARD, "amount": 2**200 + 7, "nested": {"list": [1, "two", None]}, "none": None}
    events = [{"block_number": 5, "block_hash": "0x" + "ab" * 32, "block_time": None, "log_index": 0,
               "tx_hash": "0x" + "cd" * 32, "contract": "JobMarket", "name": "JobPosted", "args": args,
               "job_id": None, "provider": None, "account": "0x" + "11" * 20}]
    with sessions.begin() as session:
        store._bulk_insert(session, Provider.__table__, providers)
        store._bulk_insert(session, ChainEvent.__table__, events)
    with sessions() as session:
        stored = {p.address: p for p in session.execute(select(Provider)).scalars()}
        event = session.execute(select(ChainEvent)).scalar_one()
    assert stored["0x" + "11" * 20].endpoint == AWKWARD
    assert stored["0x" + "11" * 20].stake == 2**256 - 1
    assert stored["0x" + "22" * 20].stake == 0
    assert event.args == args
    assert event.block_time is None and event.job_id is None
    assert event.account == "0x" + "11" * 20


def test_BulkInsertRefusesANegativeAmount(sessions):
    row = {"account": "0x" + "11" * 20, "job_id": None, "kind": "refund", "amount": -1, "block_number": 1,
           "log_index": 0, "tx_hash": "0x" + "cd" * 32}
    with pytest.raises(ValueError, match="Uint256 cannot hold -1"):
        with sessions.begin() as session:
            store._bulk_insert(session, Payout.__table__, [row])
    with sessions() as session:
        assert session.execute(select(Payout)).first() is None
