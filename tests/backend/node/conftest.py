"""Node test fixtures: a fresh deployment, web3.py bindings over it, and the actors' market."""

from __future__ import annotations

import os
import random
import uuid

import pytest
from brownie import web3 as brownie_web3
from deploy import deploy
from sqlalchemy import create_engine, text
from web3 import Web3

from agora.chain.contracts import MarketContracts
from agora.chain.deployment import CONTRACTS, load
from agora.market.protocol import PROFILES


@pytest.fixture
def deployments(tmp_path):
    return tmp_path / "deployments"


@pytest.fixture
def contracts(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket, accounts,
              deployments) -> MarketContracts:
    found = (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket)
    containers = type("Containers", (), {**dict(zip(CONTRACTS, found, strict=True)), "AgoraTimelock": AgoraTimelock})
    distribution = {str(a.address): 100_000_000 * 10**18 for a in list(accounts)[1:9]}
    deploy(containers, accounts[0], profile=PROFILES["devnet"], distribution=distribution,
           arbiter=str(accounts[9].address), directory=deployments, quiet=True)
    web3 = Web3(Web3.HTTPProvider(brownie_web3.provider.endpoint_uri, request_kwargs={"timeout": 30}))
    return MarketContracts(web3, load(deployments, web3.eth.chain_id))


@pytest.fixture
def rpc_url() -> str:
    return brownie_web3.provider.endpoint_uri


@pytest.fixture
def rng(request) -> random.Random:
    return random.Random(request.node.name)


POSTGRES_ADMIN_URL = os.environ.get("AGORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database (the node tests need the real server: no skip)."""
    name = f"agora_node_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_urls():
    """Two databases of the machine's Redis, emptied, one per node."""
    import redis

    urls = []
    for db in (11, 12):
        redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=3).flushdb()
        urls.append(f"redis://127.0.0.1:6379/{db}")
    yield urls
    for db in (11, 12):
        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
