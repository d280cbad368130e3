"""The `agora` command."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys


def tune_garbage_collector() -> None:
    """Indexing allocates millions of short-lived objects (decoded events, rows) while the
    process keeps only a few: freeze what startup loaded so full collections skip it, and
    let the youngest generation fill further before each collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _index(args) -> int:
    from agora.app import build_indexer
    from agora.config import get_settings

    indexer = build_indexer(get_settings())
    tune_garbage_collector()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    indexer.run(until_block=args.until, stop=lambda: bool(stopping))
    status = indexer.status()
    print(f"indexed block {status.indexed} of {status.head} (chain {status.chain_id})")
    return 0


def _status(_args) -> int:
    """Where the index stands; reads only (it never migrates: an old schema is reported)."""
    from agora.app import App

    s = App().indexer().status()
    if s.rollback_pending:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}: the chain switched to a shorter fork; "
              f"rollback pending (the indexer rolls back to the common ancestor on its next step)")
    else:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}, lag {s.lag} blocks, final up to {s.finalized}")
    return 0


def _db_upgrade(_args) -> int:
    from agora.app import App

    App().migrate()
    print("database schema is up to date")
    return 0


def _once(service: str):
    def run(_args) -> int:
        from agora.app import App

        app = App()
        report = app.matchmaker().run_once() if service == "match" else app.keeper().run_once()
        print(report.line())
        return 0

    return run


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


def _worker(_args) -> int:
    from agora.worker.tasks import quiet_task_logs, worker_argv

    settings, celery = _node_celery("a lone worker")
    quiet_task_logs()
    celery.worker_main(worker_argv(settings))
    return 0


def _beat(_args) -> int:
    from agora.worker.broker import node_id

    settings, celery = _node_celery("the beat")
    settings.worker.state_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.worker.state_dir / f"beat-{node_id(settings)}"
    celery.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])
    return 0


def _node(args) -> int:
    from agora.node import run_node

    return run_node(progress_seconds=args.progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agora", description="Agora compute marketplace node")
    commands = parser.add_subparsers(dest="command", required=True)
    index = commands.add_parser("index", help="index the chain into the database (backfill, then follow the head)")
    index.add_argument("--until", type=int, default=None, help="stop once this block is indexed")
    index.set_defaults(run=_index)
    commands.add_parser("status", help="show the indexer's position (reads only)").set_defaults(run=_status)
    node = commands.add_parser("node", help="run a whole node: migrations, embedded Redis if none is set, "
                                            "worker and beat (indexer, matchmaker, keeper) until Ctrl-C")
    node.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines")
    node.set_defaults(run=_node)
    commands.add_parser("worker", help="a Celery worker of this node (AGORA_REDIS_URL)").set_defaults(run=_worker)
    commands.add_parser("beat", help="the Celery beat of this node (AGORA_REDIS_URL)").set_defaults(run=_beat)
    commands.add_parser("match", help="one matchmaker round, then exit").set_defaults(run=_once("match"))
    commands.add_parser("keep", help="one keeper round, then exit").set_defaults(run=_once("keep"))
    from agora.sender.cli import register as register_wallet

    register_wallet(commands)
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(run=_db_upgrade)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every migration check

    from agora.errors import AgoraError

    try:
        return args.run(args)
    except AgoraError as exc:
        print(f"agora: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the indexer's own handler is in place
        return 130

