"""Indexer fixtures: a fresh deployment per test and indexers over it."""

from __future__ import annotations

import pytest
from brownie import web3
from deploy import deploy
from indexkit import ROOT, dump  # noqa: F401 - re-exported for older imports
from marketscenario import Scenario, System

from agora.app import build_indexer
from agora.chain.deployment import CONTRACTS
from agora.config import Settings
from agora.market.protocol import PROFILES


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
