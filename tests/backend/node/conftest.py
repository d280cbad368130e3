"""Node test fixtures: a fresh deployment, web3.py bindings over it, and the actors' market."""

from __future__ import annotations

import os
import random
import uuid

import pytest
from brownie import web3 as brownie_web3
from sqlalchemy import create_engine, text


@pytest.fixture
def deployments(tmp_path):
    return tmp_path / "deployments"


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
    """Two databases of the machine's Redis, one per node. Not emptied: every key a node
    writes is its own (its queue, locks and schedule are named by its node id, from its own
    database's path; task results by their ids), so test sessions running at once on one
    machine do not meet."""
    import redis

    redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    return ["redis://127.0.0.1:6379/11", "redis://127.0.0.1:6379/12"]
