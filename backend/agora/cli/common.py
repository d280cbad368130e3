"""What every `agora` command shares: where the market is, the person's wallet, and output
as a table for people or JSON for scripts (`--json`)."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agora.errors import AgoraError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from agora.app import App
    from agora.config import WalletSettings

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts instead of a table")]


def open_app() -> App:
    """The composition root over this process's settings (which find a running devnet)."""
    from agora.app import App

    return App()


def load_account(app: App) -> LocalAccount:
    """The person's wallet: the configured keystore (its password asked on the terminal when
    no AGORA_WALLET_PASSWORD_FILE or AGORA_WALLET_PASSWORD is set), or AGORA_WALLET_PRIVATE_KEY."""
    return account_of(app.settings.wallet)


def account_of(wallet: WalletSettings) -> LocalAccount:
    """The account of these wallet settings, as `load_account` (for commands that need no chain)."""
    from agora.sender.wallet import WalletError, load_wallet

    if wallet.keystore is not None and wallet.password_file is None and wallet.password is None \
            and sys.stdin.isatty():
        from pydantic import SecretStr

        wallet = wallet.model_copy(update={"password": SecretStr(getpass.getpass(f"password of {wallet.keystore}: "))})
        try:
            return load_wallet(wallet)
        except WalletError as exc:
            if str(exc).startswith("wrong password"):
                raise WalletError(f"wrong password for the keystore {wallet.keystore}: try again") from None
            raise
    return load_wallet(wallet)


def plain(value: Any) -> Any:
    """A value JSON can carry: dataclasses as dicts, bytes as 0x-hex, big integers as strings
    (a JSON number above 2^53 loses digits in most parsers)."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    return value


def emit(data: Any, *, json_output: bool, table: Table | str | None = None) -> None:
    """`data` as JSON (with --json), else `table` (a rich Table or text) for a person."""
    if json_output:
        print(json.dumps(plain(data), indent=2, sort_keys=True))
    elif table is not None:
        console.print(table)


def emit_line(data: Any, *, json_output: bool, line: str) -> None:
    """`data` as JSON (with --json), else `line` as it is: never wrapped, no markup (ids and
    addresses stay whole for copying)."""
    if json_output:
        emit(data, json_output=True)
    else:
        print(line)


def tokens(wei: int, places: int = 4) -> str:
    """Token wei as tokens with `places` decimals, for people (JSON carries the wei)."""
    whole, frac = divmod(int(wei), 10**18)
    text = f"{whole:,}"
    if places:
        text += "." + f"{frac:018d}"[:places]
    return text


def key_value_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")  # long values (addresses, ids) wrap whole, never cut off
    for name, value in rows:
        table.add_row(name, str(value))
    return table


# -- what the command line gives, checked: one-line errors, never a traceback ---------------

TOKEN_DECIMALS = 18
WEI_PER_TOKEN = 10**TOKEN_DECIMALS
GWEI_PER_TOKEN = 10**9  # the registry's hourly prices are in gwei of the token


class InputError(AgoraError):
    """A value on the command line (an amount, an address, a parameter) that cannot be used."""


def exact_units(text: str, scale: int, *, what: str, unit: str, finest: str, maximum: int | None = None) -> int:
    """`text`, a non-negative decimal number of `unit`, times `scale` as an exact whole
    number ("12.5" tokens at scale 10^18: 12500000000000000000 wei). InputError, naming
    `what`, if it is no such number, is finer than `finest` (the smallest step the
    contracts keep) or exceeds `maximum` (in the scaled unit)."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"{what} {text!r} is not a number of {unit}: write a decimal such as 12.5") from None
    if not number.is_finite() or number < 0:
        raise InputError(f"{what} {text!r} is not a number of {unit}: write a non-negative decimal such as 12.5")
    with localcontext() as context:
        context.prec = 200
        scaled = number * scale
    if scaled != scaled.to_integral_value():
        raise InputError(f"{what} {text!r} is finer than the market keeps: the smallest step is {finest}")
    value = int(scaled)
    if maximum is not None and value > maximum:
        with localcontext() as context:
            context.prec = 200
            most = (Decimal(maximum) / scale).normalize()
        raise InputError(f"{what} {text!r} is more than the contracts hold: at most {most:f} {unit}")
    return value


def parse_tokens(text: str, what: str = "amount", *, maximum: int | None = 2**96 - 1) -> int:
    """A token amount given in tokens ("12.5"), as wei, exactly (18 decimals)."""
    return exact_units(text, WEI_PER_TOKEN, what=what, unit="tokens", finest="1 wei (18 decimals)", maximum=maximum)


def token_text(wei: int) -> str:
    """Token wei as tokens with every digit that is not zero ("1,012.5", "0.000000001")."""
    from agora.market.protocol import token_amount

    return token_amount(wei, grouped=True)


def gwei_price_text(gwei: int) -> str:
    """An hourly price in gwei of the token, as tokens ("0.1" for 100,000,000 gwei)."""
    return token_text(int(gwei) * (WEI_PER_TOKEN // GWEI_PER_TOKEN))


def parse_address(text: str, what: str = "address") -> str:
    """A checksummed address; InputError for anything else (a wrong mixed-case checksum too)."""
    from eth_utils import is_address, to_checksum_address

    candidate = text.strip()
    if not is_address(candidate):
        raise InputError(f"{what} {text!r} is not an address (0x and 40 hex digits, with a correct EIP-55 checksum "
                         f"if mixed-case)")
    return to_checksum_address(candidate)


def when(timestamp: int, now: int | None = None) -> str:
    """A chain time for people: UTC, and how far from `now` (the chain's latest block time)."""
    if not timestamp:
        return "-"
    text = datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if now is None:
        return text
    delta = int(timestamp) - int(now)
    return f"{text} ({'in ' + duration(delta) if delta > 0 else duration(-delta) + ' ago' if delta else 'now'})"


def duration(seconds: int) -> str:
    """Seconds for people: "45 s", "5 min", "2 h 30 min", "7 d"."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    parts = []
    for size, name in ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}")
    return " ".join(parts[:2])


def chain_time(web3) -> int:
    """The latest block's timestamp: the contracts' clock."""
    return int(web3.eth.get_block("latest")["timestamp"])


# -- sending, as a person at a terminal ---------------------------------------------------------


def transact(app: App, account: LocalAccount, call: Any) -> dict:
    """Simulates, signs, sends and waits for `call` with this node's fee settings (the
    contract's own error, decoded, if it would revert: nothing is sent then)."""
    from agora.chain.transact import send_and_wait

    sender = app.settings.sender
    return send_and_wait(app.web3, account, call, priority_fee_gwei=sender.priority_fee_gwei,
                         gas_margin_percent=sender.gas_margin_percent)


def ensure_allowance(app: App, account: LocalAccount, spender: str, amount: int) -> dict | None:
    """Approves `spender` (the registry or the market) for `amount` when the allowance is
    short, after checking the wallet holds the tokens; the approval's receipt, or None."""
    token = app.contracts.token
    balance = token.functions.balanceOf(account.address).call()
    if balance < amount:
        raise InputError(f"{account.address} holds {token_text(balance)} tokens, less than the {token_text(amount)} "
                         f"this needs: get tokens first (agora wallet balance shows them)")
    if token.functions.allowance(account.address, spender).call() >= amount:
        return None
    return transact(app, account, token.functions.approve(spender, amount))


def receipt_data(receipt: dict) -> dict:
    """What scripts need of a receipt: its hash, block and gas."""
    tx_hash = receipt.get("transactionHash")
    return {"transaction": "0x" + bytes(tx_hash).hex() if tx_hash is not None else None,
            "block": int(receipt.get("blockNumber", 0)), "gas_used": int(receipt.get("gasUsed", 0))}
