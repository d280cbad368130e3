"""ProviderRegistry: listings, stake, unbonding, and the market-only capacity paths."""

import pytest
from brownie import chain

from agora.market.protocol import PUBLIC
from agora.market.terms import HourlyPrices, Resources, label, quote
from conftest import PROVIDER_STAKE
from marketkit import (
    ACTIVE, CAPACITY, ENDPOINT, EU, H100, NONE, PAUSED, PRICES, TOKEN, US, job_of, plain, provider_of, reverts,
    travel_past,
)

UNBONDING = PUBLIC.initial.unbonding_period_seconds
ZERO = "0x0000000000000000000000000000000000000000"
ANY = label("")


class TestConstructor:
    def test_KnowsTokenParamsAndMarket(self, registry, market, token, params):
        assert (registry.token(), registry.params(), registry.market()) == (token, params, market)

    @pytest.mark.parametrize("which", ["token", "params", "market"])
    def test_RevertIf_ZeroAddress(self, ProviderRegistry, token, params, deployer, which):
        args = {"token": token, "params": params, "market": deployer}
        args[which] = ZERO
        with reverts("ZeroAddress"):
            ProviderRegistry.deploy(args["token"], args["params"], args["market"], {"from": deployer})

    @pytest.mark.parametrize("which", ["token", "params", "registry"])
    def test_MarketRevertIf_ZeroAddress(self, JobMarket, registry, token, params, deployer, which):
        args = {"token": token, "params": params, "registry": registry}
        args[which] = ZERO
        with reverts("ZeroAddress"):
            JobMarket.deploy(args["token"], args["params"], args["registry"], {"from": deployer})

    def test_MarketRefusesRegistryMadeForAnotherAddress(self, ProviderRegistry, JobMarket, token, params, deployer, stranger):
        registry = ProviderRegistry.deploy(token, params, stranger, {"from": deployer})
        with reverts("RegistryBoundElsewhere", stranger):
            JobMarket.deploy(token, params, registry, {"from": deployer})


class TestRegister:
    def test_RegistersListingAndTakesStake(self, market, registry, token, provider):
        before = token.balanceOf(provider)
        tx = registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": provider})
        view = provider_of(registry, provider)
        assert view["status"] == ACTIVE
        assert view["capacity"] == CAPACITY.as_tuple()
        assert view["used"] == (0, 0, 0, 0, CAPACITY.gpu_model, CAPACITY.region)
        assert view["prices"] == PRICES.as_tuple()
        assert (view["endpoint"], view["stake"], view["lockedCollateral"]) == (ENDPOINT, PROVIDER_STAKE, 0)
        assert token.balanceOf(provider) == before - PROVIDER_STAKE
        assert token.balanceOf(registry) == PROVIDER_STAKE
        event = tx.events["ProviderRegistered"]
        assert plain(event.values()) == (
            provider.address, CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE
        )

    def test_RegistersWithoutStake(self, market, registry, provider):
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 0, {"from": provider})
        assert provider_of(registry, provider)["stake"] == 0

    def test_RevertIf_AlreadyRegistered(self, registry, registered):
        with reverts("ProviderAlreadyRegistered", registered):
            registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 0, {"from": registered})

    @pytest.mark.parametrize("field", ["cpu_millicores", "memory_mib"])
    def test_RevertIf_NoCpuOrMemory(self, market, registry, provider, field):
        capacity = CAPACITY.__class__(**{**CAPACITY.__dict__, field: 0})
        with reverts("ZeroCapacity"):
            registry.register(capacity.as_tuple(), PRICES.as_tuple(), ENDPOINT, 0, {"from": provider})

    def test_RevertIf_EndpointTooLong(self, market, registry, provider):
        with reverts("EndpointTooLong", 257, 256):
            registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), "x" * 257, 0, {"from": provider})

    def test_RevertIf_StakeDoesNotFitUint96(self, market, registry, provider):
        with reverts("SafeCastOverflowedUintDowncast", 96, 2**96):
            registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 2**96, {"from": provider})

    def test_RevertIf_StakeNotApproved(self, market, registry, stranger):
        with reverts("ERC20InsufficientAllowance", registry, 0, TOKEN):
            registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, TOKEN, {"from": stranger})


class TestUpdateListing:
    NEW_CAPACITY = Resources(8_000, 32_768, 100, 1, H100, US)
    NEW_PRICES = HourlyPrices(2 * 10**8, 2 * 10**7, 3 * 10**9, 2 * 10**6)

    def test_ReplacesListing(self, registry, registered):
        tx = registry.updateListing(self.NEW_CAPACITY.as_tuple(), self.NEW_PRICES.as_tuple(), "https://new", {"from": registered})
        view = provider_of(registry, registered)
        assert view["capacity"] == self.NEW_CAPACITY.as_tuple()
        assert view["prices"] == self.NEW_PRICES.as_tuple()
        assert view["endpoint"] == "https://new"
        assert view["stake"] == PROVIDER_STAKE
        assert plain(tx.events["ListingUpdated"].values()) == (
            registered.address, self.NEW_CAPACITY.as_tuple(), self.NEW_PRICES.as_tuple(), "https://new"
        )

    def test_RevertIf_NotRegistered(self, registry, stranger):
        with reverts("ProviderNotRegistered", stranger):
            registry.updateListing(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, {"from": stranger})

    @pytest.mark.parametrize(
        "field,resource,used",
        [("cpu_millicores", 0, 2_000), ("memory_mib", 1, 4_096), ("storage_gib", 2, 10), ("gpu_count", 3, 1)],
    )
    def test_RevertIf_BelowCapacityInUse(self, registry, matched, registered, field, resource, used):
        matched(resources=Resources(2_000, 4_096, 10, 1, ANY, EU))
        smaller = CAPACITY.__class__(**{**CAPACITY.__dict__, field: used - 1})
        with reverts("CapacityBelowUsage", registered, resource, used, used - 1):
            registry.updateListing(smaller.as_tuple(), PRICES.as_tuple(), ENDPOINT, {"from": registered})

    def test_RevertIf_NewListingHasNoCpu(self, registry, registered):
        capacity = CAPACITY.__class__(**{**CAPACITY.__dict__, "cpu_millicores": 0})
        with reverts("ZeroCapacity"):
            registry.updateListing(capacity.as_tuple(), PRICES.as_tuple(), ENDPOINT, {"from": registered})

    def test_RevertIf_NewEndpointTooLong(self, registry, registered):
        with reverts("EndpointTooLong", 300, 256):
            registry.updateListing(CAPACITY.as_tuple(), PRICES.as_tuple(), "x" * 300, {"from": registered})

    def test_MayShrinkToCapacityInUse(self, registry, matched, registered):
        matched()
        exact = Resources(2_000, 4_096, 10, 0, CAPACITY.gpu_model, CAPACITY.region)
        registry.updateListing(exact.as_tuple(), PRICES.as_tuple(), ENDPOINT, {"from": registered})
        assert provider_of(registry, registered)["capacity"] == exact.as_tuple()


class TestPauseResume:
    def test_PauseThenResume(self, registry, registered):
        tx = registry.pause({"from": registered})
        assert provider_of(registry, registered)["status"] == PAUSED
        assert plain(tx.events["ProviderStatusChanged"].values()) == (registered.address, ACTIVE, PAUSED)
        tx = registry.resume({"from": registered})
        assert provider_of(registry, registered)["status"] == ACTIVE
        assert plain(tx.events["ProviderStatusChanged"].values()) == (registered.address, PAUSED, ACTIVE)

    def test_RevertIf_PauseWhenPaused(self, registry, registered):
        registry.pause({"from": registered})
        with reverts("ProviderStatusMismatch", registered, PAUSED, ACTIVE):
            registry.pause({"from": registered})

    def test_RevertIf_ResumeWhenActive(self, registry, registered):
        with reverts("ProviderStatusMismatch", registered, ACTIVE, PAUSED):
            registry.resume({"from": registered})

    @pytest.mark.parametrize("action", ["pause", "resume"])
    def test_RevertIf_NotRegistered(self, registry, stranger, action):
        with reverts("ProviderNotRegistered", stranger):
            getattr(registry, action)({"from": stranger})


class TestAddStake:
    def test_AddsStake(self, registry, registered, token):
        tx = registry.addStake(100 * TOKEN, {"from": registered})
        assert provider_of(registry, registered)["stake"] == PROVIDER_STAKE + 100 * TOKEN
        assert token.balanceOf(registry) == PROVIDER_STAKE + 100 * TOKEN
        assert plain(tx.events["StakeAdded"].values()) == (registered.address, 100 * TOKEN, PROVIDER_STAKE + 100 * TOKEN)

    def test_RevertIf_Zero(self, registry, registered):
        with reverts("ZeroAmount"):
            registry.addStake(0, {"from": registered})

    def test_RevertIf_NotRegistered(self, registry, stranger):
        with reverts("ProviderNotRegistered", stranger):
            registry.addStake(TOKEN, {"from": stranger})


class TestUnbonding:
    def test_RequestMovesStakeToUnbonding(self, registry, registered):
        tx = registry.requestUnbonding(1_000 * TOKEN, {"from": registered})
        unlocks_at = tx.timestamp + UNBONDING
        view = provider_of(registry, registered)
        assert view["stake"] == PROVIDER_STAKE - 1_000 * TOKEN
        assert (view["unbonding"], view["unbondingUnlocksAt"]) == (1_000 * TOKEN, unlocks_at)
        assert plain(tx.events["UnbondingRequested"].values()) == (
            registered.address, 1_000 * TOKEN, PROVIDER_STAKE - 1_000 * TOKEN, 1_000 * TOKEN, unlocks_at
        )

    def test_SecondRequestAddsAndRestartsThePeriod(self, registry, registered):
        registry.requestUnbonding(1_000 * TOKEN, {"from": registered})
        chain.sleep(86_400)
        tx = registry.requestUnbonding(500 * TOKEN, {"from": registered})
        view = provider_of(registry, registered)
        assert (view["unbonding"], view["unbondingUnlocksAt"]) == (1_500 * TOKEN, tx.timestamp + UNBONDING)

    def test_RevertIf_Zero(self, registry, registered):
        with reverts("ZeroAmount"):
            registry.requestUnbonding(0, {"from": registered})

    def test_RevertIf_NotRegistered(self, registry, stranger):
        with reverts("ProviderNotRegistered", stranger):
            registry.requestUnbonding(TOKEN, {"from": stranger})

    def test_RevertIf_MoreThanStake(self, registry, registered):
        with reverts("InsufficientFreeStake", registered, PROVIDER_STAKE, PROVIDER_STAKE + 1):
            registry.requestUnbonding(PROVIDER_STAKE + 1, {"from": registered})

    def test_RevertIf_LockedCollateralWouldUnbond(self, registry, matched, registered):
        matched()
        locked = provider_of(registry, registered)["lockedCollateral"]
        assert locked > 0
        free = PROVIDER_STAKE - locked
        with reverts("InsufficientFreeStake", registered, free, free + 1):
            registry.requestUnbonding(free + 1, {"from": registered})
        registry.requestUnbonding(free, {"from": registered})
        assert provider_of(registry, registered)["stake"] == locked

    def test_WithdrawAfterThePeriod(self, registry, registered, token):
        registry.requestUnbonding(1_000 * TOKEN, {"from": registered})
        chain.sleep(UNBONDING)
        before = token.balanceOf(registered)
        tx = registry.withdrawUnbonded({"from": registered})
        assert token.balanceOf(registered) == before + 1_000 * TOKEN
        assert tx.return_value == 1_000 * TOKEN
        assert plain(tx.events["UnbondedWithdrawn"].values()) == (registered.address, 1_000 * TOKEN)
        view = provider_of(registry, registered)
        assert (view["unbonding"], view["unbondingUnlocksAt"]) == (0, 0)

    def test_RevertIf_WithdrawBeforeThePeriod(self, registry, registered):
        tx = registry.requestUnbonding(1_000 * TOKEN, {"from": registered})
        chain.sleep(UNBONDING - 100)
        with reverts("UnbondingNotElapsed", registered, tx.timestamp + UNBONDING):
            registry.withdrawUnbonded({"from": registered})

    def test_RevertIf_NothingUnbonding(self, registry, registered):
        with reverts("NothingToWithdraw", registered):
            registry.withdrawUnbonded({"from": registered})

    def test_RevertIf_WithdrawTwice(self, registry, registered):
        registry.requestUnbonding(1_000 * TOKEN, {"from": registered})
        chain.sleep(UNBONDING)
        registry.withdrawUnbonded({"from": registered})
        with reverts("NothingToWithdraw", registered):
            registry.withdrawUnbonded({"from": registered})


class TestMarketOnly:
    def test_RevertIf_ReserveNotFromMarket(self, registry, registered, stranger):
        with reverts("NotMarket", stranger):
            registry.reserve(registered, CAPACITY.as_tuple(), 3600, 15_000, TOKEN, 0, {"from": stranger})

    def test_RevertIf_ReleaseNotFromMarket(self, registry, registered, stranger):
        with reverts("NotMarket", stranger):
            registry.release(registered, CAPACITY.as_tuple(), 0, True, {"from": stranger})

    def test_RevertIf_SlashNotFromMarket(self, registry, registered, stranger):
        with reverts("NotMarket", stranger):
            registry.slash(registered, CAPACITY.as_tuple(), 0, 1, 0, {"from": stranger})

    def test_ProviderCannotCallMarketPaths(self, registry, registered):
        with reverts("NotMarket", registered):
            registry.release(registered, CAPACITY.as_tuple(), 0, True, {"from": registered})


class TestSlashRecord:
    """Each slash reason has its own counter; the total slashed sums them all."""

    def test_NewProviderHasACleanRecord(self, registry, registered):
        view = provider_of(registry, registered)
        assert (view["completedJobs"], view["missedDeadlines"], view["disputesLost"], view["lapsedMatches"]) == (0, 0, 0, 0)
        assert view["totalSlashed"] == 0

    def test_ReasonsAreCountedApart(self, market, registry, matched, running, submitted, registered, buyer, arbiter, keeper):
        p = PUBLIC.initial
        collateral = p.min_job_collateral  # every job here is priced below it
        lapsed = matched()
        tx = market.decline(lapsed.as_tuple(), {"from": registered})
        assert tx.events["ProviderSlashed"]["reason"] == 2  # LapsedMatch
        late = running()
        travel_past(job_of(market, late.job_id)["deadline"])
        tx = market.slashMissedDeadline(late.as_tuple(), {"from": keeper})
        assert tx.events["ProviderSlashed"]["reason"] == 0  # MissedDeadline
        faulty = submitted()
        market.dispute(faulty.as_tuple(), {"from": buyer})
        tx = market.resolveDispute(faulty.as_tuple(), True, {"from": arbiter})
        assert tx.events["ProviderSlashed"]["reason"] == 1  # ProvenFault
        view = provider_of(registry, registered)
        assert (view["lapsedMatches"], view["missedDeadlines"], view["disputesLost"]) == (1, 1, 1)
        missed = collateral * p.missed_deadline_slash_bps // 10_000
        fault = collateral * p.fault_slash_bps // 10_000
        assert view["totalSlashed"] == 2 * missed + fault
        assert view["stake"] == PROVIDER_STAKE - 2 * missed - fault
        assert view["lockedCollateral"] == 0


class TestQuote:
    @pytest.mark.parametrize(
        "resources,duration",
        [
            (Resources(2_000, 4_096, 10), 3600),
            (Resources(1, 1, 0), 1),
            (Resources(16_000, 65_536, 500, 2), 86_400 * 30),
            (Resources(2**32 - 1, 2**32 - 1, 2**32 - 1, 2**16 - 1), 2**32 - 1),
        ],
    )
    def test_MatchesThePythonQuote(self, registry, registered, resources, duration):
        assert registry.quote(registered, resources.as_tuple(), duration) == quote(resources, duration, PRICES)

    def test_RoundsDownInTheBuyersFavour(self, registry, registered):
        # one millicore for one second at 0.1 token per core-hour: 27,777,777,777.7... wei
        assert registry.quote(registered, Resources(1, 0, 0).as_tuple(), 1) == 27_777_777_777

    def test_UnregisteredProviderQuotesZero(self, registry, stranger):
        assert registry.quote(stranger, CAPACITY.as_tuple(), 3600) == 0
        assert provider_of(registry, stranger)["status"] == NONE
