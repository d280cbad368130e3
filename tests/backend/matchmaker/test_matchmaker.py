"""The matchmaker on a live market: it matches at the price it expects, a lost race costs no
gas and no nonce and is counted by the contract's error, a round run twice sends once, a
provider that failed a job is passed over, and independent nodes take turns by hash."""

from __future__ import annotations

import statistics
import time

from brownie import chain
from eth_utils import keccak
from marketscenario import CAPACITY, PRICES

from agora.market.states import JobState
from agora.market.terms import HourlyPrices
from agora.matchmaker.service import stagger_delay

PRICIER = HourlyPrices(PRICES.cpu_core_gwei * 2, PRICES.memory_gib_gwei * 2, PRICES.gpu_gwei * 2,
                       PRICES.storage_gib_gwei * 2)


def index(app) -> None:
    app.indexer().run(until_block=chain.height)


def run_round(app):
    """One matchmaker round, then its transactions mined. anvil mines a raw transaction as it
    arrives, except now and then after other tests of the session (then it waits in the pool
    for the next block, as on any chain): a block is mined for it, as a real chain makes them."""
    report = app.matchmaker().run_once()
    address, web3 = app.wallet.address, app.web3
    deadline = time.monotonic() + 30
    while web3.eth.get_transaction_count(address, "pending") != web3.eth.get_transaction_count(address, "latest"):
        assert time.monotonic() < deadline, "the matchmaker's transactions were never mined"
        time.sleep(0.5)
        web3.provider.make_request("evm_mine", [])
    return report


def state(live, terms) -> tuple[JobState, str]:
    job = live.s.market.jobOf(terms.job_id)
    return JobState(job[1]), job[0]


def test_MatchesEachOpenJobToTheCheapestEligibleProviderAtItsQuote(live, node_app):
    p0, p1 = live.providers
    live.s.registry.updateListing(CAPACITY.as_tuple(), PRICIER.as_tuple(), "https://p1.example", {"from": p1})
    jobs = [live.post() for _ in range(3)]
    app = node_app()
    index(app)
    report = run_round(app)
    assert (report.open_jobs, report.proposed, report.sent, sum(report.lost.values())) == (3, 3, 3, 0)
    # anvil mines each transaction as it arrives
    for terms in jobs:
        assert state(live, terms) == (JobState.MATCHED, p0.address)
        assert live.s.market.jobOf(terms.job_id)[6] == live.price(terms, p0)  # price as quoted, to the wei
        assert live.s.market.jobOf(terms.job_id)[5] == app.wallet.address  # this node is the matchmaker


def test_ALostRaceIsSimulatedNotSentAndCountedByItsError(live, node_app, accounts):
    terms = live.post()
    app = node_app()
    index(app)
    live.match(terms, live.providers[1])  # another matchmaker, after this node's index
    nonce = app.web3.eth.get_transaction_count(app.wallet.address)
    report = run_round(app)
    assert report.sent == 0 and report.lost == {"JobStateMismatch": 1}
    assert app.web3.eth.get_transaction_count(app.wallet.address, "pending") == nonce  # no gas, no nonce
    # Its index is known stale on that job: not simulated again until the index moves on.
    assert run_round(app).lost == {}
    chain.mine()
    index(app)
    assert run_round(app).open_jobs == 0  # the index now shows the job matched


def test_ARoundRunTwiceBeforeTheIndexMovesSendsEachMatchOnce(live, node_app):
    live.post()
    app = node_app()
    index(app)
    first, second = run_round(app), run_round(app)
    assert (first.sent, second.sent, second.in_flight) == (1, 0, 1)


def test_AProviderThatDeclinedIsPassedOverAndTheJobGoesToAnother(live, node_app):
    p0, p1 = live.providers
    live.s.registry.updateListing(CAPACITY.as_tuple(), PRICIER.as_tuple(), "https://p1.example", {"from": p1})
    terms = live.post()
    app = node_app()
    index(app)
    report = run_round(app)
    assert report.sent == 1, report.line()
    assert state(live, terms) == (JobState.MATCHED, p0.address)
    live.s.market.decline(terms.as_tuple(), {"from": p0})
    index(app)
    report = run_round(app)
    assert report.sent == 1
    assert state(live, terms) == (JobState.MATCHED, p1.address)  # dearer, but p0 failed this job


def test_AJobWaitsForThisNodesTurn(live, node_app):
    terms = live.post()
    app = node_app(stagger_seconds=3_600)
    index(app)
    delay = stagger_delay("0x" + terms.job_id.hex(), app.wallet.address, 3_600)
    report = run_round(app)
    assert (report.waiting, report.sent) == (1, 0)
    chain.sleep(int(delay) + 2)
    chain.mine()
    assert run_round(app).sent == 1


def test_StaggerDelaysAreUniformPerNodeAndSplitJobsBetweenNodes():
    """Each node's delays spread over [0, stagger); for two nodes each goes first on about
    half the jobs, and a node's delay for a job does not change between rounds."""
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20
    ids = ["0x" + keccak(text=str(i)).hex() for i in range(4_000)]
    da = [stagger_delay(j, a, 10.0) for j in ids]
    db = [stagger_delay(j, b, 10.0) for j in ids]
    assert all(0 <= d < 10 for d in da + db)
    assert abs(statistics.mean(da) - 5) < 0.3 and abs(statistics.mean(db) - 5) < 0.3
    first_a = sum(x < y for x, y in zip(da, db, strict=True)) / len(ids)
    assert 0.45 < first_a < 0.55
    assert da == [stagger_delay(j, a, 10.0) for j in ids]
