"""JobMarket: result submission, buyer confirmation and (batched) finalization payouts."""

import pytest

from agora.market.protocol import PUBLIC
from conftest import PROVIDER_STAKE
from marketkit import (
    COMPLETED, DISPUTED, MATCHED, RUNNING, SUBMITTED, job_of, next_block_at, plain, price_of, provider_of, reverts,
    travel_past,
)

ZERO = "0x" + "0" * 40
RESULT = b"\x11" * 32
P = PUBLIC.initial
CHALLENGE = P.challenge_window_seconds


def payouts(terms, protocol_bps=P.protocol_fee_bps, matchmaker_bps=P.matchmaker_fee_bps, matched=True):
    """The payouts of a completed job: the matchmaker's fee is its share of the buyer's saving."""
    price = price_of(terms)
    protocol_fee = price * protocol_bps // 10_000
    saving = terms.max_price - price
    matchmaker_fee = saving * matchmaker_bps // 10_000 if matched else 0
    return {
        "provider": price - protocol_fee,
        "matchmaker": matchmaker_fee,
        "protocol": protocol_fee,
        "refund": saving - matchmaker_fee,
    }


def challenge_deadline_of(market, terms):
    """The last second to dispute: the submission time (stored) plus the challenge window."""
    return job_of(market, terms.job_id)["deadline"] + CHALLENGE


class TestSubmitResult:
    def test_SubmitsAndStartsChallengeWindow(self, market, running, registered):
        terms = running()
        tx = market.submitResult(terms.job_id, RESULT, {"from": registered})
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"]) == (SUBMITTED, tx.timestamp)
        assert challenge_deadline_of(market, terms) == tx.timestamp + CHALLENGE
        assert plain(tx.events["ResultSubmitted"].values()) == (terms.job_id, registered.address, RESULT)

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
        assert job_of(market, terms.job_id) == {
            "provider": registered.address, "state": COMPLETED, "deadline": 0, "paramsVersion": 0,
            "durationSeconds": 0, "matchmaker": ZERO, "price": 0,
        }
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"], view["completedJobs"], view["stake"]) == (
            (0, 0, 0, 0), 0, 1, PROVIDER_STAKE
        )

    def test_MatchmakerFeeIsItsShareOfTheBuyersSaving(self, market, terms_for, posted, registered, matchmaker, buyer):
        """An odd saving: the fee is rounded down and the buyer keeps the rest, to the wei."""
        terms = posted(max_price=price_of(terms_for()) + 12_345)
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        market.accept(terms.job_id, {"from": registered})
        market.submitResult(terms.job_id, RESULT, {"from": registered})
        tx = market.confirm(terms.as_tuple(), {"from": buyer})
        assert P.matchmaker_fee_bps == 1_000
        assert (tx.events["JobCompleted"]["matchmakerFee"], tx.events["JobCompleted"]["buyerRefund"]) == (1_234, 11_111)
        assert (market.creditOf(matchmaker), market.creditOf(buyer)) == (1_234, 11_111)

    def test_NoSavingNoMatchmakerFee(self, market, terms_for, posted, registered, matchmaker, buyer, governance):
        terms = posted(max_price=price_of(terms_for()))
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        market.accept(terms.job_id, {"from": registered})
        market.submitResult(terms.job_id, RESULT, {"from": registered})
        tx = market.confirm(terms.as_tuple(), {"from": buyer})
        protocol = terms.max_price * P.protocol_fee_bps // 10_000
        assert plain(tx.events["JobCompleted"].values()) == (
            terms.job_id, registered.address, terms.max_price - protocol, 0, protocol, 0
        )
        assert (market.creditOf(matchmaker), market.creditOf(buyer), market.creditOf(governance)) == (0, 0, protocol)

    def test_TakenJobPaysNoMatchmakerAndRefundsTheWholeSaving(self, market, posted, registered, buyer):
        terms = posted()
        market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        market.submitResult(terms.job_id, RESULT, {"from": registered})
        tx = market.confirm(terms.as_tuple(), {"from": buyer})
        expected = payouts(terms, matched=False)
        assert expected["refund"] == terms.max_price - price_of(terms)
        assert plain(tx.events["JobCompleted"].values()) == (
            terms.job_id, registered.address, expected["provider"], 0, expected["protocol"], expected["refund"]
        )
        assert market.creditOf(buyer) == expected["refund"]

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
        params.setMatchmakerFeeBps(5_000, {"from": governance})
        params.setCollateralRatioBps(50_000, {"from": governance})
        params.setMinJobCollateral(1_000 * PUBLIC.initial.min_job_collateral, {"from": governance})
        market.confirm(terms.as_tuple(), {"from": buyer})
        expected = payouts(terms)
        assert market.creditOf(registered) == expected["provider"]
        assert market.creditOf(matchmaker) == expected["matchmaker"]
        assert market.creditOf(governance) == expected["protocol"]
        assert market.creditOf(buyer) == expected["refund"]


class TestFinalize:
    def test_AnyoneFinalizesAfterTheChallengeWindow(self, market, submitted, registered, keeper, governance):
        terms = submitted()
        travel_past(challenge_deadline_of(market, terms))
        tx = market.finalize([terms.as_tuple()], {"from": keeper})
        assert tx.return_value == 1
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        assert market.creditOf(registered) == payouts(terms)["provider"]
        assert market.creditOf(governance) == payouts(terms)["protocol"]
        assert market.creditOf(keeper) == 0

    def test_RevertIf_ChallengeWindowOpen(self, market, submitted, keeper):
        terms = submitted()
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline)
        with reverts("ChallengeWindowOpen", terms.job_id, deadline):
            market.finalize([terms.as_tuple()], {"from": keeper})

    def test_FinalizesABatchAndCreditsTreasuryOnce(self, market, submitted, registered, governance, keeper):
        batch = [submitted() for _ in range(5)]
        travel_past(max(challenge_deadline_of(market, t) for t in batch))
        tx = market.finalize([t.as_tuple() for t in batch], {"from": keeper})
        assert tx.return_value == 5
        assert len(tx.events["JobCompleted"]) == 5
        assert market.creditOf(registered) == sum(payouts(t)["provider"] for t in batch)
        assert market.creditOf(governance) == sum(payouts(t)["protocol"] for t in batch)

    def test_FinalizesABatchOfSeveralVersions(self, market, params, governance, submitted, registered, keeper):
        """Each job settles under its own version, in one batch."""
        first = submitted()
        params.setProtocolFeeBps(1_000, {"from": governance})
        second = submitted()
        third = submitted()
        assert [job_of(market, t.job_id)["paramsVersion"] for t in (first, second, third)] == [1, 2, 2]
        travel_past(max(challenge_deadline_of(market, t) for t in (first, second, third)))
        tx = market.finalize([t.as_tuple() for t in (first, second, third)], {"from": keeper})
        fees = [e["protocolFee"] for e in tx.events["JobCompleted"]]
        assert fees == [
            payouts(first)["protocol"], payouts(second, protocol_bps=1_000)["protocol"],
            payouts(third, protocol_bps=1_000)["protocol"],
        ]
        assert market.creditOf(governance) == sum(fees)

    def test_SkipsJobsNoLongerSubmitted(self, market, submitted, running, buyer, keeper):
        done, disputed, live, ready = submitted(), submitted(), running(), submitted()
        market.confirm(done.as_tuple(), {"from": buyer})
        market.dispute(disputed.as_tuple(), {"from": buyer})
        travel_past(challenge_deadline_of(market, ready))
        tx = market.finalize([t.as_tuple() for t in (done, disputed, live, ready)], {"from": keeper})
        assert tx.return_value == 1
        assert [plain(e["jobId"]) for e in tx.events["JobCompleted"]] == [ready.job_id]
        assert job_of(market, disputed.job_id)["state"] == DISPUTED
        assert job_of(market, live.job_id)["state"] == RUNNING

    def test_EmptyBatchDoesNothing(self, market, keeper):
        assert market.finalize.call([], {"from": keeper}) == 0

    def test_RevertIf_OneJobOfTheBatchStillInWindow(self, market, submitted, keeper):
        early = submitted()
        travel_past(challenge_deadline_of(market, early))
        late = submitted()
        deadline = challenge_deadline_of(market, late)
        with reverts("ChallengeWindowOpen", late.job_id, deadline):
            market.finalize([early.as_tuple(), late.as_tuple()], {"from": keeper})


class TestChallengeDeadline:
    """The challenge deadline is computed when needed: submission time plus the job's window."""

    def test_AtTheDeadlineDisputeSucceeds(self, market, submitted, buyer):
        terms = submitted()
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline)
        tx = market.dispute(terms.as_tuple(), {"from": buyer})
        assert tx.timestamp == deadline
        assert job_of(market, terms.job_id)["state"] == DISPUTED

    def test_AtTheDeadlineFinalizeReverts(self, market, submitted, keeper):
        terms = submitted()
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline)
        with reverts("ChallengeWindowOpen", terms.job_id, deadline):
            market.finalize([terms.as_tuple()], {"from": keeper})

    def test_OneSecondLaterDisputeReverts(self, market, submitted, buyer):
        terms = submitted()
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline + 1)
        with reverts("ChallengeWindowClosed", terms.job_id, deadline):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_OneSecondLaterFinalizeSucceeds(self, market, submitted, keeper):
        terms = submitted()
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline + 1)
        tx = market.finalize([terms.as_tuple()], {"from": keeper})
        assert (tx.timestamp, tx.return_value) == (deadline + 1, 1)
        assert job_of(market, terms.job_id)["state"] == COMPLETED

    def test_WindowIsThatOfTheVersionOfTheMatch(self, market, params, governance, submitted, keeper):
        terms = submitted()
        params.setChallengeWindowSeconds(2 * CHALLENGE, {"from": governance})
        deadline = challenge_deadline_of(market, terms)
        next_block_at(deadline + 1)
        assert market.finalize([terms.as_tuple()], {"from": keeper}).return_value == 1


@pytest.mark.parametrize("protocol_bps,matchmaker_bps", [(0, 0), (1_000, 5_000)])
def test_PayoutsAlwaysSumToTheEscrow(market, params, governance, submitted, buyer, registered, matchmaker,
                                     protocol_bps, matchmaker_bps, token):
    params.setProtocolFeeBps(protocol_bps, {"from": governance})
    params.setMatchmakerFeeBps(matchmaker_bps, {"from": governance})
    terms = submitted()
    market.confirm(terms.as_tuple(), {"from": buyer})
    credited = sum(market.creditOf(a) for a in (buyer, registered, matchmaker, governance))
    assert credited == terms.max_price == token.balanceOf(market)
    assert payouts(terms, protocol_bps, matchmaker_bps)["matchmaker"] == market.creditOf(matchmaker)
