"""CLI fixtures: `agora` run in-process through `agora.cli.main`, with its settings from a
clean environment (the lru_cached get_settings cleared around every run), and a person's
wallet: a fresh key funded by brownie's accounts (never one of brownie's own accounts,
whose nonces brownie keeps; the CLI signs raw transactions)."""

from __future__ import annotations

import io

import pytest
from brownie import web3 as brownie_web3
from clikit import TOKEN, Ran
from eth_account import Account

from agora.config import get_settings

WALLET_VARIABLES = ("KEYSTORE", "PASSWORD_FILE", "PASSWORD", "PRIVATE_KEY")


@pytest.fixture
def agora_env(monkeypatch, tmp_path):
    """A clean environment for `agora`: the test chain, the deployment the `system` fixture
    writes under tmp_path, a SQLite database in tmp_path, no wallet; no .env read (the
    working directory is tmp_path)."""
    for name in WALLET_VARIABLES:
        monkeypatch.delenv(f"AGORA_WALLET_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGORA_RPC_URL", brownie_web3.provider.endpoint_uri)
    monkeypatch.setenv("AGORA_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("AGORA_DATABASE_URL", f"sqlite:///{tmp_path / 'agora.db'}")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    return monkeypatch


@pytest.fixture
def agora(agora_env, capsys, monkeypatch):
    """run(*args, stdin=None) -> Ran: `agora args` in-process, its exit code and output."""
    from agora.cli import main

    def run(*args: str, stdin: str | None = None) -> Ran:
        if stdin is not None:
            fake = io.StringIO(stdin)
            fake.isatty = lambda: False  # type: ignore[method-assign]
            monkeypatch.setattr("sys.stdin", fake)
        capsys.readouterr()
        get_settings.cache_clear()
        try:
            code = main(list(args))
        finally:
            get_settings.cache_clear()
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@pytest.fixture
def person(agora_env, accounts, system):
    """A fresh wallet with 10 ether and 1,000 tokens, configured as AGORA_WALLET_PRIVATE_KEY."""
    account = Account.create()
    accounts[0].transfer(account.address, 10 * TOKEN)
    system.token.transfer(account.address, 1_000 * TOKEN, {"from": accounts[1]})
    agora_env.setenv("AGORA_WALLET_PRIVATE_KEY", account.key.hex())
    return account

