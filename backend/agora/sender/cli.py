"""`agora wallet new` and `agora wallet address`: make the node's keystore and show its
address. A key or a password is never an argument (it would show in `ps` and history)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from eth_account import Account

from agora.sender.settings import WalletSettings, load_settings
from agora.sender.wallet import WalletError, encrypt_key, load_wallet


def register(commands) -> None:
    """Adds `wallet new` and `wallet address` to the `agora` command's subparsers."""
    wallet = commands.add_parser("wallet", help="the node's wallet (its keystore and address)")
    actions = wallet.add_subparsers(dest="wallet_action", required=True)
    new = actions.add_parser("new", help="make a new key in an encrypted keystore file (mode 0600)")
    new.add_argument("--keystore", type=Path, required=True, help="where to write the keystore JSON")
    new.set_defaults(run=_new)
    actions.add_parser("address", help="print the configured wallet's address and balance").set_defaults(run=_address)


def _password_for_new() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("keystore password: ")
        if password != getpass.getpass("again: "):
            raise WalletError("the two passwords differ: run `agora wallet new` again")
    else:
        settings = load_settings(WalletSettings)
        if settings.password_file is not None:
            try:
                password = settings.password_file.read_text().rstrip("\r\n")
            except OSError as exc:
                raise WalletError(f"cannot read the wallet password file {settings.password_file} ({exc.strerror}): "
                                  f"fix AGORA_WALLET_PASSWORD_FILE") from None
        elif settings.password is not None:
            password = settings.password.get_secret_value()
        else:
            raise WalletError("no terminal to ask the password on: set AGORA_WALLET_PASSWORD_FILE or "
                              "AGORA_WALLET_PASSWORD")
    if not password:
        raise WalletError("an empty password protects nothing: choose one")
    return password


def _new(args: argparse.Namespace) -> int:
    path: Path = args.keystore
    if path.exists():
        raise WalletError(f"{path} exists: choose another path (a keystore is never overwritten)")
    password = _password_for_new()
    account = Account.create()
    keystore = encrypt_key(account, password)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the encrypted key is never readable by others, even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(keystore, file)
    except OSError as exc:
        raise WalletError(f"cannot write the keystore {path} ({exc.strerror}): choose another path") from None
    print(account.address)
    return 0


def _address(_args: argparse.Namespace) -> int:
    account = load_wallet(load_settings(WalletSettings))
    from web3 import Web3

    from agora.chain.rpc import ChainRpc, RpcUnavailable
    from agora.config import get_settings

    url = get_settings().chain.rpc_url
    try:
        balance = int(ChainRpc(url, timeout=5).call("eth_getBalance", [account.address, "latest"]), 16)
    except RpcUnavailable:
        print(f"{account.address} (balance unknown: the node at {url} did not answer)")
        return 0
    print(f"{account.address} {Web3.from_wei(balance, 'ether')} ETH")
    return 0
