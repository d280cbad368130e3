"""Backend test fixtures: database backends (SQLite and PostgreSQL) and a deployed market."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from brownie import web3
from deploy import deploy
from marketscenario import Scenario, System
from sqlalchemy import create_engine, text

from agora.chain.contracts import MarketContracts
from agora.chain.deployment import CONTRACTS, load
from agora.market.protocol import PROFILES

ROOT = Path(__file__).resolve().parents[2]

# Tests that revert the shared anvil to a snapshot 30 blocks of transactions back (brownie's
# chain.revert) run last. After them anvil 1.x still reports automine on, but stops mining
# raw transactions as they arrive: they wait in its pool until something else mines a block
# (seen: a test that then sent one raw transaction found it pending, mined by a later
# evm_mine). The sender, keeper, matchmaker and node tests send raw transactions and rely
# on automine, as a real chain's steady block production would serve them.
REVERTING_MODULES = ("indexer/test_reorgs.py", "indexer/test_market_safety_reorgs.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: str(item.path).endswith(REVERTING_MODULES))  # stable: otherwise in order


POSTGRES_ADMIN_URL = os.environ.get("AGORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return str(exc).splitlines()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agora.db'}"
        return
    problem = _postgres_available()
    if problem:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({problem}); start it or set AGORA_TEST_POSTGRES_URL")
    name = f"agora_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- a deployed market: a fresh brownie deployment per test, and web3.py bindings over it ----


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


# -- a live market and nodes on it (matchmaker, keeper, node tests) -------------------------


@pytest.fixture
def live(system, accounts, tmp_path):
    """The deployed market with its two providers registered and its buyers' approvals given
    (marketscenario.Scenario), and where nodes find it."""
    scenario = Scenario(system, accounts)
    scenario.setup()
    scenario.deployments = tmp_path / "deployments"
    scenario.rpc_url = web3.provider.endpoint_uri
    return scenario


@pytest.fixture
def node_app(live, accounts, tmp_path):
    """make(name, **settings) -> an agora.app.App for a node with a fresh funded wallet and a
    SQLite database of its own, migrated; the matchmaker's stagger is off unless given."""
    from eth_account import Account

    from agora.app import App
    from agora.config import Settings

    apps = []

    def make(name: str = "node", **overrides):
        wallet = Account.create()
        accounts[0].transfer(wallet.address, 10 * 10**18)
        values = dict(rpc_url=live.rpc_url, deployments_dir=live.deployments,
                      database_url=f"sqlite:///{tmp_path / name}.db", private_key=wallet.key.hex(),
                      stagger_seconds=0, confirmations=0)
        values.update(overrides)
        app = App(Settings(**values))
        app.migrate()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


# -- job data and the services that work on it (agent, arbiter tests) ---------------------


@pytest.fixture
def blob_node_server(tmp_path):
    """A real blob node on 127.0.0.1 (agora.blobs.BlobServer) with its store in tmp_path."""
    from workkit import blob_node

    server = blob_node(tmp_path, "node")
    yield server
    server.stop()


@pytest.fixture
def jobs(live, blob_node_server):
    """Posts jobs whose manifest, module and input are on the blob node, and matches them."""
    from workkit import Jobs

    client = blob_node_server.client()
    yield Jobs(live, blob_node_server.url, client)
    client.close()


@pytest.fixture
def agent_app(live, node_app, blob_node_server, tmp_path):
    """make(name, **settings) -> an App whose wallet holds ether and tokens, fetching job data
    from the blob node, with a blob store of its own."""
    from workkit import fund_agent

    def make(name: str = "agent", **overrides):
        values = {"peers": blob_node_server.url, "blobs.dir": str(tmp_path / f"blobs-{name}"), **overrides}
        app = node_app(name, **values)
        fund_agent(live, app.wallet.address)
        return app

    return make
