"""JobMarket: matching (every on-chain check), direct take, accept and reclaim."""

import pytest
from brownie import chain

from agora.chain.protocol import PUBLIC, TOKEN
from agora.chain.terms import Resources, label, quote
from conftest import PROVIDER_STAKE
from marketkit import (
    A100, CAPACITY, ENDPOINT, EU, H100, MATCHED, NONE, OPEN, PRICES, REFUNDED, RUNNING, US,
    job_of, next_block_at, plain, provider_of, reverts, travel_past,
)

ZERO = "0x" + "0" * 40
ANY = label("")
ACCEPT_WINDOW = PUBLIC.initial.accept_window_seconds
COLLATERAL_BPS = PUBLIC.initial.collateral_ratio_bps
MIN_STAKE = PUBLIC.initial.min_provider_stake


def price_of(terms):
    return quote(terms.resources, terms.duration_seconds, PRICES)


def collateral_of(terms):
    return price_of(terms) * COLLATERAL_BPS // 10_000


class TestMatchJob:
    def test_MatchesReservesCapacityAndLocksCollateral(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        tx = market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})
        price, collateral = price_of(terms), collateral_of(terms)
        accept_deadline = tx.timestamp + ACCEPT_WINDOW
        assert job_of(market, terms.job_id) == {
            "provider": registered.address,
            "state": MATCHED,
            "deadline": accept_deadline,
            "collateralRatioBps": COLLATERAL_BPS,
            "protocolFeeBps": PUBLIC.initial.protocol_fee_bps,
            "matchmakerFeeBps": PUBLIC.initial.matchmaker_fee_bps,
            "matchmaker": matchmaker.address,
            "price": price,
        }
        assert plain(tx.events["JobMatched"].values()) == (
            terms.job_id, registered.address, matchmaker.address, price, collateral, accept_deadline
        )
        view = provider_of(registry, registered)
        assert view["used"][:4] == (2_000, 4_096, 10, 0)
        assert view["lockedCollateral"] == collateral

    def test_RevertIf_NoSuchJob(self, market, terms_for, registered, matchmaker):
        terms = terms_for()
        with reverts("JobStateMismatch", terms.job_id, NONE, OPEN):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_AlreadyMatched(self, market, matched, registered, matchmaker):
        terms = matched()
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_Expired(self, market, posted, registered, matchmaker):
        terms = posted()
        travel_past(terms.expires_at - 1)
        with reverts("JobPastExpiry", terms.job_id, terms.expires_at):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_ProviderNotRegistered(self, market, posted, stranger, matchmaker):
        terms = posted()
        with reverts("ProviderStatusMismatch", stranger, 0, 1):
            market.matchJob(terms.as_tuple(), stranger, {"from": matchmaker})

    def test_RevertIf_ProviderPaused(self, market, registry, posted, registered, matchmaker):
        terms = posted()
        registry.pause({"from": registered})
        with reverts("ProviderStatusMismatch", registered, 2, 1):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_RegionDiffers(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, ANY, US))
        with reverts("RegionMismatch", registered, EU, US):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_MatchesSameRegion(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, ANY, EU))
        market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})
        assert job_of(market, terms.job_id)["state"] == MATCHED

    def test_RevertIf_GpuModelDiffers(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 1, H100, ANY))
        with reverts("GpuModelMismatch", registered, A100, H100):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    @pytest.mark.parametrize("model", [A100, ANY], ids=["same-model", "any-model"])
    def test_MatchesGpuJob(self, market, registry, posted, registered, matchmaker, model):
        terms = posted(resources=Resources(1_000, 1_024, 0, 2, model, ANY))
        market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})
        assert provider_of(registry, registered)["used"][3] == 2

    def test_GpuModelIgnoredWithoutGpus(self, market, posted, registered, matchmaker):
        terms = posted(resources=Resources(1_000, 1_024, 0, 0, H100, ANY))
        market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})
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
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_CapacityTakenByEarlierMatch(self, market, posted, registered, matchmaker):
        first = posted(resources=Resources(10_000, 1_024, 0))
        market.matchJob(first.as_tuple(), registered, {"from": matchmaker})
        second = posted(resources=Resources(7_000, 1_024, 0))
        with reverts("InsufficientCapacity", registered, 0, 6_000, 7_000):
            market.matchJob(second.as_tuple(), registered, {"from": matchmaker})

    def test_RevertIf_PriceAboveCeiling(self, market, posted, registered, matchmaker):
        terms = posted(max_price=10**17)
        with reverts("PriceAboveCeiling", terms.job_id, price_of(terms), 10**17):
            market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})

    def test_MatchesAtExactlyTheCeiling(self, market, terms_for, posted, registered, matchmaker):
        terms = posted(max_price=price_of(terms_for()))
        market.matchJob(terms.as_tuple(), registered, {"from": matchmaker})
        assert job_of(market, terms.job_id)["price"] == terms.max_price

    def test_RevertIf_StakeBelowMinimumPlusCollateral(self, market, registry, posted, provider, matchmaker):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, MIN_STAKE, {"from": provider})
        terms = posted()
        with reverts("InsufficientStake", provider, MIN_STAKE, MIN_STAKE + collateral_of(terms)):
            market.matchJob(terms.as_tuple(), provider, {"from": matchmaker})

    def test_RevertIf_LockedCollateralLeavesTooLittle(self, market, registry, posted, provider, matchmaker):
        big = Resources(8_000, 1_024, 0)
        stake = MIN_STAKE + 3 * TOKEN
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, stake, {"from": provider})
        first = posted(resources=big, duration_seconds=36_000)  # 8 tokens: collateral 12 > 3 free
        with reverts("InsufficientStake", provider, stake, MIN_STAKE + collateral_of(first)):
            market.matchJob(first.as_tuple(), provider, {"from": matchmaker})
        small = posted(resources=big, duration_seconds=3_600)  # 0.8 tokens: collateral 1.2
        market.matchJob(small.as_tuple(), provider, {"from": matchmaker})
        second = posted(resources=big, duration_seconds=6_000)  # collateral 2 > 3 - 1.2
        free = stake - collateral_of(small)
        with reverts("InsufficientStake", provider, free, MIN_STAKE + collateral_of(second)):
            market.matchJob(second.as_tuple(), provider, {"from": matchmaker})


class TestTake:
    def test_ProviderTakesOpenJob(self, market, registry, posted, registered):
        terms = posted()
        tx = market.take(terms.as_tuple(), {"from": registered})
        deadline = tx.timestamp + terms.duration_seconds
        job = job_of(market, terms.job_id)
        assert (job["state"], job["provider"], job["deadline"], job["price"]) == (
            RUNNING, registered.address, deadline, price_of(terms)
        )
        assert (job["matchmaker"], job["matchmakerFeeBps"]) == (ZERO, 0)
        assert plain(tx.events["JobTaken"].values()) == (
            terms.job_id, registered.address, price_of(terms), collateral_of(terms), deadline
        )
        assert provider_of(registry, registered)["lockedCollateral"] == collateral_of(terms)

    def test_RevertIf_CallerNotProvider(self, market, posted, stranger):
        terms = posted()
        with reverts("ProviderStatusMismatch", stranger, 0, 1):
            market.take(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NotOpen(self, market, matched, other_provider):
        terms = matched()
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.take(terms.as_tuple(), {"from": other_provider})

    def test_RevertIf_Expired(self, market, posted, registered):
        terms = posted()
        travel_past(terms.expires_at - 1)
        with reverts("JobPastExpiry", terms.job_id, terms.expires_at):
            market.take(terms.as_tuple(), {"from": registered})

    def test_RevertIf_PriceAboveCeiling(self, market, posted, registered):
        terms = posted(max_price=1)
        with reverts("PriceAboveCeiling", terms.job_id, price_of(terms), 1):
            market.take(terms.as_tuple(), {"from": registered})


class TestAccept:
    def test_AcceptsAtTheLastSecond(self, market, matched, registered):
        terms = matched()
        deadline = job_of(market, terms.job_id)["deadline"]
        next_block_at(deadline)
        tx = market.accept(terms.as_tuple(), {"from": registered})
        assert tx.timestamp == deadline
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"]) == (RUNNING, deadline + terms.duration_seconds)
        assert plain(tx.events["JobAccepted"].values()) == (
            terms.job_id, registered.address, deadline + terms.duration_seconds
        )

    def test_RevertIf_NotTheMatchedProvider(self, market, matched, registered, other_provider):
        terms = matched()
        with reverts("NotJobProvider", terms.job_id, other_provider, registered):
            market.accept(terms.as_tuple(), {"from": other_provider})

    def test_RevertIf_AcceptWindowClosed(self, market, matched, registered):
        terms = matched()
        deadline = job_of(market, terms.job_id)["deadline"]
        travel_past(deadline)
        with reverts("AcceptWindowClosed", terms.job_id, deadline):
            market.accept(terms.as_tuple(), {"from": registered})

    def test_RevertIf_NotMatched(self, market, posted, running, registered):
        terms = posted()
        with reverts("JobStateMismatch", terms.job_id, OPEN, MATCHED):
            market.accept(terms.as_tuple(), {"from": registered})
        terms = running()
        with reverts("JobStateMismatch", terms.job_id, RUNNING, MATCHED):
            market.accept(terms.as_tuple(), {"from": registered})


class TestReclaim:
    def test_ReopensLapsedMatchAndReleasesProvider(self, market, registry, matched, registered, stranger):
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        tx = market.reclaim(terms.as_tuple(), {"from": stranger})
        assert job_of(market, terms.job_id) == {
            "provider": ZERO, "state": OPEN, "deadline": terms.expires_at, "collateralRatioBps": 0,
            "protocolFeeBps": 0, "matchmakerFeeBps": 0, "matchmaker": ZERO, "price": 0,
        }
        assert plain(tx.events["JobReclaimed"].values()) == (terms.job_id, registered.address, OPEN)
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"], view["stake"]) == ((0, 0, 0, 0), 0, PROVIDER_STAKE)

    def test_ReclaimedJobCanBeMatchedAgain(self, market, registry, matched, other_provider, matchmaker, stranger):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": other_provider})
        terms = matched()
        travel_past(job_of(market, terms.job_id)["deadline"])
        market.reclaim(terms.as_tuple(), {"from": stranger})
        market.matchJob(terms.as_tuple(), other_provider, {"from": matchmaker})
        assert job_of(market, terms.job_id)["provider"] == other_provider

    def test_RefundsIfExpired(self, market, matched, buyer, stranger):
        terms = matched()
        travel_past(terms.expires_at)
        tx = market.reclaim(terms.as_tuple(), {"from": stranger})
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == terms.max_price
        assert tx.events["JobReclaimed"]["newState"] == REFUNDED

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
