"""Chain client fixtures: a fresh brownie deployment per test, its deployment file, and
web3.py bindings over it (the bindings never touch brownie)."""

from __future__ import annotations

import pytest
from brownie import web3
from deploy import deploy
from marketscenario import Scenario, System

from agora.chain.contracts import MarketContracts
from agora.chain.deployment import CONTRACTS, load
from agora.market.protocol import PROFILES


@pytest.fixture
def system(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket, accounts, tmp_path):
    found = (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket)
    containers = type("Containers", (), {**dict(zip(CONTRACTS, found, strict=False)), "AgoraTimelock": AgoraTimelock})
    distribution = {str(a.address): 100_000_000 * 10**18 for a in list(accounts)[1:9]}
    record = deploy(containers, accounts[0], profile=PROFILES["devnet"], distribution=distribution,
                    arbiter=str(accounts[9].address), directory=tmp_path / "deployments", quiet=True)
    return System(containers, record)


@pytest.fixture
def scenario(system, accounts):
    return Scenario(system, accounts)


@pytest.fixture
def contracts(system, tmp_path) -> MarketContracts:
    deployment = load(tmp_path / "deployments", web3.eth.chain_id)
    return MarketContracts.connect(web3.provider.endpoint_uri, deployment)
