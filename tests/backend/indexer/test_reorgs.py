"""Reorganizations: after rolling back to the common ancestor and re-indexing, the rows are
exactly those of a fresh index of the final chain."""

from __future__ import annotations

import pytest
from brownie import chain, history, web3

from agora.chain.terms import Resources
from agora.indexer.service import ReorgTooDeep
from conftest import dump

SMALL = Resources(100, 256, 1)


def mine_blocks_with_events(scenario, blocks: int, tag: int) -> None:
    """Exactly `blocks` new blocks, each with market events: post, match, accept, in turn."""
    m = scenario.s.market
    provider = scenario.providers[tag % 2]
    terms = None
    for i in range(blocks):
        phase = i % 3
        if phase == 0:
            terms = scenario.post(scenario.buyers[tag % 2], max_price=(5 + tag) * 10**18, resources=SMALL)
        elif phase == 1:
            m.matchJob(terms.as_tuple(), provider, {"from": scenario.matchmaker})
        else:
            m.accept(terms.as_tuple(), {"from": provider})


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
