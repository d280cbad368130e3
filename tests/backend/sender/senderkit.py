"""Helpers of the sender's tests: anvil's RPC, databases with the sender's tables, polling
until outcomes arrive, and an RPC whose broadcasts can be intercepted."""

from __future__ import annotations

import time

import requests
from brownie import web3 as brownie_web3
from sqlalchemy.orm import sessionmaker
from web3 import Web3

from agora.db.base import Base
from agora.db.session import make_engine, make_sessionmaker
from agora.sender import SenderSettings, TransactionSender

# Replace at once in tests that want replacements; otherwise never within a test.
FAST = SenderSettings(stuck_after_seconds=3600)


def rpc(method: str, *params):
    response = brownie_web3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


def mine(blocks: int = 1) -> None:
    for _ in range(blocks):
        rpc("evm_mine")


def make_sessions(url: str) -> sessionmaker:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return make_sessionmaker(engine)


def settle(sender: TransactionSender, count: int, timeout: float = 20) -> list:
    """Polls until `count` outcomes came back."""
    outcomes: list = []
    deadline = time.monotonic() + timeout
    while len(outcomes) < count:
        assert time.monotonic() < deadline, f"only {len(outcomes)} of {count} outcomes"
        outcomes.extend(sender.poll())
    return outcomes


class Hooked(Web3.HTTPProvider):
    """An RPC that runs `before_broadcast()` ahead of each eth_sendRawTransaction, drops
    them on the floor while `down`, and counts those that reach the node."""

    down = False
    broadcasts = 0
    before_broadcast = staticmethod(lambda: None)

    def make_request(self, method, params):
        if method == "eth_sendRawTransaction":
            self.before_broadcast()
            if self.down:
                raise requests.ConnectionError("connection refused")
            self.broadcasts += 1
        return super().make_request(method, params)
