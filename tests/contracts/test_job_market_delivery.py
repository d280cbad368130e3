"""JobMarket: result submission, buyer confirmation and (batched) finalization payouts."""

import pytest

from agora.chain.protocol import PUBLIC
from agora.chain.terms import quote
from conftest import PROVIDER_STAKE
from marketkit import (
    COMPLETED, DISPUTED, MATCHED, PRICES, RUNNING, SUBMITTED, job_of, next_block_at, plain, provider_of, reverts,
    travel_past,
)

ZERO = "0x" + "0" * 40
RESULT = b"\x11" * 32
CHALLENGE = PUBLIC.initial.challenge_window_seconds


def payouts(terms, protocol_bps=PUBLIC.initial.protocol_fee_bps, matchmaker_bps=PUBLIC.initial.matchmaker_fee_bps):
    price = quote(terms.resources, terms.duration_seconds, PRICES)
    protocol_fee = price * protocol_bps // 10_000
    matchmaker_fee = price * matchmaker_bps // 10_000
    return {
        "provider": price - protocol_fee - matchmaker_fee,
        "matchmaker": matchmaker_fee,
        "protocol": protocol_fee,
        "refund": terms.max_price - price,
    }


class TestSubmitResult:
    def test_SubmitsAndStartsChallengeWindow(self, market, running, registered):
        terms = running()
        tx = market.submitResult(terms.job_id, RESULT, {"from": registered})
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"]) == (SUBMITTED, tx.timestamp + CHALLENGE)
        assert plain(tx.events["ResultSubmitted"].values()) == (
            terms.job_id, registered.address, RESULT, tx.timestamp + CHALLENGE
        )

    def test_SubmitsAtTheDeadline(self, market, running, registered):
        terms = running()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        market.submitResult(terms.job_id, RESULT, {"from": registered})
        assert job_of(market, terms.job_id)["state"] == SUBMITTED

    def test_RevertIf_DeadlinePassed(self, market, running, registered):
        terms = running()
        deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(deadline)
        with reverts("DeadlinePassed", terms.job_id, deadline):
            market.submitResult(terms.job_id, RESULT, {"from": registered})

    def test_RevertIf_NotTheProvider(self, market, running, registered, stranger):
        terms = running()
        with reverts("NotJobProvider", terms.job_id, stranger, registered):
            market.submitResult(terms.job_id, RESULT, {"from": stranger})

    def test_RevertIf_ZeroResultHash(self, market, running, registered):
        terms = running()
        with reverts("ZeroResultHash", terms.job_id):
            market.submitResult(terms.job_id, b"\x00" * 32, {"from": registered})

    def test_RevertIf_NotRunning(self, market, matched, submitted, registered):
        terms = matched()
        with reverts("JobStateMismatch", terms.job_id, MATCHED, RUNNING):
            market.submitResult(terms.job_id, RESULT, {"from": registered})
        terms = submitted()
        with reverts("JobStateMismatch", terms.job_id, SUBMITTED, RUNNING):
            market.submitResult(terms.job_id, RESULT, {"from": registered})


class TestConfirm:
    def test_BuyerConfirmsAndEveryoneIsCredited(self, market, registry, submitted, buyer, registered, matchmaker, governance):
        terms = submitted()
        tx = market.confirm(terms.as_tuple(), {"from": buyer})
        expected = payouts(terms)
        assert market.creditOf(registered) == expected["provider"]
        assert market.creditOf(matchmaker) == expected["matchmaker"]
        assert market.creditOf(governance) == expected["protocol"]
        assert market.creditOf(buyer) == expected["refund"]
        assert sum(expected.values()) == terms.max_price
        assert plain(tx.events["JobCompleted"].values()) == (
            terms.job_id, registered.address, expected["provider"], expected["matchmaker"], expected["protocol"],
            expected["refund"],
        )
        job = job_of(market, terms.job_id)
        assert (job["state"], job["provider"], job["matchmaker"], job["price"]) == (COMPLETED, registered.address, ZERO, 0)
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"], view["completedJobs"], view["stake"]) == (
            (0, 0, 0, 0), 0, 1, PROVIDER_STAKE
        )

    def test_RevertIf_NotBuyer(self, market, submitted, buyer, stranger):
        terms = submitted()
        with reverts("NotJobBuyer", terms.job_id, stranger, buyer):
            market.confirm(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NotSubmitted(self, market, running, buyer):
        terms = running()
        with reverts("JobStateMismatch", terms.job_id, RUNNING, SUBMITTED):
            market.confirm(terms.as_tuple(), {"from": buyer})

    def test_FeesAreThoseOfTheMatchNotOfLaterVotes(self, market, params, governance, submitted, buyer, registered, matchmaker):
        terms = submitted()
        params.setProtocolFeeBps(1_000, {"from": governance})
        params.setMatchmakerFeeBps(500, {"from": governance})
        params.setCollateralRatioBps(50_000, {"from": governance})
        market.confirm(terms.as_tuple(), {"from": buyer})
        expected = payouts(terms)
        assert market.creditOf(registered) == expected["provider"]
        assert market.creditOf(matchmaker) == expected["matchmaker"]
        assert market.creditOf(governance) == expected["protocol"]


class TestFinalize:
    def test_AnyoneFinalizesAfterTheChallengeWindow(self, market, submitted, registered, keeper, governance):
        terms = submitted()
        challenge_deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(challenge_deadline)
        tx = market.finalize([terms.as_tuple()], {"from": keeper})
        assert tx.return_value == 1
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        assert market.creditOf(registered) == payouts(terms)["provider"]
        assert market.creditOf(governance) == payouts(terms)["protocol"]
        assert market.creditOf(keeper) == 0

    def test_RevertIf_ChallengeWindowOpen(self, market, submitted, keeper):
        terms = submitted()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        with reverts("ChallengeWindowOpen", terms.job_id, deadline):
            market.finalize([terms.as_tuple()], {"from": keeper})

    def test_FinalizesABatchAndCreditsTreasuryOnce(self, market, submitted, registered, governance, keeper):
        batch = [submitted() for _ in range(5)]
        travel_past(max(job_of(market, t.job_id)["deadline"] for t in batch))
        tx = market.finalize([t.as_tuple() for t in batch], {"from": keeper})
        assert tx.return_value == 5
        assert len(tx.events["JobCompleted"]) == 5
        assert market.creditOf(registered) == sum(payouts(t)["provider"] for t in batch)
        assert market.creditOf(governance) == sum(payouts(t)["protocol"] for t in batch)

    def test_SkipsJobsNoLongerSubmitted(self, market, submitted, running, buyer, keeper):
        done, disputed, live, ready = submitted(), submitted(), running(), submitted()
        market.confirm(done.as_tuple(), {"from": buyer})
        market.dispute(disputed.as_tuple(), {"from": buyer})
        travel_past(job_of(market, ready.job_id)["deadline"])
        tx = market.finalize([t.as_tuple() for t in (done, disputed, live, ready)], {"from": keeper})
        assert tx.return_value == 1
        assert [plain(e["jobId"]) for e in tx.events["JobCompleted"]] == [ready.job_id]
        assert job_of(market, disputed.job_id)["state"] == DISPUTED
        assert job_of(market, live.job_id)["state"] == RUNNING

    def test_EmptyBatchDoesNothing(self, market, keeper):
        assert market.finalize.call([], {"from": keeper}) == 0

    def test_RevertIf_OneJobOfTheBatchStillInWindow(self, market, submitted, keeper):
        early = submitted()
        travel_past(job_of(market, early.job_id)["deadline"])
        late = submitted()
        deadline = job_of(market, late.job_id)["deadline"]
        with reverts("ChallengeWindowOpen", late.job_id, deadline):
            market.finalize([early.as_tuple(), late.as_tuple()], {"from": keeper})


@pytest.mark.parametrize("protocol_bps,matchmaker_bps", [(0, 0), (1_000, 500)])
def test_PayoutsAlwaysSumToTheEscrow(market, params, governance, submitted, buyer, registered, matchmaker,
                                     protocol_bps, matchmaker_bps, token):
    params.setProtocolFeeBps(protocol_bps, {"from": governance})
    params.setMatchmakerFeeBps(matchmaker_bps, {"from": governance})
    terms = submitted()
    market.confirm(terms.as_tuple(), {"from": buyer})
    credited = sum(market.creditOf(a) for a in (buyer, registered, matchmaker, governance))
    assert credited == terms.max_price == token.balanceOf(market)
    assert payouts(terms, protocol_bps, matchmaker_bps)["matchmaker"] == market.creditOf(matchmaker)
