"""JobMarket: matching (every on-chain check), direct take, accept, decline and reclaim."""

import pytest
from brownie import chain

from agora.market.protocol import PUBLIC, TOKEN
from agora.market.terms import HourlyPrices, Resources, label
from conftest import PROVIDER_STAKE
from marketkit import (
    A100, CAPACITY, COMPLETED, ENDPOINT, EU, H100, MATCHED, NONE, OPEN, PRICES, REFUNDED, RUNNING, SUBMITTED, US,
    job_of, next_block_at, plain, price_of, provider_of, reverts, travel_past,
)

ZERO = "0x" + "0" * 40
ANY = label("")
P = PUBLIC.initial
ACCEPT_WINDOW = P.accept_window_seconds
COLLATERAL_BPS = P.collateral_ratio_bps
MIN_COLLATERAL = P.min_job_collateral
MIN_STAKE = P.min_provider_stake
VERSION = 1
LAPSED_MATCH = 2  # IProviderRegistry.SlashReason.LapsedMatch
# A job whose price times the collateral ratio is above the minimum collateral:
# 8.1 tokens at the standard listing, so 12.15 tokens of collateral.
BIG = {"resources": Resources(8_000, 1_024, 0), "duration_seconds": 36_000}


def collateral_of(terms):
    """max(price * ratio, minimum): the collateral of `terms` under the starting parameters."""
    return max(price_of(terms) * COLLATERAL_BPS // 10_000, MIN_COLLATERAL)


def lapse_slash_of(terms):
    """The slash of a declined or lapsed match of `terms` and its split, to the wei."""
    amount = collateral_of(terms) * P.missed_deadline_slash_bps // 10_000
    buyer = amount * P.buyer_share_bps // 10_000
    reporter = amount * P.reporter_share_bps // 10_000
    return {"amount": amount, "buyer": buyer, "reporter": reporter, "treasury": amount - buyer - reporter}


def reopened(terms):
    return {
        "provider": ZERO, "state": OPEN, "deadline": terms.expires_at, "paramsVersion": 0, "durationSeconds": 0,
        "matchmaker": ZERO, "price": 0,
    }


class TestMatchJob:
    def test_MatchesReservesCapacityAndLocksCollateral(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        tx = market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        price, collateral = price_of(terms), collateral_of(terms)
        accept_deadline = tx.timestamp + ACCEPT_WINDOW
        assert job_of(market, terms.job_id) == {
            "provider": registered.address,
            "state": MATCHED,
            "deadline": accept_deadline,
            "paramsVersion": VERSION,
            "durationSeconds": terms.duration_seconds,
            "matchmaker": matchmaker.address,
            "price": price,
        }
        assert plain(tx.events["JobMatched"].values()) == (
            terms.job_id, registered.address, matchmaker.address, price, collateral, accept_deadline, VERSION
        )
        view = provider_of(registry, registered)
        assert view["used"][:4] == (2_000, 4_096, 10, 0)
        assert view["lockedCollateral"] == collateral

    def test_MinimumCollateralAppliesWhenPriceTimesRatioIsBelowIt(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        assert price_of(terms) * COLLATERAL_BPS // 10_000 < MIN_COLLATERAL
        tx = market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert tx.events["JobMatched"]["collateral"] == MIN_COLLATERAL
        assert provider_of(registry, registered)["lockedCollateral"] == MIN_COLLATERAL

    def test_CollateralIsPriceTimesRatioWhenAboveTheMinimum(self, market, registry, posted, registered, matchmaker):
        terms = posted(**BIG)
        collateral = price_of(terms) * COLLATERAL_BPS // 10_000
        assert collateral == 12_150_000_000_000_000_000 > MIN_COLLATERAL
        tx = market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert tx.events["JobMatched"]["collateral"] == collateral
        assert provider_of(registry, registered)["lockedCollateral"] == collateral

    def test_CollateralFollowsTheVersionInForceAtTheMatch(
        self, market, registry, params, governance, posted, registered, matchmaker
    ):
        terms = posted()
        params.setMinJobCollateral(25 * TOKEN, {"from": governance})
        tx = market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert (tx.events["JobMatched"]["collateral"], tx.events["JobMatched"]["paramsVersion"]) == (25 * TOKEN, 2)
        assert job_of(market, terms.job_id)["paramsVersion"] == 2
        assert provider_of(registry, registered)["lockedCollateral"] == 25 * TOKEN

    def test_RevertIf_ExpectedPriceDiffers(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        price = price_of(terms)
        for expected in (price - 1, price + 1, 0):
            with reverts("PriceChanged", terms.job_id, price, expected):
                market.matchJob(terms.as_tuple(), registered, expected, {"from": matchmaker})
        assert job_of(market, terms.job_id)["state"] == OPEN
        assert provider_of(registry, registered)["lockedCollateral"] == 0

    def test_RevertIf_ListingChangedSinceTheQuote(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        quoted = price_of(terms)
        dearer = HourlyPrices(2 * PRICES.cpu_core_gwei, PRICES.memory_gib_gwei, PRICES.gpu_gwei, PRICES.storage_gib_gwei)
        registry.updateListing(CAPACITY.as_tuple(), dearer.as_tuple(), ENDPOINT, {"from": registered})
        now = int(registry.quote(registered, terms.resources.as_tuple(), terms.duration_seconds))
        assert now == quoted + 2 * 10**8 * 10**9  # two more cores' worth for the hour
        with reverts("PriceChanged", terms.job_id, now, quoted):
            market.matchJob(terms.as_tuple(), registered, quoted, {"from": matchmaker})

    def test_RevertIf_NoSuchJob(self, market, terms_for, registered, matchmaker):
        terms = terms_for()
        with reverts("JobStateMismatch", terms.job_id, NONE, OPEN):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_RevertIf_AlreadyMatched(self, market, matched, registered, matchmaker):
        terms = matched()
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_RevertIf_Expired(self, market, posted, registered, matchmaker):
        terms = posted()
        travel_past(terms.expires_at - 1)
        with reverts("JobPastExpiry", terms.job_id, terms.expires_at):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_RevertIf_ProviderNotRegistered(self, market, posted, stranger, matchmaker):
        terms = posted()
        with reverts("ProviderStatusMismatch", stranger, 0, 1):
            market.matchJob(terms.as_tuple(), stranger, price_of(terms), {"from": matchmaker})

    def test_RevertIf_ProviderPaused(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        registry.pause({"from": registered})
        with reverts("ProviderStatusMismatch", registered, 2, 1):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_RevertIf_RegionDiffers(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, ANY, US))
        with reverts("RegionMismatch", registered, EU, US):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_MatchesSameRegion(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, ANY, EU))
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert job_of(market, terms.job_id)["state"] == MATCHED

    def test_RevertIf_GpuModelDiffers(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 1, H100, ANY))
        with reverts("GpuModelMismatch", registered, A100, H100):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    @pytest.mark.parametrize("model", [A100, ANY], ids=["same-model", "any-model"])
    def test_MatchesGpuJob(self, market, registry, posted, registered, matchmaker, model):
        terms = posted(resources=Resources(1_000, 1_024, 0, 2, model, ANY))
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert provider_of(registry, registered)["used"][3] == 2

    def test_GpuModelIgnoredWithoutGpus(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, H100, ANY))
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert job_of(market, terms.job_id)["state"] == MATCHED

    @pytest.mark.parametrize(
        "resources,resource,free,needed",
        [
            (Resources(16_001, 1, 0), 0, 16_000, 16_001),
            (Resources(1, 65_537, 0), 1, 65_536, 65_537),
            (Resources(1, 1, 501), 2, 500, 501),
            (Resources(1, 1, 0, 3), 3, 2, 3),
        ],
        ids=["cpu", "memory", "storage", "gpu"],
    )
    def test_RevertIf_NotEnoughCapacity(self, market, posted, registered, matchmaker, resources, resource, free, needed):
        terms = posted(resources=resources, max_price=10_000 * TOKEN)
        with reverts("InsufficientCapacity", registered, resource, free, needed):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_RevertIf_CapacityTakenByEarlierMatch(self, market, posted, registered, matchmaker):
        first = posted(resources=Resources(10_000, 1_024, 0))
        market.matchJob(first.as_tuple(), registered, price_of(first), {"from": matchmaker})
        second = posted(resources=Resources(7_000, 1_024, 0))
        with reverts("InsufficientCapacity", registered, 0, 6_000, 7_000):
            market.matchJob(second.as_tuple(), registered, price_of(second), {"from": matchmaker})

    def test_RevertIf_PriceAboveCeiling(self, market, posted, registered, matchmaker):
        terms = posted(max_price=10**17)
        with reverts("PriceAboveCeiling", terms.job_id, price_of(terms), 10**17):
            market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})

    def test_MatchesAtExactlyTheCeiling(self, market, terms_for, posted, registered, matchmaker):
        terms = posted(max_price=price_of(terms_for()))
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        assert job_of(market, terms.job_id)["price"] == terms.max_price

    def test_RevertIf_StakeBelowMinimumPlusCollateral(self, market, registry, posted, provider, matchmaker):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, MIN_STAKE, {"from": provider})
        terms = posted()
        with reverts("InsufficientStake", provider, MIN_STAKE, MIN_STAKE + collateral_of(terms)):
            market.matchJob(terms.as_tuple(), provider, price_of(terms), {"from": matchmaker})

    def test_RevertIf_LockedCollateralLeavesTooLittle(self, market, registry, posted, provider, matchmaker):
        big = Resources(8_000, 1_024, 0)
        stake = MIN_STAKE + 12 * TOKEN
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, stake, {"from": provider})
        first = posted(resources=big, duration_seconds=36_000)  # 8.1 tokens: collateral 12.15 > 12 free
        assert collateral_of(first) == 12_150_000_000_000_000_000
        with reverts("InsufficientStake", provider, stake, MIN_STAKE + collateral_of(first)):
            market.matchJob(first.as_tuple(), provider, price_of(first), {"from": matchmaker})
        small = posted(resources=big, duration_seconds=3_600)  # 0.81 tokens: the minimum collateral, 10
        market.matchJob(small.as_tuple(), provider, price_of(small), {"from": matchmaker})
        assert collateral_of(small) == MIN_COLLATERAL
        second = posted(resources=big, duration_seconds=6_000)  # 1.35 tokens: collateral 10 > 12 - 10
        free = stake - MIN_COLLATERAL
        with reverts("InsufficientStake", provider, free, MIN_STAKE + MIN_COLLATERAL):
            market.matchJob(second.as_tuple(), provider, price_of(second), {"from": matchmaker})


class TestTake:
    def test_ProviderTakesOpenJob(self, market, registry, posted, registered):
        terms = posted()
        tx = market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        deadline = tx.timestamp + terms.duration_seconds
        assert job_of(market, terms.job_id) == {
            "provider": registered.address, "state": RUNNING, "deadline": deadline, "paramsVersion": VERSION,
            "durationSeconds": terms.duration_seconds, "matchmaker": ZERO, "price": price_of(terms),
        }
        assert plain(tx.events["JobTaken"].values()) == (
            terms.job_id, registered.address, price_of(terms), collateral_of(terms), deadline, VERSION
        )
        assert provider_of(registry, registered)["lockedCollateral"] == collateral_of(terms)

    def test_RevertIf_ExpectedPriceDiffers(self, market, posted, registered):
        terms = posted()
        price = price_of(terms)
        for expected in (price - 1, price + 1):
            with reverts("PriceChanged", terms.job_id, price, expected):
                market.take(terms.as_tuple(), expected, {"from": registered})
        assert job_of(market, terms.job_id)["state"] == OPEN

    def test_RevertIf_CallerNotProvider(self, market, posted, stranger):
        terms = posted()
        with reverts("ProviderStatusMismatch", stranger, 0, 1):
            market.take(terms.as_tuple(), price_of(terms), {"from": stranger})

    def test_RevertIf_MatchedToAnotherProvider(self, market, registry, matched, other_provider):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = matched()
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.take(terms.as_tuple(), price_of(terms), {"from": other_provider})

    @pytest.mark.parametrize("state", [RUNNING, SUBMITTED])
    def test_RevertIf_PastMatched(self, market, running, submitted, registered, state):
        terms = running() if state == RUNNING else submitted()
        with reverts("JobStateMismatch", terms.job_id, state, OPEN):
            market.take(terms.as_tuple(), price_of(terms), {"from": registered})

    def test_RevertIf_Expired(self, market, posted, registered):
        terms = posted()
        travel_past(terms.expires_at - 1)
        with reverts("JobPastExpiry", terms.job_id, terms.expires_at):
            market.take(terms.as_tuple(), price_of(terms), {"from": registered})

    def test_RevertIf_PriceAboveCeiling(self, market, posted, registered):
        terms = posted(max_price=1)
        with reverts("PriceAboveCeiling", terms.job_id, price_of(terms), 1):
            market.take(terms.as_tuple(), price_of(terms), {"from": registered})


class TestTakeOfAMatchNamingTheTaker:
    def test_TakeTurnsTheMatchIntoARunningJobWithoutMatchmaker(self, market, registry, matched, registered):
        terms = matched()
        tx = market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        deadline = tx.timestamp + terms.duration_seconds
        assert job_of(market, terms.job_id) == {
            "provider": registered.address, "state": RUNNING, "deadline": deadline, "paramsVersion": VERSION,
            "durationSeconds": terms.duration_seconds, "matchmaker": ZERO, "price": price_of(terms),
        }
        assert plain(tx.events["JobTaken"].values()) == (
            terms.job_id, registered.address, price_of(terms), collateral_of(terms), deadline, VERSION
        )
        # The capacity and collateral of the match carry over: nothing is locked twice.
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"]) == ((2_000, 4_096, 10, 0), collateral_of(terms))

    def test_MatchmakerEarnsNothingOnceTaken(self, market, matched, registered, buyer, matchmaker):
        terms = matched()
        market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        market.submitResult(terms.job_id, b"\x11" * 32, {"from": registered})
        tx = market.confirm(terms.as_tuple(), {"from": buyer})
        price = price_of(terms)
        protocol_fee = price * P.protocol_fee_bps // 10_000
        assert plain(tx.events["JobCompleted"].values()) == (
            terms.job_id, registered.address, price - protocol_fee, 0, protocol_fee, terms.max_price - price
        )
        assert (market.creditOf(matchmaker), market.creditOf(buyer)) == (0, terms.max_price - price)

    def test_KeepsTheMatchedPriceAndVersion(self, market, registry, params, governance, matched, registered):
        terms = matched()
        matched_collateral = collateral_of(terms)
        params.setMinJobCollateral(20 * TOKEN, {"from": governance})
        dearer = HourlyPrices(2 * PRICES.cpu_core_gwei, PRICES.memory_gib_gwei, PRICES.gpu_gwei, PRICES.storage_gib_gwei)
        registry.updateListing(CAPACITY.as_tuple(), dearer.as_tuple(), ENDPOINT, {"from": registered})
        tx = market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        assert (tx.events["JobTaken"]["price"], tx.events["JobTaken"]["collateral"]) == (price_of(terms), matched_collateral)
        assert tx.events["JobTaken"]["paramsVersion"] == VERSION
        assert job_of(market, terms.job_id)["paramsVersion"] == VERSION

    def test_RevertIf_ExpectedPriceDiffers(self, market, matched, registered):
        terms = matched()
        price = price_of(terms)
        with reverts("PriceChanged", terms.job_id, price, price + 1):
            market.take(terms.as_tuple(), price + 1, {"from": registered})
        assert job_of(market, terms.job_id)["state"] == MATCHED

    def test_TakesAtTheLastSecondOfTheAcceptWindow(self, market, matched, registered):
        terms = matched()
        accept_deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(accept_deadline)
        tx = market.take(terms.as_tuple(), price_of(terms), {"from": registered})
        assert tx.timestamp == accept_deadline
        assert job_of(market, terms.job_id)["deadline"] == accept_deadline + terms.duration_seconds

    def test_RevertIf_AcceptWindowClosed(self, market, matched, registered):
        terms = matched()
        accept_deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(accept_deadline)
        with reverts("AcceptWindowClosed", terms.job_id, accept_deadline):
            market.take(terms.as_tuple(), price_of(terms), {"from": registered})


class TestAccept:
    def test_AcceptsAtTheLastSecond(self, market, matched, registered):
        terms = matched()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        tx = market.accept(terms.job_id, {"from": registered})
        assert tx.timestamp == deadline
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"]) == (RUNNING, deadline + terms.duration_seconds)
        assert plain(tx.events["JobAccepted"].values()) == (terms.job_id, deadline + terms.duration_seconds)

    def test_RevertIf_NotTheMatchedProvider(self, market, matched, registered, other_provider):
        terms = matched()
        with reverts("NotJobProvider", terms.job_id, other_provider, registered):
            market.accept(terms.job_id, {"from": other_provider})

    def test_RevertIf_AcceptWindowClosed(self, market, matched, registered):
        terms = matched()
        deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(deadline)
        with reverts("AcceptWindowClosed", terms.job_id, deadline):
            market.accept(terms.job_id, {"from": registered})

    def test_RevertIf_NotMatched(self, market, posted, running, registered):
        terms = posted()
        with reverts("JobStateMismatch", terms.job_id, OPEN, MATCHED):
            market.accept(terms.job_id, {"from": registered})
        terms = running()
        with reverts("JobStateMismatch", terms.job_id, RUNNING, MATCHED):
            market.accept(terms.job_id, {"from": registered})


class TestDecline:
    def test_DeclineSlashesPaysTheBuyerAndReopens(
        self, market, registry, token, matched, registered, buyer, matchmaker, governance
    ):
        terms = matched()
        market_before = token.balanceOf(market)
        tx = market.decline(terms.as_tuple(), {"from": registered})
        s = lapse_slash_of(terms)
        assert s == {
            "amount": 5 * TOKEN, "buyer": 4 * TOKEN, "reporter": TOKEN // 4, "treasury": 3 * TOKEN // 4,
        }
        assert plain(tx.events["JobDeclined"].values()) == (terms.job_id, registered.address, OPEN)
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, buyer.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], OPEN
        )
        assert plain(tx.events["ProviderSlashed"].values()) == (
            registered.address, LAPSED_MATCH, s["amount"], PROVIDER_STAKE - s["amount"]
        )
        # The buyer takes the reporter's share too; the provider and the matchmaker nothing.
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]
        assert market.creditOf(governance) == s["treasury"]
        assert (market.creditOf(registered), market.creditOf(matchmaker)) == (0, 0)
        assert token.balanceOf(market) == market_before + s["amount"]
        assert job_of(market, terms.job_id) == reopened(terms)
        view = provider_of(registry, registered)
        assert (view["stake"], view["lockedCollateral"], view["used"][:4]) == (
            PROVIDER_STAKE - s["amount"], 0, (0, 0, 0, 0)
        )
        assert (view["lapsedMatches"], view["missedDeadlines"], view["disputesLost"], view["totalSlashed"]) == (
            1, 0, 0, s["amount"]
        )

    def test_EachDeclineCountsALapsedMatch(self, market, registry, matched, registered, matchmaker):
        terms = matched()
        market.decline(terms.as_tuple(), {"from": registered})
        market.matchJob(terms.as_tuple(), registered, price_of(terms), {"from": matchmaker})
        market.decline(terms.as_tuple(), {"from": registered})
        view = provider_of(registry, registered)
        assert (view["lapsedMatches"], view["totalSlashed"]) == (2, 2 * lapse_slash_of(terms)["amount"])

    def test_RefundsIfExpired(self, market, matched, registered, buyer):
        terms = matched(expires_at=chain.time() + 1_800)
        travel_past(terms.expires_at)
        tx = market.decline(terms.as_tuple(), {"from": registered})
        s = lapse_slash_of(terms)
        assert plain(tx.events["JobDeclined"].values()) == (terms.job_id, registered.address, REFUNDED)
        assert tx.events["JobSlashed"]["newState"] == REFUNDED
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price + s["buyer"] + s["reporter"]

    def test_RevertIf_NotJobProvider(self, market, matched, registered, other_provider, buyer):
        terms = matched()
        for caller in (other_provider, buyer):
            with reverts("NotJobProvider", terms.job_id, caller, registered):
                market.decline(terms.as_tuple(), {"from": caller})

    def test_RevertIf_NotMatched(self, market, posted, running, submitted, registered):
        for terms, state in ((posted(), OPEN), (running(), RUNNING), (submitted(), SUBMITTED)):
            with reverts("JobStateMismatch", terms.job_id, state, MATCHED):
                market.decline(terms.as_tuple(), {"from": registered})

    def test_RevertIf_NoSuchJob(self, market, terms_for, registered):
        terms = terms_for()
        with reverts("JobStateMismatch", terms.job_id, NONE, MATCHED):
            market.decline(terms.as_tuple(), {"from": registered})


class TestReclaim:
    def test_ReopensLapsedMatchSlashesAndReleasesProvider(
        self, market, registry, matched, registered, buyer, stranger, governance
    ):
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.reclaim(terms.as_tuple(), {"from": stranger})
        s = lapse_slash_of(terms)
        assert job_of(market, terms.job_id) == reopened(terms)
        assert plain(tx.events["JobReclaimed"].values()) == (terms.job_id, registered.address, OPEN)
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, stranger.address, s["amount"], s["buyer"], s["reporter"], s["treasury"],
            OPEN,
        )
        assert plain(tx.events["ProviderSlashed"].values()) == (
            registered.address, LAPSED_MATCH, s["amount"], PROVIDER_STAKE - s["amount"]
        )
        assert (market.creditOf(buyer), market.creditOf(stranger), market.creditOf(governance)) == (
            s["buyer"], s["reporter"], s["treasury"]
        )
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"], view["stake"]) == (
            (0, 0, 0, 0), 0, PROVIDER_STAKE - s["amount"]
        )
        assert (view["lapsedMatches"], view["missedDeadlines"], view["totalSlashed"]) == (1, 0, s["amount"])

    def test_ProviderReclaimingItsOwnMatchEarnsNothing(self, market, matched, registered, buyer, governance):
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.reclaim(terms.as_tuple(), {"from": registered})
        s = lapse_slash_of(terms)
        assert plain(tx.events["JobSlashed"].values()) == (
            terms.job_id, registered.address, buyer.address, s["amount"], s["buyer"], s["reporter"], s["treasury"], OPEN
        )
        assert market.creditOf(registered) == 0
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]
        assert market.creditOf(governance) == s["treasury"]

    def test_BuyerReclaimingTakesBothShares(self, market, matched, buyer):
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.reclaim(terms.as_tuple(), {"from": buyer})
        s = lapse_slash_of(terms)
        assert market.creditOf(buyer) == s["buyer"] + s["reporter"]

    def test_SlashUsesTheVersionOfTheMatch(self, market, params, governance, matched, buyer, stranger):
        terms = matched()
        params.setMissedDeadlineSlashBps(10_000, {"from": governance})
        params.setMinJobCollateral(100 * TOKEN, {"from": governance})
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.reclaim(terms.as_tuple(), {"from": stranger})
        assert tx.events["JobSlashed"]["amount"] == lapse_slash_of(terms)["amount"] == 5 * TOKEN

    def test_ReclaimedJobCanBeMatchedAgain(self, market, registry, matched, other_provider, matchmaker, stranger):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.reclaim(terms.as_tuple(), {"from": stranger})
        market.matchJob(terms.as_tuple(), other_provider, price_of(terms), {"from": matchmaker})
        assert job_of(market, terms.job_id)["provider"] == other_provider

    def test_RefundsIfExpired(self, market, matched, buyer, stranger):
        terms = matched()
        travel_past(terms.expires_at)
        tx = market.reclaim(terms.as_tuple(), {"from": stranger})
        s = lapse_slash_of(terms)
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price + s["buyer"]
        assert market.creditOf(stranger) == s["reporter"]
        assert tx.events["JobReclaimed"]["newState"] == REFUNDED
        assert tx.events["JobSlashed"]["newState"] == REFUNDED

    def test_RevertIf_AcceptWindowOpen(self, market, matched, stranger):
        terms = matched()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        with reverts("AcceptWindowOpen", terms.job_id, deadline):
            market.reclaim(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NotMatched(self, market, running, stranger):
        terms = running()
        chain.sleep(ACCEPT_WINDOW + 1)
        with reverts("JobStateMismatch", terms.job_id, RUNNING, MATCHED):
            market.reclaim(terms.as_tuple(), {"from": stranger})
