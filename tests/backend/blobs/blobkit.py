"""Helpers the blob tests share (imported by name; a module named conftest is not)."""

from __future__ import annotations

import socket
from typing import Any

from agora.blobs import BlobSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def down_url() -> str:
    """The URL of a node that is not running (nothing listens on its port)."""
    return f"http://127.0.0.1:{free_port()}"


def blob_settings(**values: Any) -> BlobSettings:
    """Settings from `values`, the environment and the defaults (no .env file)."""
    settings: Any = BlobSettings
    return settings(_env_file=None, **values)
