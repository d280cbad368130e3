"""The node's commands: index the chain, run a whole node or one of its parts, one round of
matching or keeping, the database schema. Output and behaviour are those of the argparse
`agora` they replace, line for line (Docker Compose, `./dev market` and the tests run them)."""

from __future__ import annotations

import gc
import signal
from typing import Annotated

import typer

from agora.cli.common import JsonOption, emit

PANEL = "Run a node"


def tune_garbage_collector() -> None:
    """Indexing allocates millions of short-lived objects (decoded events, rows) while the
    process keeps only a few: freeze what startup loaded so full collections skip it, and
    let the youngest generation fill further before each collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def index(until: Annotated[int | None, typer.Option("--until", metavar="BLOCK",
                                                    help="stop once this block is indexed (default: follow the "
                                                         "head until Ctrl-C or SIGTERM)")] = None) -> int:
    """Index the chain into the database: backfill from the deploy block, then follow the head."""
    from agora.app import build_indexer
    from agora.config import get_settings

    indexer = build_indexer(get_settings())
    tune_garbage_collector()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    indexer.run(until_block=until, stop=lambda: bool(stopping))
    status = indexer.status()
    print(f"indexed block {status.indexed} of {status.head} (chain {status.chain_id})")
    return 0


def status(json_output: JsonOption = False) -> int:
    """Show where the index stands against the chain (reads only; never migrates)."""
    from agora.app import App

    s = App().indexer().status()
    data = {"chain_id": s.chain_id, "head": s.head, "indexed": s.indexed, "lag": s.lag, "finalized": s.finalized,
            "rollback_pending": bool(s.rollback_pending)}
    if json_output:
        emit(data, json_output=True)
    elif s.rollback_pending:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}: the chain switched to a shorter fork; "
              f"rollback pending (the indexer rolls back to the common ancestor on its next step)")
    else:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}, lag {s.lag} blocks, final up to {s.finalized}")
    return 0


def node(progress: Annotated[float, typer.Option("--progress", metavar="SECONDS",
                                                 help="seconds between progress lines")] = 5.0) -> int:
    """Run a whole node until Ctrl-C: migrations, Redis, a worker and a beat.

    The worker and beat run the indexer, matchmaker and keeper; with AGORA_REDIS_URL empty
    the node starts an embedded Redis of its own."""
    from agora.node import run_node

    return run_node(progress_seconds=progress)


def _node_celery(role: str):
    """This node's settings and its Celery app on AGORA_REDIS_URL, which must answer: a
    worker or beat started alone cannot start a Redis of its own (`agora node` can)."""
    from agora.config import get_settings
    from agora.worker.broker import Broker, BrokerError
    from agora.worker.tasks import configure

    settings = get_settings()
    if not settings.worker.redis_url:
        raise BrokerError(f"AGORA_REDIS_URL is empty: {role} needs the node's Redis (`agora node` starts an "
                          "embedded one for its own worker and beat)")
    broker = Broker(settings.worker.redis_url)
    broker.check()
    return settings, configure(settings, broker.celery_url)


def worker() -> int:
    """Run this node's Celery worker alone, on the Redis at AGORA_REDIS_URL."""
    from agora.worker.tasks import quiet_task_logs, worker_argv

    settings, celery = _node_celery("a lone worker")
    quiet_task_logs()
    celery.worker_main(worker_argv(settings))
    return 0


def beat() -> int:
    """Run this node's Celery beat alone, on the Redis at AGORA_REDIS_URL (only one per node)."""
    from agora.worker.broker import node_id

    settings, celery = _node_celery("the beat")
    settings.worker.state_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.worker.state_dir / f"beat-{node_id(settings)}"
    celery.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])
    return 0


def _once(service: str) -> int:
    from agora.app import App

    app = App()
    report = app.matchmaker().run_once() if service == "match" else app.keeper().run_once()
    print(report.line())
    return 0


def match() -> int:
    """Run one matchmaker round, print what it did, and exit."""
    return _once("match")


def keep() -> int:
    """Run one keeper round (reclaim, slash, finalize, expire, close disputes), print it, and exit."""
    return _once("keep")


db_app = typer.Typer(help="The node's database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> int:
    """Bring the database at AGORA_DATABASE_URL to the latest schema (safe to run again)."""
    from agora.app import App

    App().migrate()
    print("database schema is up to date")
    return 0


def register(app: typer.Typer) -> None:
    """Adds the node's commands to the `agora` app, in the help's "Run a node" panel."""
    for command in (index, status, node, worker, beat, match, keep):
        app.command(rich_help_panel=PANEL)(command)
    app.add_typer(db_app, name="db", rich_help_panel=PANEL)
