"""agora.buyer's import rules (as tests/test_architecture.py checks the other parts): the
market, the chain, the blobs, the sandbox, the settings and the errors; never a database, a
web framework, a task queue or brownie."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "backend" / "agora"
ALLOWED = {"buyer", "market", "chain", "blobs", "sandbox", "config", "errors"}
FORBIDDEN = {"sqlalchemy", "fastapi", "celery", "brownie", "redis"}


def test_BuyerImportsOnlyWhatItMay():
    found = []
    for path in sorted((PACKAGE / "buyer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            for name in names:
                top, _, rest = name.partition(".")
                if (top == "agora" and rest.split(".")[0] not in ALLOWED) or top in FORBIDDEN:
                    found.append(f"{path.name} imports {name}")
    assert found == []
