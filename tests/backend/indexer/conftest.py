"""Indexer fixtures: a fresh deployment per test and indexers over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from brownie import web3
from deploy import deploy
from marketscenario import Scenario, System
from sqlalchemy import create_engine, select

from agora.app import build_indexer
from agora.chain.deployment import CONTRACTS
from agora.config import Settings
from agora.db.base import Base
from agora.market.protocol import PROFILES

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def containers(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket):
    # The deployment file names the timelock TimelockController (its role); deploy() makes an AgoraTimelock.
    found = (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket)
    return type("Containers", (), {**dict(zip(CONTRACTS, found, strict=False)), "AgoraTimelock": AgoraTimelock})


@pytest.fixture
def deployments(tmp_path):
    return tmp_path / "deployments"


@pytest.fixture
def system(containers, accounts, deployments):
    distribution = {str(a.address): 100_000_000 * 10**18 for a in list(accounts)[1:9]}
    record = deploy(containers, accounts[0], profile=PROFILES["devnet"], distribution=distribution,
                    arbiter=str(accounts[9].address), directory=deployments, quiet=True)
    return System(containers, record)


@pytest.fixture
def scenario(system, accounts):
    return Scenario(system, accounts)


@pytest.fixture
def settings_for(deployments):
    def settings(database_url: str, **overrides) -> Settings:
        values = dict(rpc_url=web3.provider.endpoint_uri, deployments_dir=deployments,
                      database_url=database_url, confirmations=2,
                      poll_interval_seconds=0.02)
        values.update(overrides)
        return Settings(**values)

    return settings


@pytest.fixture
def indexer_for(settings_for):
    def make(database_url: str, **overrides):
        return build_indexer(settings_for(database_url, **overrides))

    return make


IGNORED_COLUMNS = {"id", "updated_at", "batch_id"}
INTERNAL_TABLES = {"indexed_batches", "undo_entries"}  # bookkeeping, shaped by how batches fell


def dump(url: str) -> dict[str, list[tuple]]:
    """Every projected row, without surrogate ids, in a canonical order."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            if name in INTERNAL_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in IGNORED_COLUMNS]
            rows = connection.execute(select(*columns)).all()
            out[name] = sorted(tuple(repr(v) for v in row) for row in rows)
    engine.dispose()
    return out
