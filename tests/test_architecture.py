"""The import rules of DESIGN.md, checked on the source: nothing imports "upwards"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "agora"
EXTERNAL_IO = {"sqlalchemy", "web3", "brownie", "fastapi", "celery", "redis", "eth_account"}

# part -> (agora parts it may import, outside packages it must never import)
RULES = {
    "market": ({"market", "errors"}, EXTERNAL_IO),
    "matching": ({"matching", "market"}, EXTERNAL_IO),
    "chain": ({"chain", "market", "errors", "config"}, {"sqlalchemy", "fastapi"}),
    "db": ({"db", "config", "errors"}, {"web3", "fastapi", "celery"}),
    "indexer": ({"indexer", "chain", "db", "market", "config", "errors"}, {"eth_account"}),
    # The sender signs and sends; it keeps its nonces and records in the database.
    "sender": ({"sender", "chain", "db", "market", "config", "errors"}, {"fastapi", "celery", "brownie"}),
    # Services: read model in, engine decides, sender out. They know no web and no task queue.
    "matchmaker": ({"matchmaker", "matching", "market", "chain", "db", "sender", "config", "errors"},
                   {"fastapi", "celery", "redis", "brownie"}),
    "keeper": ({"keeper", "matchmaker", "market", "chain", "db", "sender", "config", "errors"},
               {"fastapi", "celery", "redis", "brownie"}),
    # The worker is a thin shell: tasks call services built by the composition root (agora.app).
    "worker": ({"worker", "app", "chain", "config", "errors"}, {"fastapi", "brownie"}),
    # The sandbox runs a module on bytes: it knows nothing of chains, storage or the web.
    "sandbox": ({"sandbox", "market", "errors"}, EXTERNAL_IO | {"httpx", "requests"}),
    # Job data by content: a store on disk and HTTP between nodes; no chain, no database.
    "blobs": ({"blobs", "market", "config", "errors"}, {"sqlalchemy", "web3", "brownie", "celery", "redis",
                                                        "eth_account"}),
    # The agent and the arbiter: read model in, sandbox and blobs to work, sender out.
    "agent": ({"agent", "app", "market", "chain", "db", "sender", "blobs", "sandbox", "config", "errors"},
              {"fastapi", "celery", "redis", "brownie"}),
    "arbiter": ({"arbiter", "agent", "app", "market", "chain", "db", "sender", "blobs", "sandbox", "config", "errors"},
                {"fastapi", "celery", "redis", "brownie"}),
    # The buyer's side works on the chain and the blob nodes directly: no node database.
    "buyer": ({"buyer", "market", "chain", "blobs", "sandbox", "config", "errors"},
              {"sqlalchemy", "fastapi", "celery", "redis", "brownie"}),
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(part: str) -> list[str]:
    allowed, forbidden = RULES[part]
    found = []
    for path in sorted((PACKAGE / part).rglob("*.py")):
        if "migrations" in path.parts:  # Alembic scripts are run by Alembic, not imported by services
            continue
        for name in imports_of(path):
            top, _, rest = name.partition(".")
            if top == "agora" and rest and rest.split(".")[0] not in allowed:
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
            elif top in forbidden:
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return sorted(found)


@pytest.mark.parametrize("part", list(RULES))
def test_NoForbiddenImports(part):
    assert (PACKAGE / part).is_dir(), f"DESIGN.md names agora.{part}, which is missing"
    assert violations(part) == []


def test_NoServiceImportsBrownie():
    """brownie is a development tool (contracts, deploy script): nothing in agora needs it at run time."""
    found = [f"{path.relative_to(PACKAGE)} imports {name}" for path in sorted(PACKAGE.rglob("*.py"))
             for name in imports_of(path) if name.split(".")[0] == "brownie"]
    assert found == []


def test_TheCheckSeesAForbiddenImport(tmp_path, monkeypatch):
    """The rule check itself: an engine module importing the database is reported."""
    fake = tmp_path / "agora"
    (fake / "matching").mkdir(parents=True)
    (fake / "matching" / "engine.py").write_text("import sqlalchemy\nfrom agora.db.base import Base\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert violations("matching") == ["matching/engine.py imports agora.db.base", "matching/engine.py imports sqlalchemy"]
