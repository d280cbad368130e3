"""The node's key: loaded from an encrypted keystore or from the environment, never from a
command-line argument; every failure is one WalletError line that says what to fix."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from agora.errors import AgoraError
from agora.sender.settings import WalletSettings


class WalletError(AgoraError):
    """The node's wallet cannot be loaded or cannot pay."""


class InsufficientFunds(WalletError):
    """The wallet's balance does not cover a transaction's gas and value."""

    def __init__(self, address: str, balance: int, need: int):
        super().__init__(f"wallet {address} has {balance / 10**18:.6f} ETH ({balance} wei) but the transaction may "
                         f"cost {need / 10**18:.6f} ETH ({need} wei): fund the wallet")
        self.address, self.balance, self.need = address, balance, need


def load_wallet(settings: WalletSettings) -> LocalAccount:
    """The account of AGORA_WALLET_KEYSTORE (password from AGORA_WALLET_PASSWORD_FILE or
    AGORA_WALLET_PASSWORD), else of AGORA_WALLET_PRIVATE_KEY."""
    if settings.keystore is not None:
        return _from_keystore(settings.keystore, _password(settings))
    if settings.private_key is not None:
        try:
            return Account.from_key(settings.private_key.get_secret_value().strip())
        except (ValueError, TypeError):
            raise WalletError("AGORA_WALLET_PRIVATE_KEY is not a private key (expected 32 bytes as 64 hex digits): "
                              "fix it, or use AGORA_WALLET_KEYSTORE") from None
    raise WalletError("no wallet configured: set AGORA_WALLET_KEYSTORE (make one with `agora wallet new --keystore "
                      "PATH`) and AGORA_WALLET_PASSWORD_FILE, or AGORA_WALLET_PRIVATE_KEY")


def _password(settings: WalletSettings) -> str:
    if settings.password_file is not None:
        try:
            return settings.password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise WalletError(f"cannot read the wallet password file {settings.password_file} ({exc.strerror}): fix "
                              f"AGORA_WALLET_PASSWORD_FILE") from None
    if settings.password is not None:
        return settings.password.get_secret_value()
    raise WalletError(f"the keystore {settings.keystore} needs a password: set AGORA_WALLET_PASSWORD_FILE or "
                      f"AGORA_WALLET_PASSWORD")


def _from_keystore(path: Path, password: str) -> LocalAccount:
    try:
        keystore = json.loads(path.read_text())
    except OSError as exc:
        raise WalletError(f"cannot read the keystore {path} ({exc.strerror}): fix AGORA_WALLET_KEYSTORE") from None
    except ValueError:
        raise WalletError(f"{path} is not a JSON keystore: point AGORA_WALLET_KEYSTORE at one (`agora wallet new`)"
                          ) from None
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WalletError(f"wrong password for the keystore {path}: fix AGORA_WALLET_PASSWORD_FILE or "
                              f"AGORA_WALLET_PASSWORD") from None
        raise WalletError(f"{path} is not a keystore this version can read ({exc}): use `agora wallet new`") from None
    except (KeyError, TypeError, AttributeError):
        raise WalletError(f"{path} is not a keystore this version can read: use `agora wallet new`") from None
    return Account.from_key(key)


def encrypt_key(account: LocalAccount, password: str) -> dict:
    """The keystore JSON of `account` (scrypt, as web3's `Account.encrypt`)."""
    return Account.encrypt(account.key, password)
