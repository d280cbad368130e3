"""The worker's tasks on this machine's Redis: a lock per task kind and node, released at the
end and expiring if its holder died; a task whose kind is running elsewhere returns at once;
a chain that does not answer is retried a bounded number of times."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from agora.chain.rpc import RpcUnavailable
from agora.config import Settings
from agora.worker import tasks
from agora.worker.broker import node_id

REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture
def celery_app(tmp_path):
    """The Celery app configured for a node of its own (its locks named by its node id, from
    a database path no other test uses) on this machine's Redis."""
    redis.Redis.from_url(REDIS).ping()
    return tasks.configure(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", redis_url=REDIS), REDIS)


def test_ALockPerKindIsHeldOnceAndReleased(celery_app):
    with tasks.task_lock("match") as first:
        with tasks.task_lock("match") as second, tasks.task_lock("keep") as other_kind:
            assert (first, second, other_kind) == (True, False, True)
    with tasks.task_lock("match") as again:
        assert again


def test_ALockOfADeadHolderExpires(celery_app):
    celery_app.conf.agora_lock_seconds = 1
    lock = celery_app.backend.client.lock(f"agora:{celery_app.conf.agora_node}:lock:keep", timeout=1)
    assert lock.acquire(blocking=False)  # a worker that died holding it never releases it
    with tasks.task_lock("keep") as held:
        assert not held
    time.sleep(1.2)
    with tasks.task_lock("keep") as held:
        assert held


def test_TwoNodesOnOneRedisKeepTheirLocksAndQueuesApart(tmp_path):
    a = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    b = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}")
    assert node_id(a) != node_id(b)
    assert tasks.configure(a, REDIS).conf.task_default_queue != tasks.configure(b, REDIS).conf.task_default_queue


def test_ATaskWhoseKindRunsElsewhereReturnsAtOnce(celery_app, monkeypatch):
    ran = threading.Event()
    release = threading.Event()

    class SlowKeeper:
        def run_once(self):
            ran.set()
            release.wait(10)
            return type("Report", (), {"sent": {}, "mined": {}, "line": lambda self: "keeper: done"})()

    monkeypatch.setattr(tasks, "app", lambda: type("App", (), {"keeper": lambda self: SlowKeeper()})())
    results = []
    first = threading.Thread(target=lambda: results.append(tasks.keep.apply().get()))
    first.start()
    assert ran.wait(10)
    began = time.monotonic()
    second = tasks.keep.apply().get()
    assert second == {"skipped": "another worker of this node is running keep"}
    assert time.monotonic() - began < 2
    release.set()
    first.join(10)
    assert results == [{"sent": {}, "mined": {}, "line": "keeper: done"}]


def test_AChainThatDoesNotAnswerIsRetriedABoundedNumberOfTimes(celery_app, monkeypatch):
    calls = []

    class DeadChain:
        def run_once(self):
            calls.append(1)
            raise RpcUnavailable("http://127.0.0.1:9: connection refused")

    monkeypatch.setattr(tasks, "app", lambda: type("App", (), {"matchmaker": lambda self: DeadChain()})())
    result = tasks.match.apply()  # run as a worker would; its retries follow at once, then it fails
    assert result.failed() and isinstance(result.result, RpcUnavailable)
    assert len(calls) == 1 + tasks.match.max_retries
