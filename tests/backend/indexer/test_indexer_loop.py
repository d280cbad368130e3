"""The loop around the projections: adaptive ranges, node failures, concurrent indexers,
status, and the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from brownie import chain
from indexkit import ROOT, dump

from agora.chain.rpc import RpcError, RpcUnavailable
from agora.indexer.service import AdaptiveRange, IndexerError


class TestAdaptiveRange:
    def test_GrowsWhileSmallAndQuickShrinksWhenLarge(self):
        r = AdaptiveRange(initial=100, minimum=1, maximum=1_000, target_logs=1_000)
        r.grow_or_shrink(logs=10, seconds=0.1)
        assert r.size == 200
        r.grow_or_shrink(logs=10, seconds=2.0)  # slow: stays
        assert r.size == 200
        r.grow_or_shrink(logs=5_000, seconds=0.1)
        assert r.size == 100
        for _ in range(20):
            r.grow_or_shrink(logs=0, seconds=0.0)
        assert r.size == 1_000

    def test_ShrinkStopsAtTheMinimum(self):
        r = AdaptiveRange(initial=4, minimum=2, maximum=8, target_logs=10)
        assert r.shrink() and r.size == 2
        assert not r.shrink()
        r.grow_or_shrink(logs=0, seconds=0.0)
        assert r.size == 2  # a refused range is not tried again


class RefusingRpc:
    """Wraps the real node: refuses eth_getLogs over more than `limit` blocks, like hosted
    providers do, and drops the first `failures` calls entirely."""

    def __init__(self, rpc, limit: int, failures: int = 0):
        self.rpc, self.limit, self.failures, self.refused = rpc, limit, failures, 0

    def __getattr__(self, name):
        attribute = getattr(self.rpc, name)
        if not callable(attribute):
            return attribute

        def call(*args):
            if self.failures:
                self.failures -= 1
                raise RpcUnavailable("connection refused")
            if name == "logs" and args[1] - args[0] + 1 > self.limit:
                self.refused += 1
                raise RpcError("eth_getLogs", -32005, f"query exceeds max block range {self.limit}")
            return attribute(*args)

        return call


def test_ShrinksRangeWhenTheNodeRefusesAndRetriesWhenItIsDown(database_url, scenario, indexer_for, tmp_path):
    scenario.setup()
    for _ in range(3):
        scenario.run_job()
    indexer = indexer_for(database_url, initial_block_range=64, max_block_range=64, indexer_prefetch="off")
    indexer.rpc = indexer.reader.rpc = RefusingRpc(indexer.rpc, limit=5, failures=3)
    indexer.run(until_block=chain.height)
    # 64 -> 32 -> 16 -> 8 -> 4 blocks: four refusals, then it stays under the node's limit
    assert indexer.rpc.refused == 4 and indexer.reader.range.size == 4
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=chain.height)
    assert dump(database_url) == dump(fresh)


def test_PrefetchingReadsAheadWithoutChangingTheRows(database_url, scenario, indexer_for, tmp_path):
    scenario.setup()
    for _ in range(4):
        scenario.run_job()
    indexer = indexer_for(database_url, max_block_range=2, initial_block_range=2, indexer_prefetch="thread")
    prepare, threads = indexer.reader.prepare, []

    def recording(*args):
        threads.append(threading.current_thread().name)
        return prepare(*args)

    indexer.reader.prepare = recording
    indexer.run(until_block=chain.height)
    assert any(name.startswith("agora-prefetch") for name in threads), threads
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh, indexer_prefetch="off").run(until_block=chain.height)
    assert dump(database_url) == dump(fresh)


def test_TwoIndexersOnOneDatabaseNeverDoubleCount(database_url, scenario, indexer_for, tmp_path):
    scenario.setup()
    for _ in range(6):
        scenario.run_job()
    target = chain.height
    first = indexer_for(database_url, max_block_range=2, initial_block_range=2)
    second = indexer_for(database_url, max_block_range=3, initial_block_range=3)
    errors = []

    def run(indexer):
        try:
            indexer.run(until_block=target)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=target)
    assert dump(database_url) == dump(fresh)


def test_StatusReportsHeadLagAndFinality(database_url, scenario, indexer_for):
    scenario.setup()
    indexer = indexer_for(database_url, confirmations=3)
    before = indexer.status()
    assert before.indexed == scenario.s.record["deployBlock"] - 1 and before.lag == before.head - before.indexed
    indexer.run(until_block=chain.height)
    chain.mine(5)
    status = indexer.status()
    assert (status.head, status.indexed, status.lag) == (chain.height, chain.height - 5, 5)
    assert status.finalized == chain.height - 5  # indexed is below head - confirmations
    indexer.run(until_block=chain.height)
    assert indexer.status().finalized == chain.height - 3


def test_RefusesADatabaseOfAnotherChain(database_url, scenario, indexer_for):
    from agora.indexer import store

    indexer = indexer_for(database_url)
    indexer.run(until_block=chain.height)
    with indexer.sessions.begin() as session:
        store.get_checkpoint(session).chain_id = 5
    with pytest.raises(IndexerError, match="indexes chain 5"):
        indexer.step()


def test_CliIndexesAndReportsStatus(database_url, scenario, settings_for, deployments):
    scenario.setup()
    scenario.run_job()
    s = settings_for(database_url)
    env = {"AGORA_RPC_URL": s.chain.rpc_url, "AGORA_DEPLOYMENTS_DIR": str(deployments),
           "AGORA_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "agora.cli", "index", "--until", str(chain.height)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"indexed block {chain.height}" in run.stdout
    status = subprocess.run([sys.executable, "-m", "agora.cli", "status"], env=env, capture_output=True, text=True)
    assert f"indexed {chain.height}" in status.stdout


def test_CliSaysClearlyWhenNoChainAnswers(tmp_path):
    env = {"AGORA_RPC_URL": "http://127.0.0.1:9", "AGORA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "agora.cli", "status"], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("agora: no chain answers at http://127.0.0.1:9")


def test_CliSaysClearlyWhenTheChainHasNoDeployment(tmp_path, settings_for):
    s = settings_for(f"sqlite:///{tmp_path / 'x.db'}")
    env = {"AGORA_RPC_URL": s.chain.rpc_url, "AGORA_DEPLOYMENTS_DIR": str(tmp_path / "none"),
           "AGORA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PYTHONPATH": str(ROOT / "backend"),
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "agora.cli", "index"], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert "no Agora deployment for chain" in run.stderr and "run the deploy script first" in run.stderr


def test_BackfillLogsItsPositionAndSpeed(database_url, scenario, indexer_for, caplog):
    scenario.setup()
    scenario.run_job()
    indexer = indexer_for(database_url, max_block_range=2, initial_block_range=2)
    with caplog.at_level("INFO", logger="agora.indexer"):
        indexer.run(until_block=chain.height)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("indexed block")]
    # Once on reaching the head (and every 5 s before it on a long backfill).
    assert lines and lines[-1].startswith(f"indexed block {chain.height} of {chain.height} (lag 0)")
    assert "events/s" in lines[-1]


class PausingRpc:
    """Wraps the real node: the first `header` call (the one an indexer makes between
    finding no checkpoint and creating the first) waits until `resume` is set."""

    def __init__(self, rpc, paused: threading.Event, resume: threading.Event, wait_seconds: float):
        self.rpc, self.paused, self.resume, self.wait_seconds = rpc, paused, resume, wait_seconds
        self.first = True

    def __getattr__(self, name):
        return getattr(self.rpc, name)

    def header(self, number):
        if self.first:
            self.first = False
            self.paused.set()
            # SQLite: the paused indexer holds the write lock (BEGIN IMMEDIATE), so the other
            # cannot commit meanwhile and this times out; PostgreSQL lets it commit.
            self.resume.wait(self.wait_seconds)
        return self.rpc.header(number)


def test_AnIndexerStartingLateNeverMovesTheCheckpointBack(database_url, scenario, indexer_for, tmp_path):
    """Two indexers start on an empty database: the late one found no checkpoint, and before
    it creates the first, the other creates it and commits a batch. The late one must not
    put the checkpoint back to the deploy block (it would index those blocks again)."""
    scenario.setup()
    scenario.run_job()
    target = chain.height
    early = indexer_for(database_url, max_block_range=2, initial_block_range=2, indexer_prefetch="off")
    late = indexer_for(database_url, max_block_range=3, initial_block_range=3, indexer_prefetch="off")
    paused, committed = threading.Event(), threading.Event()
    late.rpc = PausingRpc(late.rpc, paused, committed, wait_seconds=3.0)
    commit = early._commit

    def committing(*args):
        result = commit(*args)
        committed.set()
        return result

    early._commit = committing
    errors = []

    def run(indexer):
        try:
            indexer.run(until_block=target)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    late_thread = threading.Thread(target=run, args=(late,))
    late_thread.start()
    assert paused.wait(30)
    early_thread = threading.Thread(target=run, args=(early,))
    early_thread.start()
    for t in (late_thread, early_thread):
        t.join(timeout=120)
    assert not errors, errors
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=target)
    assert dump(database_url) == dump(fresh)
