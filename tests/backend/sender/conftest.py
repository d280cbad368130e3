"""Sender fixtures: a fresh, funded wallet per test (never brownie's accounts: brownie tracks
their nonces), a database with the sender's tables, a token to call, and anvil's mining
switches (automine is always restored)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from brownie import web3 as brownie_web3
from eth_account import Account
from senderkit import FAST, make_sessions, rpc
from web3 import Web3

from agora.sender import SenderSettings, TransactionSender

# The deployed-market fixtures (`system`, `contracts`, `scenario`) are tests/backend/conftest.py's.


@pytest.fixture
def no_automine() -> Iterator[None]:
    rpc("evm_setAutomine", False)
    try:
        yield
    finally:
        rpc("anvil_dropAllTransactions")
        rpc("evm_setAutomine", True)
        rpc("anvil_setNextBlockBaseFeePerGas", "0x0")
        rpc("evm_mine")


@pytest.fixture
def chain_web3() -> Web3:
    return Web3(Web3.HTTPProvider(brownie_web3.provider.endpoint_uri))


@pytest.fixture
def wallet(accounts):
    account = Account.create()
    accounts[0].transfer(account.address, "10 ether")
    return account


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sender.db'}"


@pytest.fixture
def sessions(sqlite_url):
    made = make_sessions(sqlite_url)
    yield made
    made.kw["bind"].dispose()


@pytest.fixture
def token(system, chain_web3):
    """web3 binding of the market's token: approve(spender, amount) succeeds from any account."""
    from agora.chain.abis import abi

    return chain_web3.eth.contract(address=str(system.token.address), abi=abi("AgoraToken"))


@pytest.fixture
def make_sender(chain_web3, wallet, sessions) -> Callable[..., TransactionSender]:
    def make(settings: SenderSettings = FAST, web3: Web3 | None = None, account=None, over=None) -> TransactionSender:
        return TransactionSender(web3 or chain_web3, account or wallet, over or sessions, settings)

    return make


