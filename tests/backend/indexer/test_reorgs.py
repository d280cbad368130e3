"""Reorganizations: after rolling back to the common ancestor and re-indexing, the rows are
exactly those of a fresh index of the final chain."""

from __future__ import annotations

import subprocess
import sys

import pytest
from brownie import chain, history, web3
from indexkit import ROOT, dump
from sqlalchemy import create_engine, func, select

from agora.db.models import ChainEvent
from agora.indexer.service import ReorgTooDeep
from agora.market.terms import Resources

SMALL = Resources(100, 256, 1)


def mine_blocks_with_events(scenario, blocks: int, tag: int) -> None:
    """Exactly `blocks` new blocks, each with market events: post, match, accept, in turn."""
    provider = scenario.providers[tag % 2]
    terms = None
    for i in range(blocks):
        phase = i % 3
        if phase == 0:
            terms = scenario.post(scenario.buyers[tag % 2], max_price=(5 + tag) * 10**18, resources=SMALL)
        elif phase == 1:
            scenario.match(terms, provider)
        else:
            scenario.accept(terms, provider)


@pytest.mark.parametrize("depth", [1, 5, 30])
def test_ReorgEndsWithTheRowsOfAFreshIndex(database_url, scenario, indexer_for, depth, tmp_path):
    scenario.setup()
    scenario.run_job()
    indexer = indexer_for(database_url, max_block_range=4, initial_block_range=4)
    indexer.run(until_block=chain.height)
    ancestor = chain.height
    chain.snapshot()
    mine_blocks_with_events(scenario, depth, tag=0)
    indexer.run(until_block=chain.height)
    replaced_tip = chain.height

    chain.revert()  # the last `depth` blocks are gone...
    assert chain.height == ancestor
    mine_blocks_with_events(scenario, depth + 2, tag=1)  # ...and a longer fork replaces them
    assert web3.eth.get_block(replaced_tip).hash != indexer._checkpoint().block_hash

    rolled_back_to = indexer.step().rolled_back_to
    assert rolled_back_to is not None and ancestor - 4 <= rolled_back_to <= ancestor
    indexer.run(until_block=chain.height)

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=chain.height)
    assert dump(database_url) == dump(fresh)


def test_RollsBackExactlyToTheCommonAncestor(database_url, scenario, indexer_for, tmp_path):
    scenario.setup()
    indexer = indexer_for(database_url, max_block_range=1, initial_block_range=1)
    indexer.run(until_block=chain.height)
    ancestor = chain.height
    chain.snapshot()
    mine_blocks_with_events(scenario, 3, tag=0)
    indexer.run(until_block=chain.height)
    chain.revert()
    mine_blocks_with_events(scenario, 5, tag=1)
    assert indexer.step().rolled_back_to == ancestor


def test_AnvilReorgOfFiveBlocks(database_url, scenario, indexer_for, tmp_path):
    """The node's own reorganization (anvil_reorg): the last blocks replaced by empty ones."""
    scenario.setup()
    scenario.run_job()
    indexer = indexer_for(database_url, max_block_range=2, initial_block_range=2)
    mine_blocks_with_events(scenario, 5, tag=0)
    indexer.run(until_block=chain.height)
    height = chain.height
    response = web3.provider.make_request("anvil_reorg", [5, []])
    assert "error" not in response, response
    # Brownie waits for the nonces of the dropped transactions unless told they are gone.
    history._revert(height - 5)
    chain.mine(2)
    indexer.run(until_block=chain.height)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=chain.height)
    assert dump(database_url) == dump(fresh)


def test_ReorgDeeperThanHistoryStopsWithoutChangingAnything(database_url, scenario, indexer_for):
    scenario.setup()
    indexer = indexer_for(database_url, max_block_range=1, initial_block_range=1, reorg_history_blocks=3)
    chain.snapshot()
    mine_blocks_with_events(scenario, 10, tag=0)
    indexer.run(until_block=chain.height)
    before = dump(database_url)
    chain.revert()
    mine_blocks_with_events(scenario, 12, tag=1)
    with pytest.raises(ReorgTooDeep, match="keeps undo history for 3 blocks"):
        indexer.step()
    assert dump(database_url) == before
    with pytest.raises(ReorgTooDeep):
        indexer.run(until_block=chain.height)


def test_AForkShorterThanTheIndexRollsBackAtOnce(database_url, scenario, indexer_for, settings_for, deployments,
                                                 tmp_path):
    """The review's case: indexed up to 274, the chain reverted to 244 and 10 other blocks
    mined (head 254). The index ends above the head: that is a reorganization."""
    scenario.setup()
    indexer = indexer_for(database_url, max_block_range=4, initial_block_range=4)
    indexer.run(until_block=chain.height)
    ancestor = chain.height  # 244
    chain.snapshot()
    mine_blocks_with_events(scenario, 30, tag=0)
    indexer.run(until_block=chain.height)
    tip = chain.height  # 274
    chain.revert()
    mine_blocks_with_events(scenario, 10, tag=1)
    head = chain.height  # 254
    assert head == ancestor + 10 and indexer.indexed_block() == tip == ancestor + 30

    s = settings_for(database_url)
    env = {"AGORA_RPC_URL": s.chain.rpc_url, "AGORA_DEPLOYMENTS_DIR": str(deployments),
           "AGORA_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"}
    line = subprocess.run([sys.executable, "-m", "agora.cli", "status"], env=env, capture_output=True, text=True,
                          timeout=60).stdout
    assert f"head {head}, indexed {tip}" in line and "shorter fork" in line and "rollback pending" in line, line
    assert "lag 0" not in line

    status = indexer.status()
    assert status.rollback_pending and (status.head, status.indexed) == (head, tip)

    rolled_back_to = indexer.step().rolled_back_to  # at once: one step, no waiting for the fork to grow
    assert rolled_back_to is not None and ancestor - 4 <= rolled_back_to <= ancestor
    assert indexer.indexed_block() == rolled_back_to
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.max(ChainEvent.block_number))).scalar() <= rolled_back_to
    engine.dispose()
    assert not indexer.status().rollback_pending

    indexer.run(until_block=head)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=head)
    assert dump(database_url) == dump(fresh)


def test_AShorterForkRollsBackWhileRunning(database_url, scenario, indexer_for, tmp_path):
    """The same inside the loop: the running indexer rolls back within a few steps, without
    retrying as if the node were down."""
    import threading
    import time

    scenario.setup()
    indexer = indexer_for(database_url, max_block_range=4, initial_block_range=4)
    indexer.run(until_block=chain.height)
    ancestor = chain.height
    chain.snapshot()
    mine_blocks_with_events(scenario, 30, tag=0)
    indexer.run(until_block=chain.height)
    chain.revert()
    mine_blocks_with_events(scenario, 10, tag=1)
    head = chain.height
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, kwargs={"stop": stop.is_set})
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while indexer.indexed_block() != head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert indexer.indexed_block() == head
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=head)
    assert dump(database_url) == dump(fresh)
