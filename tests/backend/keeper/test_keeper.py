"""The keeper on a live market: each overdue action at its window's edge, the reporter's
share paid to the node to the wei, batches of finalizations, and no transaction that costs
more gas than it earns unless the settings say to settle."""

from __future__ import annotations

from brownie import chain, web3
from eth_utils import keccak
from marketscenario import P

from agora.market.states import JobState

BPS = 10_000


def index(app) -> None:
    app.indexer().run(until_block=chain.height)


def state(live, terms) -> JobState:
    return JobState(live.s.market.jobOf(terms.job_id)[1])


def deadline(live, terms) -> int:
    return live.s.market.jobOf(terms.job_id)[2]


def mine_at(moment: int) -> None:
    """Mines the next block at exactly `moment`."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [moment])
    chain.mine()


def to_just_after(moment: int) -> None:
    """Mines a block at `moment + 1`: the first second at which `now > moment`."""
    mine_at(moment + 1)


def collateral(live, terms) -> int:
    price = live.s.market.jobOf(terms.job_id)[6]
    return max(price * P.collateral_ratio_bps // BPS, P.min_job_collateral)


def test_ReclaimsALapsedMatchAndEarnsTheReporterShareToTheWei(live, node_app):
    terms = live.post()
    live.match(terms, live.providers[0])
    app = node_app(token_price_eth=1.0)  # a reporter's share of tokens is worth its gas
    mine_at(deadline(live, terms))  # the window's last second: not yet
    index(app)
    assert app.keeper().run_once().sent == {}
    to_just_after(deadline(live, terms))
    index(app)
    before = live.s.market.creditOf(app.wallet.address)
    report = app.keeper().run_once()
    assert report.sent == {"reclaim": 1}
    assert state(live, terms) == JobState.OPEN  # back on the market
    slash = collateral(live, terms) * P.missed_deadline_slash_bps // BPS
    assert live.s.market.creditOf(app.wallet.address) - before == slash * P.reporter_share_bps // BPS


def test_SlashesAMissedDeadlineAndTheBuyerIsCredited(live, node_app):
    terms = live.post()
    live.match(terms, live.providers[0])
    live.accept(terms, live.providers[0])
    app = node_app(token_price_eth=1.0)
    to_just_after(deadline(live, terms))
    index(app)
    buyer_before = live.s.market.creditOf(terms.buyer)
    assert app.keeper().run_once().sent == {"slash": 1}
    slash = collateral(live, terms) * P.missed_deadline_slash_bps // BPS
    assert live.s.market.creditOf(terms.buyer) - buyer_before == slash * P.buyer_share_bps // BPS
    assert state(live, terms) == JobState.OPEN


def test_FinalizesPastTheChallengeWindowInBatches(live, node_app):
    jobs = []
    for _ in range(5):
        terms = live.post()
        live.match(terms, live.providers[0])
        live.accept(terms, live.providers[0])
        live.s.market.submitResult(terms.job_id, keccak(text="result"), {"from": live.providers[0]})
        jobs.append(terms)
    app = node_app(settle="all", finalize_batch=2)
    to_just_after(deadline(live, jobs[-1]) + P.challenge_window_seconds)
    index(app)
    nonce = app.web3.eth.get_transaction_count(app.wallet.address)
    assert app.keeper().run_once().sent == {"finalize": 3}  # 2 + 2 + 1
    assert app.web3.eth.get_transaction_count(app.wallet.address) == nonce + 3
    assert {state(live, t) for t in jobs} == {JobState.COMPLETED}


def test_ExpiresOpenJobsOnlyWhenSettlingAndNeverAtALoss(live, node_app):
    terms = live.post()
    mine_at(terms.expires_at)
    stingy = node_app("stingy", settle="none")
    index(stingy)
    report = stingy.keeper().run_once()
    assert report.due["expire"] == 1 and report.sent == {} and report.unprofitable == {"expire": 1}
    own = node_app("own", settle="own")  # the node is neither buyer nor provider
    index(own)
    assert own.keeper().run_once().sent == {}
    everyone = node_app("all", settle="all")
    index(everyone)
    assert everyone.keeper().run_once().sent == {"expire": 1}
    assert state(live, terms) == JobState.REFUNDED


def test_AReclaimWorthLessThanItsGasIsNotSent(live, node_app):
    terms = live.post()
    live.match(terms, live.providers[0])
    app = node_app(token_price_eth=0.0, settle="none")
    to_just_after(deadline(live, terms))
    index(app)
    report = app.keeper().run_once()
    assert report.sent == {} and report.unprofitable == {"reclaim": 1}
    assert state(live, terms) == JobState.MATCHED


def test_ClosesADisputeTheArbiterLeftUnanswered(live, node_app):
    terms = live.post()
    live.match(terms, live.providers[0])
    live.accept(terms, live.providers[0])
    live.s.market.submitResult(terms.job_id, keccak(text="result"), {"from": live.providers[0]})
    live.s.market.dispute(terms.as_tuple(), {"from": live.buyers[0]})
    app = node_app(settle="all")
    to_just_after(deadline(live, terms))
    index(app)
    assert app.keeper().run_once().sent == {"close_dispute": 1}
    assert state(live, terms) == JobState.REFUNDED


def test_ASecondKeeperThatComesLateLosesWithoutSpending(live, node_app):
    terms = live.post()
    live.match(terms, live.providers[0])
    first, late = node_app("first", token_price_eth=1.0), node_app("late", token_price_eth=1.0)
    to_just_after(deadline(live, terms))
    index(first)
    index(late)
    assert first.keeper().run_once().sent == {"reclaim": 1}
    nonce = late.web3.eth.get_transaction_count(late.wallet.address)
    report = late.keeper().run_once()  # its index still shows the lapsed match
    assert report.sent == {} and sum(report.lost.values()) == 1
    assert late.web3.eth.get_transaction_count(late.wallet.address, "pending") == nonce


def test_AReclaimIsSentOnlyWhenItsRewardPaysForItsGas(live, node_app):
    """The reporter's share, valued at the configured token price, against the gas at the
    sender's tip: at half the break-even price the keeper holds back, at twice it sends."""
    terms = live.post()
    live.match(terms, live.providers[0])
    to_just_after(deadline(live, terms))
    reward = collateral(live, terms) * P.missed_deadline_slash_bps // BPS * P.reporter_share_bps // BPS
    probe = node_app("probe")
    gas = probe.contracts.market.functions.reclaim(terms.as_tuple()).estimate_gas({"from": probe.wallet.address})
    break_even = gas * 10**9 / reward  # ether per token wei at which the reward equals the gas (tip 1 gwei, base 0)
    cheap = node_app("cheap", token_price_eth=break_even / 2, settle="none")
    index(cheap)
    assert cheap.keeper().run_once().unprofitable == {"reclaim": 1}
    dear = node_app("dear", token_price_eth=break_even * 2, settle="none")
    index(dear)
    assert dear.keeper().run_once().sent == {"reclaim": 1}
