"""Engines and sessions. Services take a session; the caller owns the transaction."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from agora.errors import DatabaseError

SQLITE_BUSY_SECONDS = 30.0


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`. SQLite gets WAL and write-locking transactions so a reader
    (the API) and the indexer can share the file, and two indexers serialize."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(url, parsed.database, **kwargs)
        if parsed.get_backend_name() == "postgresql":
            kwargs.setdefault("connect_args", {"connect_timeout": 10})
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"AGORA_DATABASE_URL {_shown(url)} is not a database Agora can use ({exc}): use "
                            f"sqlite:///path/to/agora.db or postgresql+psycopg://user@host/database") from None


def _sqlite_engine(url: str, path: str | None, **kwargs) -> Engine:
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: the indexer's read-check-write of its
        # checkpoint must not interleave with another writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _set_wal(cursor) -> None:
    """PRAGMA journal_mode=WAL, waiting for locks like every other statement does.

    Switching a file to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once there instead of calling the busy handler; so this waits here, up to
    the same busy timeout, for whoever holds the lock (another process creating the file)."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def open_database(url: str) -> Engine:
    """An engine for `url`, checked by connecting once: DatabaseError if the server does not
    answer, the database does not exist, or the file is not an SQLite database."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(_describe(url, exc)) from None
    return engine


def _describe(url: str, exc: DBAPIError) -> str:
    detail = " ".join(str(exc.orig).split()) or type(exc.orig).__name__
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if "not a database" in detail:
            return f"{parsed.database} is not an SQLite database: point AGORA_DATABASE_URL at another file"
        return f"cannot open the SQLite database {parsed.database} ({detail}): check the file and AGORA_DATABASE_URL"
    if "does not exist" in detail and "database" in detail:
        return (f"the database {parsed.database!r} does not exist on {parsed.host}:{parsed.port or 5432}: create it "
                f"(createdb {parsed.database}), or fix AGORA_DATABASE_URL")
    return (f"cannot connect to the database at {_shown(url)} ({detail}): start the database server, or fix "
            f"AGORA_DATABASE_URL")


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
