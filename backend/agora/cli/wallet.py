"""`agora wallet`: make or import a keystore, show its address and what it holds.

A key or a password is never an argument (it would show in `ps` and shell history): a
password is asked on the terminal, or read from AGORA_WALLET_PASSWORD_FILE or
AGORA_WALLET_PASSWORD; a key to import is asked on the terminal or read from stdin."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from agora.cli.common import (
    JsonOption,
    emit,
    key_value_table,
    parse_address,
    token_text,
    tokens,
)

app = typer.Typer(help="Your wallet: make or import an encrypted keystore, show its address and balances.",
                  no_args_is_help=True)

KeystoreOption = Annotated[Path, typer.Option("--keystore", metavar="PATH",
                                              help="where to write the keystore JSON (never overwritten; mode 0600)")]


def _wallet_settings():
    from agora.sender.settings import WalletSettings, load_settings

    return load_settings(WalletSettings)


def _configured_wallet():
    """The wallet every other command signs with: the environment's, else a running devnet's."""
    from agora.config import get_settings

    return get_settings().wallet


def _password_for_new(command: str) -> str:
    from agora.sender.wallet import WalletError

    if sys.stdin.isatty():
        password = getpass.getpass("keystore password: ")
        if password != getpass.getpass("again: "):
            raise WalletError(f"the two passwords differ: run `agora wallet {command}` again")
    else:
        settings = _wallet_settings()
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


def _write_keystore(path: Path, account, password: str) -> None:
    from agora.sender.wallet import WalletError, encrypt_key

    keystore = encrypt_key(account, password)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the encrypted key is never readable by others, even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(keystore, file)
    except FileExistsError:
        raise WalletError(f"{path} exists: choose another path (a keystore is never overwritten)") from None
    except OSError as exc:
        raise WalletError(f"cannot write the keystore {path} ({exc.strerror}): choose another path") from None


def _refuse_existing(path: Path) -> None:
    from agora.sender.wallet import WalletError

    if path.exists():
        raise WalletError(f"{path} exists: choose another path (a keystore is never overwritten)")


def _shown(address: str, json_output: bool, keystore: Path) -> None:
    if json_output:
        emit({"address": address, "keystore": str(keystore)}, json_output=True)
    else:
        print(address)


@app.command("new")
def new(keystore: KeystoreOption, json_output: JsonOption = False) -> int:
    """Make a new key in an encrypted keystore file; asks the password twice and prints the address."""
    from eth_account import Account

    _refuse_existing(keystore)
    password = _password_for_new("new")
    account = Account.create()
    _write_keystore(keystore, account, password)
    _shown(account.address, json_output, keystore)
    return 0


def _key_to_import() -> str:
    """The private key, asked without echo on a terminal, or the first line of stdin."""
    from agora.sender.wallet import WalletError

    if sys.stdin.isatty():
        return getpass.getpass("private key (64 hex digits; not shown): ")
    line = sys.stdin.readline()
    if not line.strip():
        raise WalletError("no private key on stdin: pipe it in (one line of 64 hex digits), or run this on a terminal")
    return line


@app.command("import")
def import_(keystore: KeystoreOption, json_output: JsonOption = False) -> int:
    """Encrypt an existing private key into a keystore file (mode 0600); prints the address.

    The key is asked on the terminal (not shown), or read as one line from stdin; then the
    keystore's password twice (or AGORA_WALLET_PASSWORD_FILE / AGORA_WALLET_PASSWORD when
    there is no terminal)."""
    from eth_account import Account

    from agora.sender.wallet import WalletError

    _refuse_existing(keystore)
    text = _key_to_import().strip()
    try:
        account = Account.from_key(text if text.startswith(("0x", "0X")) else "0x" + text)
    except (ValueError, TypeError):
        raise WalletError("that is not a private key (expected 32 bytes as 64 hex digits, with or without 0x): "
                          "nothing was written") from None
    password = _password_for_new("import")
    _write_keystore(keystore, account, password)
    _shown(account.address, json_output, keystore)
    return 0


@app.command("address")
def address(json_output: JsonOption = False) -> int:
    """Print the configured wallet's address and its ether balance."""
    from web3 import Web3

    from agora.chain.rpc import ChainRpc, RpcUnavailable
    from agora.cli.common import account_of
    from agora.config import get_settings

    account = account_of(_configured_wallet())
    url = get_settings().chain.rpc_url
    try:
        balance = int(ChainRpc(url, timeout=5).call("eth_getBalance", [account.address, "latest"]), 16)
    except RpcUnavailable:
        if json_output:
            emit({"address": account.address, "eth_wei": None}, json_output=True)
        else:
            print(f"{account.address} (balance unknown: the node at {url} did not answer)")
        return 0
    if json_output:
        emit({"address": account.address, "eth_wei": str(balance)}, json_output=True)
    else:
        print(f"{account.address} {Web3.from_wei(balance, 'ether')} ETH")
    return 0


def configured_address() -> str:
    """The configured wallet's address, without its password when the keystore names it
    (keystores written by `agora wallet new` and web3 do)."""
    from agora.cli.common import account_of

    settings = _configured_wallet()
    if settings.keystore is not None:
        try:
            named = json.loads(settings.keystore.read_text()).get("address")
        except (OSError, ValueError, AttributeError):
            named = None  # load_wallet says what is wrong with it
        if isinstance(named, str) and len(named.removeprefix("0x")) == 40:
            return parse_address("0x" + named.removeprefix("0x"), "the keystore's address")
    return account_of(settings).address


@app.command("balance")
def balance(
    who: Annotated[str | None, typer.Argument(metavar="ADDRESS", show_default=False,
                                              help="whose balances (default: the configured wallet)")] = None,
    json_output: JsonOption = False,
) -> int:
    """Show ether, tokens, market credit, voting power and provider stake of an address.

    Market credit is what the market owes the address (payouts, refunds, slash shares):
    `agora provider withdraw` takes it out."""
    from agora.cli.common import open_app

    account = parse_address(who) if who is not None else configured_address()
    app_ = open_app()
    contracts = app_.contracts
    eth = app_.web3.eth.get_balance(account)  # type: ignore[arg-type]  # checksummed by parse_address
    held = contracts.token.functions.balanceOf(account).call()
    credit = contracts.market.functions.creditOf(account).call()
    votes = contracts.token.functions.getVotes(account).call()
    delegate = contracts.token.functions.delegates(account).call()
    record = contracts.registry.functions.providerOf(account).call()
    provider = None
    if record[0] != 0:
        provider = {"stake_wei": str(record[5]), "locked_collateral_wei": str(record[6]),
                    "unbonding_wei": str(record[7])}
    data = {"address": account, "eth_wei": str(eth), "tokens_wei": str(held), "credit_wei": str(credit),
            "votes_wei": str(votes), "delegate": None if int(delegate, 16) == 0 else delegate, "provider": provider}
    rows = [("address", account), ("ether", f"{token_text(eth)} ETH"), ("tokens", tokens(held)),
            ("market credit", tokens(credit)), ("voting power", tokens(votes)),
            ("votes delegated to", data["delegate"] or "nobody (delegate to vote: agora gov delegate)")]
    if provider is not None:
        rows += [("provider stake", tokens(record[5])), ("locked as collateral", tokens(record[6])),
                 ("unbonding", tokens(record[7]))]
    emit(data, json_output=json_output, table=key_value_table(f"wallet {account}", rows))
    return 0
