"""Brings a database to the latest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from agora.db.session import _shown, open_database
from agora.errors import DatabaseError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Applies every migration up to `revision` (idempotent), in one transaction.

    DatabaseError, with nothing changed, if the database cannot be opened or is at a
    migration this version does not know."""
    engine = open_database(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
            unknown = sorted(set(MigrationContext.configure(connection).get_current_heads()) - known)
            if unknown:
                raise DatabaseError(
                    f"the database at {_shown(url)} is at migration {unknown[0]!r}, which this version of Agora does "
                    f"not know (a newer version migrated it?): run that version, or use another AGORA_DATABASE_URL"
                )
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def require_latest(engine: Engine, url: str) -> None:
    """DatabaseError unless the database is at the latest migration: the services read and
    write a schema they know, and only `agora db upgrade` (or a command that starts a node)
    changes it."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    config = alembic_config(url)
    scripts = ScriptDirectory.from_config(config)
    latest = set(scripts.get_heads())
    if current == latest:
        return
    known = {script.revision for script in scripts.walk_revisions()}
    if current - known:
        raise DatabaseError(f"the database at {_shown(url)} is at migration {sorted(current - known)[0]!r}, which this "
                            f"version of Agora does not know (a newer version migrated it?): run that version, or use "
                            f"another AGORA_DATABASE_URL")
    state = "empty" if not current else f"at migration {sorted(current)[0]!r}"
    raise DatabaseError(f"the database at {_shown(url)} is {state}, not at the latest schema {sorted(latest)[0]!r}: "
                        f"run `agora db upgrade` (or start the node, which migrates)")
