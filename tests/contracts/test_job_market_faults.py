"""JobMarket: missed-deadline slashing with failover, disputes, the arbiter's rulings and the
default close of a dispute the arbiter leaves unanswered."""

import pytest
from brownie import chain

from agora.market.protocol import PUBLIC, TOKEN
from conftest import PROVIDER_STAKE
from marketkit import (
    CAPACITY, COMPLETED, DISPUTED, ENDPOINT, MATCHED, OPEN, PRICES, REFUNDED, RUNNING, SLASHED, SUBMITTED,
    job_of, next_block_at, plain, price_of, provider_of, reverts, travel_past,
)

ZERO = "0x" + "0" * 40
P = PUBLIC.initial
CHALLENGE = P.challenge_window_seconds
ARBITRATION = P.arbitration_window_seconds
MISSED_DEADLINE, PROVEN_FAULT = 0, 1  # IProviderRegistry.SlashReason


def collateral_of(terms, ratio_bps=P.collateral_ratio_bps, minimum=P.min_job_collateral):
    return max(price_of(terms) * ratio_bps // 10_000, minimum)


def slash_of(terms, slash_bps, minimum=P.min_job_collateral):
    collateral = collateral_of(terms, minimum=minimum)
    amount = collateral * slash_bps // 10_000
    buyer = amount * P.buyer_share_bps // 10_000
    reporter = amount * P.reporter_share_bps // 10_000
    return {"collateral": collateral, "amount": amount, "buyer": buyer, "reporter": reporter,
            "treasury": amount - buyer - reporter}


def matchmaker_fee_of(terms):
    return (terms.max_price - price_of(terms)) * P.matchmaker_fee_bps // 10_000


class TestSlashMissedDeadline:
    def test_SlashesCreditsAndPutsTheJobBackOnTheMarket(
        self, market, registry, token, running, buyer, registered, keeper, governance
    ):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        registry_before, market_before = token.balanceOf(registry), token.balanceOf(market)
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert s == {"collateral": 10 * TOKEN, "amount": 5 * TOKEN, "buyer": 4 * TOKEN, "reporter": TOKEN // 4,
                     "treasury": 3 * TOKEN // 4}
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, keeper.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], OPEN
        )
        assert plain(tx.events["ProviderSlashed"].values()) == (
            registered.address, MISSED_DEADLINE, s["amount"], PROVIDER_STAKE - s["amount"]
        )
        assert (market.creditOf(buyer), market.creditOf(keeper), market.creditOf(governance)) == (
            s["buyer"], s["reporter"], s["treasury"]
        )
        assert token.balanceOf(registry) == registry_before - s["amount"]
        assert token.balanceOf(market) == market_before + s["amount"]
        assert job_of(market, terms.job_id) == {
            "provider": ZERO, "state": OPEN, "deadline": terms.expires_at, "paramsVersion": 0, "durationSeconds": 0,
            "matchmaker": ZERO, "price": 0,
        }
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["used"][:4]) == (
            PROVIDER_STAKE - s["amount"], 0, (0, 0, 0, 0)
        )
        assert (view["missedDeadlines"], view["lapsedMatches"], view["totalSlashed"], view["completedJobs"]) == (
            1, 0, s["amount"], 0
        )

    def test_FailoverJobCompletesWithAnotherProvider(
        self, market, registry, running, buyer, other_provider, matchmaker, keeper
    ):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        market.matchJob(terms.as_tuple(), other_provider, price_of(terms), {"from": matchmaker})
        market.accept(terms.job_id, {"from": other_provider})
        market.submitResult(terms.job_id, b"\x22" * 32, {"from": other_provider})
        market.confirm(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert market.creditOf(buyer) == terms.max_price - price_of(terms) - matchmaker_fee_of(terms) + s["buyer"]
        assert market.creditOf(matchmaker) == matchmaker_fee_of(terms)

    def test_RefundsWhenTheJobHasExpired(self, market, running, buyer, keeper):
        terms = running(expires_at=chain.time() + 1_800)
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert tx.events["JobSlashed"]["newState"] == REFUNDED
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price + s["buyer"]
        assert market.creditOf(keeper) == s["reporter"]

    def test_BuyerAsReporterTakesBothShares(self, market, running, buyer):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.slashMissedDeadline(terms.as_tuple(), {"from": buyer})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]

    def test_ProviderReportingItselfEarnsNothing(self, market, running, registered, buyer, governance):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": registered})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, buyer.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], OPEN
        )
        assert market.creditOf(registered) == 0
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]
        assert market.creditOf(governance) == s["treasury"]

    def test_RevertIf_DeadlineNotPassed(self, market, running, keeper):
        terms = running()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        with reverts("DeadlineNotPassed", terms.job_id, deadline):
            market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})

    def test_RevertIf_NotRunning(self, market, submitted, matched, keeper):
        for terms, state in ((submitted(), SUBMITTED), (matched(), MATCHED)):
            chain.sleep(terms.duration_seconds + 1)
            with reverts("JobStateMismatch", terms.job_id, state, RUNNING):
                market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})

    def test_LowestSlashRateStillPaysTheBuyer(self, market, params, governance, running, keeper, buyer, registry, registered):
        """A zero slash rate is out of bounds now: at the lowest rate the buyer is still paid."""
        lowest = PUBLIC.mins.missed_deadline_slash_bps
        with reverts("ParameterOutOfBounds", 5, 0, lowest, PUBLIC.maxs.missed_deadline_slash_bps):
            params.setMissedDeadlineSlashBps(0, {"from": governance})
        params.setMissedDeadlineSlashBps(lowest, {"from": governance})
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, lowest)
        assert (s["amount"], s["buyer"]) == (TOKEN, 8 * TOKEN // 10)
        assert tx.events["JobSlashed"]["amount"] == s["amount"]
        assert job_of(market, terms.job_id)["state"] == OPEN
        assert market.creditOf(buyer) == s["buyer"]
        assert provider_of(registry, registered)["stake"] == PROVIDER_STAKE - s["amount"]

    def test_SlashIsThatOfTheVersionOfTheMatch(self, market, params, governance, running, keeper, buyer):
        terms = running()
        params.setMissedDeadlineSlashBps(10_000, {"from": governance})
        params.setBuyerShareBps(1_000, {"from": governance})
        params.setMinJobCollateral(100 * TOKEN, {"from": governance})
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert (tx.events["JobSlashed"]["amount"], tx.events["JobSlashed"]["buyerShare"]) == (s["amount"], s["buyer"])
        assert market.creditOf(buyer) == s["buyer"]

    def test_UnbondingRequestCannotEscapeTheSlash(self, market, registry, running, registered, keeper):
        """A provider that unbonds everything it can after missing a deadline is still slashed in full."""
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        view = provider_of(registry, registered)
        registry.requestUnbonding(view["stake"] - view["lockedCollateral"], {"from": registered})
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        assert tx.events["JobSlashed"]["amount"] == slash_of(terms, P.missed_deadline_slash_bps)["amount"]


class TestDispute:
    def test_BuyerDisputesWithBond(self, market, token, submitted, buyer):
        terms = submitted()
        before = token.balanceOf(buyer)
        tx = market.dispute(terms.as_tuple(), {"from": buyer})
        arbitration_deadline = tx.timestamp + ARBITRATION
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"]) == (DISPUTED, arbitration_deadline)
        assert market.disputeBondOf(terms.job_id) == P.dispute_bond
        assert token.balanceOf(buyer) == before - P.dispute_bond
        assert plain(tx.events["JobDisputed"].values()) == (
            terms.job_id, buyer.address, P.dispute_bond, arbitration_deadline
        )

    def test_DisputesAtTheEndOfTheWindow(self, market, submitted, buyer):
        terms = submitted()
        challenge_deadline = job_of(market, terms.job_id)["deadline"] + CHALLENGE
        next_block_at(challenge_deadline)
        tx = market.dispute(terms.as_tuple(), {"from": buyer})
        assert tx.timestamp == challenge_deadline
        assert job_of(market, terms.job_id)["state"] == DISPUTED

    def test_RevertIf_WindowClosed(self, market, submitted, buyer):
        terms = submitted()
        challenge_deadline = job_of(market, terms.job_id)["deadline"] + CHALLENGE
        next_block_at(challenge_deadline + 1)
        with reverts("ChallengeWindowClosed", terms.job_id, challenge_deadline):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_WindowIsThatOfTheVersionOfTheMatch(self, market, params, governance, submitted, buyer):
        terms = submitted()
        params.setChallengeWindowSeconds(2 * CHALLENGE, {"from": governance})
        challenge_deadline = job_of(market, terms.job_id)["deadline"] + CHALLENGE
        next_block_at(challenge_deadline + 1)
        with reverts("ChallengeWindowClosed", terms.job_id, challenge_deadline):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_NotBuyer(self, market, submitted, buyer, stranger):
        terms = submitted()
        with reverts("NotJobBuyer", terms.job_id, stranger, buyer):
            market.dispute(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NotSubmitted(self, market, running, buyer):
        terms = running()
        with reverts("JobStateMismatch", terms.job_id, RUNNING, SUBMITTED):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_BondNotAffordable(self, market, token, submitted, buyer, stranger):
        terms = submitted()
        token.transfer(stranger, token.balanceOf(buyer) - P.dispute_bond + 1, {"from": buyer})
        with reverts("ERC20InsufficientBalance", buyer, P.dispute_bond - 1, P.dispute_bond):
            market.dispute(terms.as_tuple(), {"from": buyer})


@pytest.fixture
def disputed(market, submitted, buyer):
    def dispute(**changes):
        terms = submitted(**changes)
        market.dispute(terms.as_tuple(), {"from": buyer})
        return terms

    return dispute


class TestResolveDispute:
    def test_ProviderNotAtFaultIsPaidAndKeepsTheBond(self, market, disputed, arbiter, registered, buyer, matchmaker, governance):
        terms = disputed()
        tx = market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})
        price = price_of(terms)
        protocol = price * P.protocol_fee_bps // 10_000
        mm = (terms.max_price - price) * P.matchmaker_fee_bps // 10_000
        assert plain(tx.events["DisputeResolved"].values()) == (terms.job_id, arbiter.address, False)
        assert plain(tx.events["JobCompleted"].values()) == (
            terms.job_id, registered.address, price - protocol, mm, protocol, terms.max_price - price - mm
        )
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        assert market.creditOf(registered) == price - protocol + P.dispute_bond
        assert market.creditOf(buyer) == terms.max_price - price - mm
        assert (market.creditOf(matchmaker), market.creditOf(governance)) == (mm, protocol)
        assert market.disputeBondOf(terms.job_id) == 0

    def test_ProviderAtFaultIsSlashedAndTheBuyerMadeWhole(
        self, market, registry, disputed, arbiter, registered, buyer, matchmaker, governance
    ):
        terms = disputed()
        tx = market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})
        s = slash_of(terms, P.fault_slash_bps)
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, buyer.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], SLASHED
        )
        assert plain(tx.events["ProviderSlashed"].values()) == (
            registered.address, PROVEN_FAULT, s["amount"], PROVIDER_STAKE - s["amount"]
        )
        assert job_of(market, terms.job_id)["state"] == SLASHED
        assert market.creditOf(buyer) == terms.max_price + P.dispute_bond + s["buyer"] + s["reporter"]
        assert (market.creditOf(registered), market.creditOf(matchmaker)) == (0, 0)
        assert market.creditOf(governance) == s["treasury"]
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["disputesLost"]) == (PROVIDER_STAKE - s["amount"], 0, 1)
        assert view["used"][:4] == (0, 0, 0, 0)

    def test_NewArbiterMayResolve(self, market, params, governance, disputed, stranger):
        terms = disputed()
        params.setArbiter(stranger, {"from": governance})
        market.resolveDispute(terms.as_tuple(), False, {"from": stranger})
        assert job_of(market, terms.job_id)["state"] == COMPLETED

    def test_RevertIf_NotArbiter(self, market, disputed, arbiter, buyer):
        terms = disputed()
        with reverts("NotArbiter", buyer, arbiter):
            market.resolveDispute(terms.as_tuple(), True, {"from": buyer})

    def test_RevertIf_NotDisputed(self, market, submitted, arbiter):
        terms = submitted()
        with reverts("JobStateMismatch", terms.job_id, SUBMITTED, DISPUTED):
            market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})

    def test_RevertIf_ResolvedTwice(self, market, disputed, arbiter):
        terms = disputed()
        market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})
        with reverts("JobStateMismatch", terms.job_id, SLASHED, DISPUTED):
            market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})

    def test_BondInForceAtDisputeTimeIsReturned(self, market, params, governance, disputed, arbiter, buyer):
        terms = disputed()
        params.setDisputeBond(5 * P.dispute_bond, {"from": governance})
        market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})
        s = slash_of(terms, P.fault_slash_bps)
        assert market.creditOf(buyer) == terms.max_price + P.dispute_bond + s["buyer"] + s["reporter"]

    def test_ResolvesAtTheArbitrationDeadline(self, market, disputed, arbiter):
        terms = disputed()
        arbitration_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(arbitration_deadline)
        tx = market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})
        assert tx.timestamp == arbitration_deadline
        assert job_of(market, terms.job_id)["state"] == COMPLETED

    def test_RevertIf_ArbitrationWindowClosed(self, market, disputed, arbiter):
        terms = disputed()
        arbitration_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(arbitration_deadline + 1)
        with reverts("ArbitrationWindowClosed", terms.job_id, arbitration_deadline):
            market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})


class TestCloseDispute:
    def test_AnyoneClosesByDefaultAfterTheArbitrationWindow(
        self, market, registry, token, disputed, registered, buyer, matchmaker, governance, stranger
    ):
        terms = disputed()
        arbitration_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(arbitration_deadline + 1)
        market_before = token.balanceOf(market)
        tx = market.closeDispute(terms.as_tuple(), {"from": stranger})
        assert tx.timestamp == arbitration_deadline + 1
        assert plain(tx.events["DisputeClosedByDefault"].values()) == (
            terms.job_id, registered.address, terms.max_price, P.dispute_bond
        )
        assert "JobCompleted" not in tx.events and "JobSlashed" not in tx.events
        assert job_of(market, terms.job_id) == {
            "provider": registered.address, "state": REFUNDED, "deadline": 0, "paramsVersion": 0,
            "durationSeconds": 0, "matchmaker": ZERO, "price": 0,
        }
        assert market.creditOf(buyer) == terms.max_price
        assert market.creditOf(registered) == P.dispute_bond
        assert (market.creditOf(matchmaker), market.creditOf(governance), market.creditOf(stranger)) == (0, 0, 0)
        assert market.disputeBondOf(terms.job_id) == 0
        assert token.balanceOf(market) == market_before
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["used"][:4]) == (PROVIDER_STAKE, 0, (0, 0, 0, 0))
        assert (view["completedJobs"], view["disputesLost"], view["totalSlashed"]) == (0, 0, 0)

    def test_RevertIf_ArbitrationWindowOpen(self, market, disputed, stranger):
        terms = disputed()
        arbitration_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(arbitration_deadline)
        with reverts("ArbitrationWindowOpen", terms.job_id, arbitration_deadline):
            market.closeDispute(terms.as_tuple(), {"from": stranger})

    def test_WindowIsThatOfTheVersionOfTheMatch(self, market, params, governance, disputed, stranger):
        terms = disputed()
        params.setArbitrationWindowSeconds(2 * ARBITRATION, {"from": governance})
        arbitration_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(arbitration_deadline + 1)
        market.closeDispute(terms.as_tuple(), {"from": stranger})
        assert job_of(market, terms.job_id)["state"] == REFUNDED

    def test_RevertIf_NotDisputed(self, market, submitted, stranger):
        terms = submitted()
        chain.sleep(CHALLENGE + ARBITRATION + 1)
        with reverts("JobStateMismatch", terms.job_id, SUBMITTED, DISPUTED):
            market.closeDispute(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_AlreadyResolved(self, market, disputed, arbiter, stranger):
        terms = disputed()
        market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})
        chain.sleep(ARBITRATION + 1)
        with reverts("JobStateMismatch", terms.job_id, COMPLETED, DISPUTED):
            market.closeDispute(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_ClosedTwice(self, market, disputed, stranger):
        terms = disputed()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.closeDispute(terms.as_tuple(), {"from": stranger})
        with reverts("JobStateMismatch", terms.job_id, REFUNDED, DISPUTED):
            market.closeDispute(terms.as_tuple(), {"from": stranger})
