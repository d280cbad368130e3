"""The market-safety review's scenarios, each played as the attacker played it.

Every test here reproduces one scenario of the outside review on the contracts as they
were (hostage jobs, unjudged work, silent arbiters, prices switched under a match,
front-run takes, votes reaching running jobs, self-reported slashes) and asserts the rule
that now stops it, to the wei.
"""

import pytest
from brownie import chain

from agora.market.protocol import PUBLIC, TOKEN
from agora.market.terms import HourlyPrices, Resources
from conftest import PROVIDER_STAKE
from marketkit import (
    CAPACITY, COMPLETED, ENDPOINT, MATCHED, OPEN, PRICES, REFUNDED, RUNNING, SLASHED, collateral_for, job_of,
    plain, price_of, provider_of, quote, reverts, travel_past,
)

P = PUBLIC.initial
ZERO = "0x" + "0" * 40
FREE = HourlyPrices(0, 0, 0, 0)


def lapse_split(collateral: int, slash_bps: int = P.missed_deadline_slash_bps) -> dict:
    amount = collateral * slash_bps // 10_000
    buyer = amount * P.buyer_share_bps // 10_000
    reporter = amount * P.reporter_share_bps // 10_000
    return {"amount": amount, "buyer": buyer, "reporter": reporter, "treasury": amount - buyer - reporter}


@pytest.fixture
def sybil(accounts, token, registry, deployer):
    """A provider with zero prices and just enough stake for `rounds` minimum collaterals."""

    def make(index: int, extra_stake: int):
        account = accounts[index]
        token.transfer(account, P.min_provider_stake + extra_stake, {"from": deployer})
        token.approve(registry, 2**256 - 1, {"from": account})
        registry.register(CAPACITY.as_tuple(), FREE.as_tuple(), ENDPOINT, P.min_provider_stake + extra_stake,
                          {"from": account})
        return account

    return make


class TestHostageJobs:
    """Scenario 1: a job held Matched (a) or taken and abandoned (b) by a zero-price sybil."""

    def test_SybilWithOnlyTheMinimumStakeCannotBeMatched(self, market, posted, sybil, matchmaker):
        # The reproduction's sybil held exactly the minimum stake: every job now locks at least
        # minJobCollateral on top of it, whatever its price.
        attacker = sybil(11, 0)
        terms = posted()
        with reverts("InsufficientStake", attacker, P.min_provider_stake, P.min_provider_stake + P.min_job_collateral):
            market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})

    def test_RematchEveryWindowPaysTheBuyerEachRoundAndEnds(
        self, market, registry, params, posted, sybil, buyer, matchmaker, governance
    ):
        rounds = 3
        round_cost = lapse_split(P.min_job_collateral)["amount"]
        # Enough free stake for one match at a time and `rounds` slashes, then no more.
        attacker = sybil(11, P.min_job_collateral + rounds * round_cost - 1)
        terms = posted()
        market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})
        split = lapse_split(collateral_for(params, 1, 0))
        assert split["buyer"] > 0
        for n in range(1, rounds + 1):
            travel_past(job_of(market, terms.job_id)["deadline"])
            # The attacker's contract reclaims and re-matches in one transaction in the
            # reproduction; the order of the two calls is what matters here.
            tx = market.reclaim(terms.as_tuple(), {"from": matchmaker})
            assert plain(tx.events["JobSlashed"].values()) == (
                terms.job_id, attacker.address, matchmaker.address, split["amount"], split["buyer"],
                split["reporter"], split["treasury"], OPEN,
            )
            assert market.creditOf(buyer) == n * split["buyer"]
            assert provider_of(registry, attacker)["lapsedMatches"] == n
            if n < rounds:
                market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})
        # The attacker's stake can no longer back another match: the hostage round ends.
        free = provider_of(registry, attacker)["stake"]
        with reverts("InsufficientStake", attacker, free, P.min_provider_stake + P.min_job_collateral):
            market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})

    def test_BuyerLeavesAHostageJobAtOnce(self, market, registry, token, posted, sybil, buyer, matchmaker):
        attacker = sybil(11, P.min_job_collateral)
        terms = posted()
        market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})
        tx = market.cancel(terms.as_tuple(), {"from": buyer})
        assert plain(tx.events["JobCancelled"].values()) == (terms.job_id, buyer.address, terms.max_price)
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price
        view = provider_of(registry, attacker)
        assert (view["lockedCollateral"], view["used"][:4]) == (0, (0, 0, 0, 0))

    def test_DeclineReopensAtOnceAndCostsTheDecliner(
        self, market, registry, params, posted, sybil, buyer, registered, matchmaker, governance
    ):
        attacker = sybil(11, P.min_job_collateral * 2)
        terms = posted()
        market.matchJob(terms.as_tuple(), attacker, 0, {"from": matchmaker})
        tx = market.decline(terms.as_tuple(), {"from": attacker})
        split = lapse_split(P.min_job_collateral)
        # No third party reported the decline: the reporter's share is the buyer's too.
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, attacker.address, buyer.address, split["amount"], split["buyer"], split["reporter"],
            split["treasury"], OPEN,
        )
        assert plain(tx.events["JobDeclined"].values()) == (terms.job_id, attacker.address, OPEN)
        assert market.creditOf(buyer) == split["buyer"] + split["reporter"]
        # Open at once: an honest provider takes it in the next transaction.
        market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        assert job_of(market, terms.job_id)["state"] == RUNNING

    def test_TakenAndAbandonedJobCostsTheSybilEveryTime(
        self, market, registry, posted, sybil, buyer, keeper, matchmaker
    ):
        attacker = sybil(11, P.min_job_collateral)
        terms = posted()
        market.take(terms.as_tuple(), 0, {"from": attacker})
        # One minimum stake backs one job at a time, not any number of them.
        other = posted()
        free = P.min_provider_stake
        with reverts("InsufficientStake", attacker, free, P.min_provider_stake + P.min_job_collateral):
            market.take(other.as_tuple(), 0, {"from": attacker})
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        split = lapse_split(P.min_job_collateral)
        assert tx.events["JobSlashed"]["amount"] == split["amount"] > 0
        assert market.creditOf(buyer) == split["buyer"] > 0
        # Taking the re-opened job again needs fresh stake the sybil no longer has.
        free = P.min_provider_stake + P.min_job_collateral - split["amount"]
        with reverts("InsufficientStake", attacker, free, P.min_provider_stake + P.min_job_collateral):
            market.take(terms.as_tuple(), 0, {"from": attacker})


class TestUnjudgedWork:
    """Scenario 2: with no arbiter, a junk result could not be disputed and was paid."""

    def test_RevertIf_DeployedWithoutArbiter(self, ProtocolParams, deployer, governance):
        with reverts("ZeroArbiter"):
            ProtocolParams.deploy(governance, PUBLIC.mins.as_tuple(), PUBLIC.maxs.as_tuple(),
                                  PUBLIC.initial.as_tuple(), ZERO, {"from": deployer})

    def test_RevertIf_ArbiterSetToZero(self, params, governance, arbiter):
        with reverts("ZeroArbiter"):
            params.setArbiter(ZERO, {"from": governance})
        assert params.arbiter() == arbiter

    def test_JunkResultJustUnderTheCeilingIsDisputedAndRefunded(
        self, market, registry, token, posted, provider, buyer, arbiter, governance
    ):
        # The reproduction's provider priced 48.35 of a 50-token ceiling and submitted junk.
        greedy = HourlyPrices(48_350_000_000, 0, 0, 0)
        registry.register(CAPACITY.as_tuple(), greedy.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": provider})
        terms = posted(max_price=50 * TOKEN, resources=Resources(1_000, 1_024, 0), duration_seconds=3_600)
        price = quote(registry, provider, terms)
        assert price == 48_350_000_000 * 10**9
        market.take(terms.as_tuple(), price, {"from": provider})
        market.submitResult(terms.job_id, b"\xee" * 32, {"from": provider})
        token.approve(market, 2**256 - 1, {"from": buyer})
        market.dispute(terms.as_tuple(), {"from": buyer})
        market.resolveDispute(terms.as_tuple(), True, {"from": arbiter})
        assert job_of(market, terms.job_id)["state"] == SLASHED
        assert market.creditOf(provider) == 0
        collateral = price * P.collateral_ratio_bps // 10_000
        fault = lapse_split(collateral, P.fault_slash_bps)
        assert market.creditOf(buyer) == terms.max_price + P.dispute_bond + fault["buyer"] + fault["reporter"]


class TestSilentArbiter:
    """Scenario 3: a dispute the arbiter never answers no longer locks anything forever."""

    def test_AnyoneClosesAfterTheWindowByTheStatedDefault(
        self, market, registry, token, submitted, buyer, registered, keeper, arbiter
    ):
        terms = submitted()
        token.approve(market, 2**256 - 1, {"from": buyer})
        tx = market.dispute(terms.as_tuple(), {"from": buyer})
        deadline = tx.timestamp + P.arbitration_window_seconds
        assert tx.events["JobDisputed"]["arbitrationDeadline"] == deadline
        chain.sleep(365 * 86_400)  # the reproduction waited a year
        chain.mine()
        with reverts("ArbitrationWindowClosed", terms.job_id, deadline):
            market.resolveDispute(terms.as_tuple(), False, {"from": arbiter})
        provider_credit = market.creditOf(registered)
        tx = market.closeDispute(terms.as_tuple(), {"from": keeper})
        assert plain(tx.events["DisputeClosedByDefault"].values()) == (
            terms.job_id, registered.address, terms.max_price, P.dispute_bond
        )
        # Escrow back to the buyer, bond to the provider, collateral released unslashed:
        # neither side gains more than the bond from the arbiter's silence.
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price
        assert market.creditOf(registered) == provider_credit + P.dispute_bond
        assert market.disputeBondOf(terms.job_id) == 0
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["used"][:4], view["totalSlashed"]) == (
            PROVIDER_STAKE, 0, (0, 0, 0, 0), 0
        )


class TestPriceSwitchedUnderAMatch:
    """Scenario 4: a provider raised its listing while a match quoting the old one was pending."""

    def test_RevertIf_ListingChangedBeforeTheMatch(self, market, registry, posted, provider, matchmaker):
        cheap = HourlyPrices(1_000_000_000, 110_000_000, 0, 0)  # 1.11 tokens for this job
        dear = HourlyPrices(48_000_000_000, 840_000_000, 0, 0)  # 48.84 tokens
        registry.register(CAPACITY.as_tuple(), cheap.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": provider})
        terms = posted(max_price=50 * TOKEN, resources=Resources(1_000, 1_024, 0), duration_seconds=3_600)
        quoted = quote(registry, provider, terms)
        assert quoted == 111 * TOKEN // 100
        registry.updateListing(CAPACITY.as_tuple(), dear.as_tuple(), ENDPOINT, {"from": provider})
        with reverts("PriceChanged", terms.job_id, 4884 * TOKEN // 100, quoted):
            market.matchJob(terms.as_tuple(), provider, quoted, {"from": matchmaker})
        assert job_of(market, terms.job_id)["state"] == OPEN

    def test_RevertIf_ListingChangedBeforeATake(self, market, registry, posted, registered):
        terms = posted()
        quoted = price_of(terms)
        doubled = HourlyPrices(2 * PRICES.cpu_core_gwei, PRICES.memory_gib_gwei, PRICES.gpu_gwei, PRICES.storage_gib_gwei)
        registry.updateListing(CAPACITY.as_tuple(), doubled.as_tuple(), ENDPOINT, {"from": registered})
        with reverts("PriceChanged", terms.job_id, quote(registry, registered, terms), quoted):
            market.take(terms.as_tuple(), quoted, {"from": registered})

    def test_MatchmakerEarnsMoreForTheCheaperProvider(
        self, market, registry, posted, provider, other_provider, matchmaker, buyer
    ):
        cheap = HourlyPrices(1_000_000_000, 0, 0, 0)
        dear = HourlyPrices(40_000_000_000, 0, 0, 0)
        registry.register(CAPACITY.as_tuple(), cheap.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": provider})
        registry.register(CAPACITY.as_tuple(), dear.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        fees = {}
        for who in (provider, other_provider):
            terms = posted(max_price=50 * TOKEN, resources=Resources(1_000, 1_024, 0), duration_seconds=3_600)
            price = quote(registry, who, terms)
            market.matchJob(terms.as_tuple(), who, price, {"from": matchmaker})
            market.accept(terms.job_id, {"from": who})
            market.submitResult(terms.job_id, b"\x11" * 32, {"from": who})
            tx = market.confirm(terms.as_tuple(), {"from": buyer})
            fees[who] = tx.events["JobCompleted"]["matchmakerFee"]
            saving = terms.max_price - price
            assert fees[who] == saving * P.matchmaker_fee_bps // 10_000
            assert tx.events["JobCompleted"]["buyerRefund"] == saving - fees[who]
            assert tx.events["JobCompleted"]["providerPayout"] == price - price * P.protocol_fee_bps // 10_000
        assert fees[provider] > fees[other_provider]


class TestTakeFrontRun:
    """Scenario 5: a bot front-ran a provider's take with a match naming that provider."""

    def test_TakeWinsOverAMatchNamingTheTaker(self, market, posted, registered, matchmaker, buyer):
        terms = posted()
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})  # the bot
        tx = market.take(terms.as_tuple(), price_of(terms), {"from": registered})  # the provider's own take
        job = job_of(market, terms.job_id)
        assert (job["state"], job["provider"], job["matchmaker"]) == (RUNNING, registered.address, ZERO)
        assert tx.events["JobTaken"]["deadline"] == tx.timestamp + terms.duration_seconds
        market.submitResult(terms.job_id, b"\x11" * 32, {"from": registered})
        done = market.confirm(terms.as_tuple(), {"from": buyer})
        assert done.events["JobCompleted"]["matchmakerFee"] == 0
        assert market.creditOf(matchmaker) == 0
        price = price_of(terms)
        assert market.creditOf(registered) == price - price * P.protocol_fee_bps // 10_000
        assert market.creditOf(buyer) == terms.max_price - price

    def test_RevertIf_MatchNamesAnotherProvider(self, market, registry, posted, registered, other_provider, matchmaker):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = posted()
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.take(terms.as_tuple(), price_of(terms), {"from": other_provider})


class TestTermsHoldUntilSettlement:
    """Scenario 6: a vote after a take changed the running job's slash from 50% to 100%."""

    def test_VoteDoesNotReachARunningJob(self, market, params, posted, registered, buyer, keeper, governance):
        terms = posted()
        market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        tx = params.setMissedDeadlineSlashBps(10_000, {"from": governance})
        assert plain(tx.events["ParamsVersionSet"].values()) == (1, 2)
        params.setBuyerShareBps(2_000, {"from": governance})
        params.setChallengeWindowSeconds(2 * 86_400, {"from": governance})
        assert job_of(market, terms.job_id)["paramsVersion"] == 1
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": keeper})
        held = lapse_split(P.min_job_collateral)  # version 1: 50% slash, 80% to the buyer
        assert tx.events["JobSlashed"]["amount"] == held["amount"]
        assert market.creditOf(buyer) == held["buyer"]
        # A job matched after the vote settles under the new version.
        later = posted()
        market.take(later.as_tuple(), price_of(later), {"from": registered})
        assert job_of(market, later.job_id)["paramsVersion"] == 4

    def test_ChallengeWindowOfTheMatchHoldsAfterAVote(self, market, params, submitted, keeper, governance):
        terms = submitted()
        submitted_at = job_of(market, terms.job_id)["deadline"]
        params.setChallengeWindowSeconds(5 * 86_400, {"from": governance})
        travel_past(submitted_at + P.challenge_window_seconds)
        tx = market.finalize([terms.as_tuple()], {"from": keeper})
        assert tx.return_value == 1
        assert job_of(market, terms.job_id)["state"] == COMPLETED


class TestSelfReport:
    """Scenario 8: a provider reporting its own missed deadline earned the reporter's share."""

    def test_ProviderReportingItselfEarnsNothing(self, market, running, registered, buyer, governance):
        terms = running()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.slashMissedDeadline(terms.as_tuple(), {"from": registered})
        split = lapse_split(P.min_job_collateral)
        assert tx.events["JobSlashed"]["reporter"] == buyer.address
        assert market.creditOf(registered) == 0
        assert market.creditOf(buyer) == split["buyer"] + split["reporter"]
        assert market.creditOf(governance) == split["treasury"]

    def test_ProviderReclaimingItsOwnLapseEarnsNothing(self, market, matched, registered, buyer):
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.reclaim(terms.as_tuple(), {"from": registered})
        split = lapse_split(P.min_job_collateral)
        assert market.creditOf(registered) == 0
        assert market.creditOf(buyer) == split["buyer"] + split["reporter"]
