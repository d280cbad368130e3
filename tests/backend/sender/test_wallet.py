"""The node's key: from a keystore or the environment, every failure one line; `agora wallet`."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from agora.errors import ConfigError
from agora.sender import SenderSettings, WalletError, WalletSettings, load_wallet
from agora.sender.settings import load_settings


@pytest.fixture
def keystore(tmp_path):
    account = Account.create()
    path = tmp_path / "key.json"
    # A cheap scrypt work factor: these tests are about the messages, not the KDF.
    path.write_text(json.dumps(Account.encrypt(account.key, "right horse", iterations=2**10)))
    return account, path


def one_line(error: Exception) -> str:
    message = str(error)
    assert message and "\n" not in message
    return message


def test_AKeystoreOpensWithItsPasswordFromAFileOrTheEnvironment(keystore, tmp_path, monkeypatch):
    account, path = keystore
    password_file = tmp_path / "password"
    password_file.write_text("right horse\n")
    assert load_wallet(WalletSettings(keystore=path, password_file=password_file)).address == account.address
    monkeypatch.setenv("AGORA_WALLET_KEYSTORE", str(path))
    monkeypatch.setenv("AGORA_WALLET_PASSWORD", "right horse")
    assert load_wallet(WalletSettings()).address == account.address


def test_AWrongPasswordIsOneLine(keystore):
    _, path = keystore
    with pytest.raises(WalletError) as raised:
        load_wallet(WalletSettings(keystore=path, password="wrong horse"))
    assert one_line(raised.value) == (f"wrong password for the keystore {path}: fix AGORA_WALLET_PASSWORD_FILE or "
                                      f"AGORA_WALLET_PASSWORD")


def test_TheKeyFromTheEnvironmentWorks(monkeypatch):
    account = Account.create()
    monkeypatch.setenv("AGORA_WALLET_PRIVATE_KEY", account.key.hex())
    assert load_wallet(WalletSettings()).address == account.address


@pytest.mark.parametrize("settings, says", [
    (WalletSettings(), "no wallet configured"),
    (WalletSettings(private_key="0x1234"), "AGORA_WALLET_PRIVATE_KEY is not a private key"),
    (WalletSettings(keystore="/nonexistent/key.json", password="x"), "cannot read the keystore /nonexistent/key.json"),
])
def test_EveryWayAWalletFailsToLoadIsOneLine(settings, says, monkeypatch):
    for name in ("KEYSTORE", "PASSWORD_FILE", "PASSWORD", "PRIVATE_KEY"):
        monkeypatch.delenv(f"AGORA_WALLET_{name}", raising=False)
    with pytest.raises(WalletError) as raised:
        load_wallet(settings)
    assert one_line(raised.value).startswith(says)


def test_AKeystoreNeedsAPasswordAndJson(keystore, tmp_path):
    _, path = keystore
    with pytest.raises(WalletError, match="needs a password"):
        load_wallet(WalletSettings(keystore=path))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    with pytest.raises(WalletError, match="is not a JSON keystore"):
        load_wallet(WalletSettings(keystore=garbage, password="x"))


def test_AFeeBumpUnderTenPercentIsRefused(monkeypatch):
    monkeypatch.setenv("AGORA_SENDER_FEE_BUMP_PERCENT", "5")
    with pytest.raises(ConfigError) as raised:
        load_settings(SenderSettings)
    assert one_line(raised.value).startswith("AGORA_SENDER_FEE_BUMP_PERCENT is invalid")
