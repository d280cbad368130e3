"""Reorganizations and batch boundaries across the market-safety events: declines, slashed
reclaims, takes of a match, default-closed disputes and published parameter versions roll
back and re-index to exactly the rows of a fresh index."""

from __future__ import annotations

import pytest
from brownie import chain
from eth_utils import keccak
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from agora.db.models import Job, ParamsVersion
from indexkit import dump
from marketscenario import P


def fork_with_new_versions(scenario) -> None:
    """A vote publishing versions 2 to 5, then a match under version 5 that is declined,
    and a match taken by its provider."""
    m, (p0, p1), (b0, b1) = scenario.s.market, scenario.providers, scenario.buyers
    scenario.govern()
    declined = scenario.post(b0)
    scenario.match(declined, p1)
    m.decline(declined.as_tuple(), {"from": p1})
    taken = scenario.post(b1)
    scenario.match(taken, p0)
    scenario.take(taken, p0)


def fork_without(scenario) -> None:
    """Other blocks in their place: a lapsed match reclaimed, a dispute closed by default."""
    m, (p0, p1), (b0, b1) = scenario.s.market, scenario.providers, scenario.buyers
    lapsed = scenario.post(b1)
    scenario.match(lapsed, p0)
    chain.sleep(P.accept_window_seconds + 1)
    m.reclaim(lapsed.as_tuple(), {"from": scenario.keeper})
    unjudged = scenario.run_job(p1, b0, finish=None)
    m.dispute(unjudged.as_tuple(), {"from": b0})
    chain.sleep(scenario.s.params.arbitrationWindowSeconds() + 1)  # the job's version's, the newest
    m.closeDispute(unjudged.as_tuple(), {"from": scenario.keeper})
    chain.mine(40)  # longer than the replaced fork


def test_ReorgOfPublishedVersionsAndSlashedMatchesEndsWithTheRowsOfAFreshIndex(database_url, scenario, indexer_for,
                                                                                tmp_path):
    scenario.setup()
    running = scenario.post()
    scenario.match(running, scenario.providers[0])
    scenario.accept(running, scenario.providers[0])
    indexer = indexer_for(database_url, max_block_range=4, initial_block_range=4)
    indexer.run(until_block=chain.height)
    ancestor = chain.height
    chain.snapshot()
    fork_with_new_versions(scenario)
    indexer.run(until_block=chain.height)
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert len(session.execute(select(ParamsVersion)).scalars().all()) == 5

    chain.revert()
    assert chain.height == ancestor
    fork_without(scenario)
    scenario.s.market.submitResult(running.job_id, keccak(text="after the reorg"), {"from": scenario.providers[0]})
    indexer.run(until_block=chain.height)

    with Session(engine) as session:
        assert [v.version for v in session.execute(select(ParamsVersion)).scalars()] == ["1"]
        job = session.get(Job, "0x" + running.job_id.hex())
        assert job.state == "submitted" and job.params_version == 1
        assert job.challenge_deadline == job.deadline == (
            scenario.s.market.jobOf(job.job_id)[2] + P.challenge_window_seconds)
    engine.dispose()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    indexer_for(fresh).run(until_block=chain.height)
    assert dump(database_url) == dump(fresh)


def test_BlockByBlockEndsWithTheRowsOfOneBatch(database_url, scenario, indexer_for, tmp_path):
    """Every batch boundary the new events can fall on (a version published in one batch,
    matched in a later one; a match and its decline, take or reclaim apart)."""
    scenario.setup()
    fork_with_new_versions(scenario)
    fork_without(scenario)
    indexer_for(database_url, max_block_range=1, initial_block_range=1).run(until_block=chain.height)
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    indexer_for(whole).run(until_block=chain.height)
    assert dump(database_url) == dump(whole)


def test_CancelOfAMatchInABatchOfItsOwn(database_url, scenario, indexer_for):
    scenario.setup()
    terms = scenario.post()
    scenario.match(terms, scenario.providers[0])
    indexer = indexer_for(database_url, max_block_range=1, initial_block_range=1)
    indexer.run(until_block=chain.height)
    scenario.s.market.cancel(terms.as_tuple(), {"from": scenario.buyers[0]})
    indexer.step()
