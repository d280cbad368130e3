"""A node's blob service, run by uvicorn in a background thread (`BlobServer.start`), or
in the foreground until SIGINT or SIGTERM (`BlobServer.serve_forever`, and `serve_forever()`
for `agora blobs serve`)."""

from __future__ import annotations

import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from agora.blobs.client import BlobClient, Replicator
from agora.blobs.routes import create_blob_app
from agora.blobs.settings import BlobSettings
from agora.blobs.store import BlobError, BlobStore
from agora.config import WorkerSettings, env_name
from agora.errors import ConfigError

__all__ = ["BlobServer", "ServerThread", "serve_forever"]

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseSettings)


class ServerThread:
    """An ASGI app served by uvicorn on `host`:`port` (0: any free port) in a daemon
    thread. `start` returns once the socket is bound and uvicorn has started; `stop` asks
    uvicorn to finish the requests under way and joins the thread."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, name: str = "agora-http",
                 graceful_seconds: float = 5.0):
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self.graceful_seconds = graceful_seconds
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> int:
        """Bind and serve; the port bound. BlobError if the port is taken or uvicorn does
        not start within `timeout` seconds."""
        if self.running:
            raise BlobError(f"{self.name} already listens on {self.host}:{self.port}: stop it first")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise BlobError(f"{self.name} cannot listen on {self.host}:{self.port} ({exc.strerror or exc}): pick a "
                            f"free port, or 0 for any") from None
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=max(1, math.ceil(self.graceful_seconds)))
        self._server = server = uvicorn.Server(config)
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(server, sock), name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise BlobError(f"{self.name} did not start on {self.host}:{self.port}"
                                f"{f' ({self._error})' if self._error else ''}: see the log above")
            time.sleep(0.01)
        return self.port

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by start(); a thread has no one else to tell
            self._error = exc
            log.exception("%s stopped with an error", self.name)

    def stop(self) -> None:
        """Finish the requests under way (up to graceful_seconds), close the socket, join."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self.graceful_seconds + 5)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


class BlobServer:
    """A node's blob service from its settings: the store under
    `settings.directory(state_dir)`, copies of client uploads to the peers (except this
    node's own URL), on settings.host:settings.port."""

    def __init__(self, settings: BlobSettings, state_dir: Path):
        self.settings = settings
        self.store = BlobStore(settings.directory(state_dir), settings.max_bytes)
        self.replicator: Replicator | None = None
        self.url = ""
        self._http: ServerThread | None = None
        self._stopped = threading.Event()

    @property
    def peers(self) -> list[str]:
        """The other nodes' blob services (this node's own URL left out)."""
        return [peer for peer in self.settings.peer_urls if peer != self.url]

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a background thread; the URL others reach this node at (with the real
        port when the setting is 0), once it answers /health."""
        if self._http is not None:
            return self.url
        replicator = Replicator([], self.settings.timeout_seconds)
        http = ServerThread(create_blob_app(self.store, replicator), self.settings.host, self.settings.port,
                            name="agora-blobs")
        try:
            port = http.start(timeout)
        except BaseException:
            replicator.close()
            raise
        self._http, self.replicator = http, replicator
        self.url = self.settings.url(port)
        replicator.peers = self.peers
        try:
            self._await_health(port, timeout)
        except BaseException:
            self.stop()
            raise
        log.info("blob service listening on %s (peers: %s)", self.url, ", ".join(self.peers) or "none")
        return self.url

    def _await_health(self, port: int, timeout: float) -> None:
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1" if host != "::" else "::1"
        local = f"http://{f'[{host}]' if ':' in host else host}:{port}/health"
        deadline = time.monotonic() + timeout
        problem = ""
        with httpx.Client(timeout=min(timeout, 2.0)) as http:
            while time.monotonic() < deadline:
                try:
                    if http.get(local).status_code == 200:
                        return
                    problem = "it answered /health with an error"
                except httpx.HTTPError as exc:
                    problem = str(exc) or type(exc).__name__
                time.sleep(0.02)
        raise BlobError(f"the blob service on {local} did not answer within {timeout:g}s ({problem}): see the log")

    def stop(self) -> None:
        """Stop taking requests, finish those under way and the copies queued, join."""
        http, replicator = self._http, self.replicator
        self._http = None
        if http is not None:
            http.stop()
        if replicator is not None:
            replicator.close()
        self._stopped.set()

    def client(self) -> BlobClient:
        """A client over this node's store and its peers (close it when done)."""
        return BlobClient(self.store, self.peers, self.settings.timeout_seconds)

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until SIGINT or SIGTERM (in the main thread) or `stop()`; `on_ready` gets
        the URL once the service answers."""
        self._stopped.clear()
        handlers: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            def _exit(signum: int, frame: object) -> None:
                self._stopped.set()

            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, _exit)
        try:
            url = self.start()
            if on_ready is not None:
                on_ready(url)
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    def __enter__(self) -> BlobServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _load(kind: type[S]) -> S:
    try:
        return kind()
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = env_name(kind, "_".join(str(part) for part in problem["loc"]))
        raise ConfigError(f"{name}={problem.get('input')!s} is invalid ({problem['msg']}): fix it in the environment "
                          f"or in .env") from None


def serve_forever(settings: BlobSettings | None = None, state_dir: Path | None = None) -> int:
    """`agora blobs serve`: this node's blob service until SIGINT or SIGTERM, from
    AGORA_BLOBS_* (and AGORA_STATE_DIR for where the blobs lie unless AGORA_BLOBS_DIR);
    0 once stopped. ConfigError for an invalid setting, BlobError if it cannot listen."""
    settings = settings if settings is not None else _load(BlobSettings)
    state_dir = state_dir if state_dir is not None else _load(WorkerSettings).state_dir
    server = BlobServer(settings, state_dir)

    def ready(url: str) -> None:
        peers = ", ".join(server.peers) or "no peers (AGORA_BLOBS_PEERS)"
        print(f"blobs: serving {server.store.root} at {url}, copying uploads to {peers}; Ctrl-C stops", flush=True)

    server.serve_forever(ready)
    return 0
