"""Blob service fixtures: real BlobServers and small fake peers on 127.0.0.1, each on a
port of its own, all stopped when the test ends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from blobkit import blob_settings, free_port
from fastapi import FastAPI

from agora.blobs import BlobServer
from agora.blobs.server import ServerThread

Node = Callable[..., BlobServer]


@pytest.fixture(autouse=True)
def _no_blob_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, not from the shell running it."""
    for name in list(os.environ):
        if name.startswith("AGORA_BLOBS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Node]:
    """start_node(name, peers=[...], port=0, **settings): a running BlobServer keeping its
    blobs under tmp_path/name."""
    started: list[BlobServer] = []

    def start(name: str, *, peers: list[str] | tuple[str, ...] = (), port: int = 0, **values: object) -> BlobServer:
        values.setdefault("timeout_seconds", 5.0)
        server = BlobServer(blob_settings(port=port, peers=",".join(peers), **values), tmp_path / name)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mesh(start_node: Node) -> tuple[BlobServer, BlobServer, BlobServer]:
    """Nodes A, B and C, each knowing the other two as peers."""
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    a, b, c = (start_node(name, peers=[url for url in urls if url != urls[i]], port=ports[i])
               for i, name in enumerate("abc"))
    return a, b, c


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """serve(app): the base URL of `app` running on 127.0.0.1 (a fake peer)."""
    threads: list[ServerThread] = []

    def start(app: FastAPI) -> str:
        thread = ServerThread(app, "127.0.0.1", 0, name="fake-peer", graceful_seconds=1)
        threads.append(thread)
        return f"http://127.0.0.1:{thread.start()}"

    yield start
    for thread in threads:
        thread.stop()
