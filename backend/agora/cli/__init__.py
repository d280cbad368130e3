"""The `agora` command: a Typer app over the node, the wallet, governance, providers, jobs
and the services a person runs.

`main(argv)` is the entry point (`agora = "agora.cli:main"`, and `python -m agora.cli`): it
returns 0 on success, 2 on a usage error (click's message on stderr), 1 on an
`agora.errors.AgoraError` (one line, `agora: <message>`, on stderr), 130 on Ctrl-C."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from agora.cli import gov, node, provider, wallet
from agora.cli.node import tune_garbage_collector
from agora.errors import AgoraError

MARKET = "Use the market"
GOVERN = "Wallet and governance"
SERVICES = "Run a service"

# Words that name a secret: an option like --private-key or --password is refused with why.
SECRET_WORDS = ("key", "password", "secret", "mnemonic", "seed")


class AgoraGroup(TyperGroup):
    """The root group: an AgoraError from any command ends as one line on stderr and exit 1
    (under `main` and under Typer's CliRunner alike)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AgoraError as exc:
            print(f"agora: {exc}", file=sys.stderr, flush=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=AgoraGroup,
    name="agora",
    help="Agora: an open compute marketplace governed by smart contracts. Run a node, offer compute, post jobs, "
         "vote on the protocol's parameters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)


@app.callback()
def _root() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every migration check


node.register(app)

from agora.cli.job import app as job_app  # noqa: E402 - mounted after the node's commands: the help's order

app.add_typer(job_app, name="job", rich_help_panel=MARKET)
app.add_typer(provider.app, name="provider", rich_help_panel=MARKET)
app.add_typer(wallet.app, name="wallet", rich_help_panel=GOVERN)
app.add_typer(gov.app, name="gov", rich_help_panel=GOVERN)

arbiter_app = typer.Typer(help="The arbiter: re-run disputed jobs and rule on them.", no_args_is_help=True)
blobs_app = typer.Typer(help="The blob store: job specifications, inputs and results, by content hash.",
                        no_args_is_help=True)
app.add_typer(arbiter_app, name="arbiter", rich_help_panel=SERVICES)
app.add_typer(blobs_app, name="blobs", rich_help_panel=SERVICES)


@arbiter_app.command("run")
def arbiter_run() -> int:
    """Run the arbiter until Ctrl-C: re-run disputed jobs and rule on them.

    Its wallet must be the market's arbiter (`agora gov params` names it). It re-runs each
    disputed job from its data in the blob store (AGORA_ARBITER_*)."""
    from agora.arbiter.runner import run_arbiter

    return run_arbiter()


@blobs_app.command("serve")
def blobs_serve() -> int:
    """Serve this node's blob store over HTTP until Ctrl-C, copying uploads to its peers.

    Where and with whom: AGORA_BLOBS_* (the blobs lie under AGORA_STATE_DIR unless
    AGORA_BLOBS_DIR says otherwise)."""
    from agora.blobs.server import serve_forever

    return serve_forever()


@app.command("devnet", rich_help_panel=SERVICES)
def devnet() -> int:
    """Start a whole local market until Ctrl-C, as ./dev market does (from a checkout).

    An anvil chain with the contracts deployed and governed, a node (indexer, matchmaker,
    keeper, blob service), three provider agents, the arbiter, a funded wallet for you and
    example jobs; every agora command finds it by itself. The chain's state is kept in
    .agora/ for the next start."""
    from agora.devnet import run_devnet

    return run_devnet()


def _unrecognized(exc: Any) -> None:
    """Names a secret-looking unknown option for what it is: keys and passwords never come
    from the command line (they would show in `ps` and shell history)."""
    name = getattr(exc, "option_name", "") or ""
    if type(exc).__name__ == "NoSuchOption" and any(word in name.lower() for word in SECRET_WORDS):
        exc.message = (f"No such option: {name} (unrecognized arguments: a key or password is never a command-line "
                       f"argument, it would show in ps and shell history; set AGORA_WALLET_KEYSTORE with "
                       f"AGORA_WALLET_PASSWORD_FILE, or AGORA_WALLET_PRIVATE_KEY)")


def main(argv: list[str] | None = None) -> int:
    """Runs `agora` with `argv` (default: sys.argv[1:]); the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="agora", standalone_mode=False)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    except typer.TyperException as exc:  # click's usage errors (exit code 2) and other click exceptions
        _unrecognized(exc)
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except AgoraError as exc:  # raised outside a command (the root group prints those inside)
        print(f"agora: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


__all__ = ["app", "main", "tune_garbage_collector"]
