"""The node's Celery app, its tasks and their beat schedule.

Three kinds of task, each a thin shell over a service built by the composition root:

    agora.index   index new blocks (until caught up, or a time budget)
    agora.match   one matchmaker round
    agora.keep    one keeper round

Each task is idempotent (the indexer's checkpoint, and the sender's key per job action,
make a second run a no-op), acknowledged late (a worker killed mid-task leaves it to be run
again), retried a bounded number of times on a chain or database that does not answer, and
holds a Redis lock per kind, so two workers of one node never run the same kind at once
(a second one finds the lock taken and returns at once; the beat will ask again).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from sqlalchemy.exc import OperationalError

from agora.chain.rpc import RpcUnavailable
from agora.config import Settings, get_settings
from agora.errors import ChainError

log = logging.getLogger("agora.worker")

INDEX_BUDGET_SECONDS = 20.0  # an index task yields after this long, so the beat's next one can follow

celery = Celery("agora")

_app: Any = None  # this process's agora.app.App, built on first use (after the fork)


def configure(settings: Settings, broker_url: str) -> Celery:
    """Points the Celery app at `broker_url` (the node's Redis) with this node's own queue,
    and schedules its tasks at the intervals the settings give."""
    from agora.worker.broker import node_id

    node = node_id(settings)
    queue = f"agora.{node}"
    celery.conf.update(
        broker_url=broker_url, result_backend=broker_url,
        task_default_queue=queue, task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1, task_ignore_result=False, result_expires=3600,
        broker_connection_retry_on_startup=True, broker_transport_options={"visibility_timeout": 600},
        beat_schedule={
            "index": {"task": "agora.index", "schedule": settings.indexer.poll_interval_seconds * 10,
                      "options": {"queue": queue, "expires": 30}},
            "match": {"task": "agora.match", "schedule": settings.matchmaker.interval_seconds,
                      "options": {"queue": queue, "expires": 30}},
            "keep": {"task": "agora.keep", "schedule": settings.keeper.interval_seconds,
                     "options": {"queue": queue, "expires": 30}},
        },
        worker_hijack_root_logger=False,
    )
    if not settings.matchmaker.enabled:
        celery.conf.beat_schedule.pop("match")
    if not settings.keeper.enabled:
        celery.conf.beat_schedule.pop("keep")
    celery.conf.agora_node = node
    celery.conf.agora_lock_seconds = settings.worker.task_lock_seconds
    return celery


@worker_process_init.connect
def _forget_parent_app(**_kwargs: Any) -> None:
    # Connections (database pool, HTTP sessions) must not cross a fork.
    global _app
    _app = None


def app() -> Any:
    global _app
    if _app is None:
        from agora.app import App

        _app = App(get_settings())
    return _app


@contextmanager
def task_lock(kind: str) -> Iterator[bool]:
    """Holds this node's lock of `kind` for the task's duration; yields False (and holds
    nothing) if another worker holds it. The lock expires by itself if its holder dies."""
    client = celery.backend.client  # the result store's Redis connection
    lock = client.lock(f"agora:{celery.conf.agora_node}:lock:{kind}", timeout=celery.conf.agora_lock_seconds,
                       blocking=False)
    acquired = lock.acquire()
    try:
        yield bool(acquired)
    finally:
        if acquired:
            try:
                lock.release()
            except Exception:  # noqa: BLE001 - expired meanwhile: nothing left to release
                log.warning("the %s lock expired before its task ended", kind)


# A chain or database that does not answer: worth a few retries. (ContractRevert is a
# ChainError too, but the services catch it: a revert that reaches here is a bug, not a blip.)
TRANSIENT: tuple[type[BaseException], ...] = (RpcUnavailable, ChainError, ConnectionError, TimeoutError,
                                              OperationalError)


def _locked(kind: str, work: Callable[[], dict]) -> dict:
    with task_lock(kind) as held:
        if not held:
            return {"skipped": f"another worker of this node is running {kind}"}
        return work()


@celery.task(name="agora.index", bind=True, acks_late=True, max_retries=3, default_retry_delay=1)
def index(self) -> dict:
    def work() -> dict:
        indexer = app().indexer()
        blocks = indexer.catch_up(INDEX_BUDGET_SECONDS)
        return {"indexed": indexer.indexed_block(), "blocks": blocks}

    return _run(self, "index", work)


@celery.task(name="agora.match", bind=True, acks_late=True, max_retries=3, default_retry_delay=1)
def match(self) -> dict:
    def work() -> dict:
        report = app().matchmaker().run_once()
        return {"sent": report.sent, "lost": dict(report.lost), "matched": report.matched, "line": report.line()}

    return _run(self, "match", work)


@celery.task(name="agora.keep", bind=True, acks_late=True, max_retries=3, default_retry_delay=1)
def keep(self) -> dict:
    def work() -> dict:
        report = app().keeper().run_once()
        return {"sent": dict(report.sent), "mined": dict(report.mined), "line": report.line()}

    return _run(self, "keep", work)


def _run(task: Any, kind: str, work: Callable[[], dict]) -> dict:
    try:
        return _locked(kind, work)
    except TRANSIENT as exc:
        global _app
        _app = None  # rebuilt on the retry: connections may be dead
        log.warning("%s: %s; retry %d of %d", kind, exc, task.request.retries + 1, task.max_retries)
        raise task.retry(exc=exc) from None


def quiet_task_logs() -> None:
    """Celery logs every task's result at INFO, several a second here: the services log
    what happened, and failures still show (at WARNING and above)."""
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def worker_argv(settings: Settings) -> list[str]:
    return ["worker", "--loglevel=INFO", f"--concurrency={settings.worker.worker_concurrency}",
            f"--hostname=agora-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]
