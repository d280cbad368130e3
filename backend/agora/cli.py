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
    from agora.config import get_settings
    from agora.indexer.service import build_indexer

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
    from agora.config import get_settings
    from agora.indexer.service import build_indexer

    s = build_indexer(get_settings()).status()
    if s.rollback_pending:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}: the chain switched to a shorter fork; "
              f"rollback pending (the indexer rolls back to the common ancestor on its next step)")
    else:
        print(f"chain {s.chain_id}: head {s.head}, indexed {s.indexed}, lag {s.lag} blocks, final up to {s.finalized}")
    return 0


def _db_upgrade(_args) -> int:
    from agora.config import get_settings
    from agora.db.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database schema is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agora", description="Agora compute marketplace node")
    commands = parser.add_subparsers(dest="command", required=True)
    index = commands.add_parser("index", help="index the chain into the database (backfill, then follow the head)")
    index.add_argument("--until", type=int, default=None, help="stop once this block is indexed")
    index.set_defaults(run=_index)
    commands.add_parser("status", help="show the indexer's position").set_defaults(run=_status)
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


if __name__ == "__main__":
    sys.exit(main())
