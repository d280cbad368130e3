"""Opening an SQLite database waits for locks like every statement does."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import text

from agora.db.session import make_engine


def test_ANewEngineWaitsForAnotherConnectionsWriteLock(tmp_path):
    """A brand-new file (not yet in WAL mode) write-locked by another connection for a
    second: switching it to WAL must wait for the lock, not fail with "database is locked"."""
    path = tmp_path / "agora.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE created_by_the_holder (x INTEGER)")
    released = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    released.start()
    began = time.monotonic()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.execute(text("SELECT count(*) FROM created_by_the_holder")).scalar() == 0
        assert time.monotonic() - began >= 0.9  # it waited for the holder's commit
    finally:
        released.join()
        engine.dispose()
        holder.close()
