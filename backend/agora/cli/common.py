"""What every `agora` command shares: where the market is, the person's wallet, and output
as a table for people or JSON for scripts (`--json`)."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from agora.app import App

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
    from agora.sender.wallet import load_wallet

    wallet = app.settings.wallet
    if wallet.keystore is not None and wallet.password_file is None and wallet.password is None \
            and sys.stdin.isatty():
        from pydantic import SecretStr

        wallet = wallet.model_copy(update={"password": SecretStr(getpass.getpass(f"password of {wallet.keystore}: "))})
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
    table.add_column()
    for name, value in rows:
        table.add_row(name, str(value))
    return table
