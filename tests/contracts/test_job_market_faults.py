"""JobMarket: missed-deadline slashing with failover, disputes and the arbiter's rulings."""

import pytest
from brownie import chain

from agora.chain.protocol import PUBLIC
from agora.chain.terms import quote
from conftest import PROVIDER_STAKE
from marketkit import (
    CAPACITY, COMPLETED, DISPUTED, ENDPOINT, MATCHED, OPEN, PRICES, REFUNDED, RUNNING, SLASHED, SUBMITTED,
    job_of, next_block_at, plain, provider_of, reverts, travel_past,
)

ZERO = "0x" + "0" * 40
P = PUBLIC.initial


def price_of(terms):
    return quote(terms.resources, terms.duration_seconds, PRICES)


def slash_of(terms, slash_bps):
    collateral = price_of(terms) * P.collateral_ratio_bps // 10_000
    amount = collateral * slash_bps // 10_000
    buyer = amount * P.buyer_share_bps // 10_000
    reporter = amount * P.reporter_share_bps // 10_000
    return {"collateral": collateral, "amount": amount, "buyer": buyer, "reporter": reporter,
            "treasury": amount - buyer - reporter}


class TestSlashMissedDeadline:
    def test_SlashesCreditsAndPutsTheJobBackOnTheMarket(
        self, market, registry, token, running, buyer, registered, keeper, governance
    ):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        registry_before, market_before = token.balanceOf(registry), token.balanceOf(market)
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert s["amount"] > 0
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, keeper.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], OPEN
        )
        assert plain(tx.events["ProviderSlashed"].values()) == (registered.address, 0, s["amount"], PROVIDER_STAKE - s["amount"])
        assert (market.creditOf(buyer), market.creditOf(keeper), market.creditOf(governance)) == (
            s["buyer"], s["reporter"], s["treasury"]
        )
        assert token.balanceOf(registry) == registry_before - s["amount"]
        assert token.balanceOf(market) == market_before + s["amount"]
        job = job_of(market, terms.job_id)
        assert (job["state"], job["provider"], job["deadline"], job["price"]) == (OPEN, ZERO, terms.expires_at, 0)
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["used"][:4]) == (
            PROVIDER_STAKE - s["amount"], 0, (0, 0, 0, 0)
        )
        assert (view["missedDeadlines"], view["totalSlashed"], view["completedJobs"]) == (1, s["amount"], 0)

    def test_FailoverJobCompletesWithAnotherProvider(
        self, market, registry, running, buyer, other_provider, matchmaker, keeper
    ):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        market.matchJob(terms.as_tuple(), other_provider, {"from": matchmaker})
        market.accept(terms.as_tuple(), {"from": other_provider})
        market.submitResult(terms.job_id, b"\x22" * 32, {"from": other_provider})
        market.confirm(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        assert market.creditOf(buyer) == terms.max_price - price_of(terms) + slash_of(terms, P.missed_deadline_slash_bps)["buyer"]

    def test_RefundsWhenTheJobHasExpired(self, market, running, buyer, keeper):
        terms = running(expires_at=chain.time() + 1_800)
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert tx.events["JobSlashed"]["newState"] == REFUNDED
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price + s["buyer"]

    def test_BuyerAsReporterTakesBothShares(self, market, running, buyer):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.slashMissedDeadline(terms.as_tuple(), {"from": buyer})
        s = slash_of(terms, P.missed_deadline_slash_bps)
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]

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

    def test_ZeroSlashRateStillReopens(self, market, params, governance, running, keeper, registry, registered):
        params.setMissedDeadlineSlashBps(0, {"from": governance})
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        assert job_of(market, terms.job_id)["state"] == OPEN
        assert provider_of(registry, registered)["stake"] == PROVIDER_STAKE

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
        assert job_of(market, terms.job_id)["state"] == DISPUTED
        assert market.disputeBondOf(terms.job_id) == P.dispute_bond
        assert token.balanceOf(buyer) == before - P.dispute_bond
        assert plain(tx.events["JobDisputed"].values()) == (terms.job_id, buyer.address, P.dispute_bond)

    def test_DisputesAtTheEndOfTheWindow(self, market, submitted, buyer):
        terms = submitted()
        next_block_at(job_of(market, terms.job_id)["deadline"])
        market.dispute(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == DISPUTED

    def test_RevertIf_WindowClosed(self, market, submitted, buyer):
        terms = submitted()
        deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(deadline)
        with reverts("ChallengeWindowClosed", terms.job_id, deadline):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_NotBuyer(self, market, submitted, buyer, stranger):
        terms = submitted()
        with reverts("NotJobBuyer", terms.job_id, stranger, buyer):
            market.dispute(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NoArbiter(self, market, params, governance, submitted, buyer):
        params.setArbiter(ZERO, {"from": governance})
        terms = submitted()
        with reverts("NoArbiter"):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_NotSubmitted(self, market, running, buyer):
        terms = running()
        with reverts("JobStateMismatch", terms.job_id, RUNNING, SUBMITTED):
            market.dispute(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_BondNotAffordable(self, market, token, submitted, buyer, stranger):
        terms = submitted()
        token.transfer(stranger, token.balanceOf(buyer) - P.dispute_bond + 1, {"from": buyer})
        with reverts("ERC20InsufficientBalance", buyer, P.dispute_bond - 1, P.dispute_bond):
            market.dispute(terms.as_tuple(), {"from": buyer})


class TestResolveDispute:
    @pytest.fixture
    def disputed(self, market, submitted, buyer):
        def dispute(**changes):
            terms = submitted(**changes)
            market.dispute(terms.as_tuple(), {"from": buyer})
            return terms

        return dispute

    def test_ProviderNotAtFaultIsPaidAndKeepsTheBond(self, market, disputed, arbiter, registered, buyer, matchmaker, governance):
        terms = disputed()
        tx = market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})
        price = price_of(terms)
        protocol = price * P.protocol_fee_bps // 10_000
        mm = price * P.matchmaker_fee_bps // 10_000
        assert plain(tx.events["DisputeResolved"].values()) == (terms.job_id, arbiter.address, False)
        assert job_of(market, terms.job_id)["state"] == COMPLETED
        assert market.creditOf(registered) == price - protocol - mm + P.dispute_bond
        assert market.creditOf(buyer) == terms.max_price - price
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
