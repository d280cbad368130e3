"""JobMarket and ProviderRegistry payouts: pull withdrawals, no double spend, no reentrancy."""

import pytest
from brownie import chain

from agora.chain.addresses import create_address
from agora.market.protocol import PUBLIC
from marketkit import CAPACITY, ENDPOINT, PRICES, TOKEN, make_terms, plain, provider_of, reverts


class TestWithdraw:
    def test_WithdrawsWholeCredit(self, market, token, posted, buyer):
        terms = posted()
        market.cancel(terms.as_tuple(), {"from": buyer})
        before = token.balanceOf(buyer)
        tx = market.withdraw({"from": buyer})
        assert tx.return_value == terms.max_price
        assert token.balanceOf(buyer) == before + terms.max_price
        assert market.creditOf(buyer) == 0
        assert token.balanceOf(market) == 0
        assert plain(tx.events["Withdrawn"].values()) == (buyer.address, terms.max_price)

    def test_RevertIf_NothingCredited(self, market, stranger):
        with reverts("NothingToWithdraw", stranger):
            market.withdraw({"from": stranger})

    def test_RevertIf_WithdrawnTwice(self, market, posted, buyer):
        terms = posted()
        market.cancel(terms.as_tuple(), {"from": buyer})
        market.withdraw({"from": buyer})
        with reverts("NothingToWithdraw", buyer):
            market.withdraw({"from": buyer})

    def test_SlashCreditsAreBackedByTokens(self, market, token, matched, registered, buyer, governance):
        """A declined match: the buyer and the treasury withdraw the slash, the escrow stays for the job."""
        terms = matched()
        market.decline(terms.as_tuple(), {"from": registered})
        p = PUBLIC.initial
        amount = p.min_job_collateral * p.missed_deadline_slash_bps // 10_000
        buyer_credit = amount * p.buyer_share_bps // 10_000 + amount * p.reporter_share_bps // 10_000
        assert (market.creditOf(buyer), market.creditOf(governance)) == (buyer_credit, amount - buyer_credit)
        assert token.balanceOf(market) == terms.max_price + amount
        assert market.withdraw({"from": buyer}).return_value == buyer_credit
        assert market.withdraw({"from": governance}).return_value == amount - buyer_credit
        assert token.balanceOf(market) == terms.max_price

    def test_EscrowOfLiveJobsCannotBeWithdrawn(self, market, posted, buyer):
        posted()
        with reverts("NothingToWithdraw", buyer):
            market.withdraw({"from": buyer})


class TestReentrancy:
    """A token that calls back into the contract paying it out is stopped by the guards."""

    @pytest.fixture
    def hostile(self, ReentrantToken, ProtocolParams, ProviderRegistry, JobMarket, deployer, governance, arbiter, buyer, provider):
        token = ReentrantToken.deploy(deployer, 10**9 * TOKEN, {"from": deployer})
        params = ProtocolParams.deploy(
            governance, PUBLIC.mins.as_tuple(), PUBLIC.maxs.as_tuple(), PUBLIC.initial.as_tuple(), arbiter,
            {"from": deployer},
        )
        registry = ProviderRegistry.deploy(token, params, create_address(deployer.address, deployer.nonce + 1), {"from": deployer})
        market = JobMarket.deploy(token, params, registry, {"from": deployer})
        for who in (buyer, provider):
            token.transfer(who, 1_000_000 * TOKEN, {"from": deployer})
            token.approve(market, 2**256 - 1, {"from": who})
            token.approve(registry, 2**256 - 1, {"from": who})
        return token, registry, market

    def test_MarketWithdrawCannotBeReentered(self, hostile, buyer):
        token, _registry, market = hostile
        terms = make_terms(buyer, chain.time(), 1)
        market.post(terms.as_tuple(), {"from": buyer})
        market.cancel(terms.as_tuple(), {"from": buyer})
        # Without the guard this callback would succeed: finalizing nothing is a no-op.
        token.arm(market, market.finalize.encode_input([]), {"from": buyer})
        with reverts("ReentrancyGuardReentrantCall"):
            market.withdraw({"from": buyer})
        assert market.creditOf(buyer) == terms.max_price
        assert token.balanceOf(market) == terms.max_price

    def test_RegistryWithdrawCannotBeReentered(self, hostile, provider):
        token, registry, _market = hostile
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 2_000 * TOKEN, {"from": provider})
        registry.requestUnbonding(1_000 * TOKEN, {"from": provider})
        chain.sleep(PUBLIC.initial.unbonding_period_seconds)
        # Without the guard this callback would succeed: the token registers itself.
        callback = registry.register.encode_input(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 0)
        token.arm(registry, callback, {"from": provider})
        with reverts("ReentrancyGuardReentrantCall"):
            registry.withdrawUnbonded({"from": provider})
        assert provider_of(registry, provider)["unbonding"] == 1_000 * TOKEN
        assert provider_of(registry, token)["status"] == 0

    def test_HostileTokenReallyCallsBack(self, hostile, provider):
        """The control: an unguarded callback runs, and its own error comes back."""
        token, registry, _market = hostile
        registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 2_000 * TOKEN, {"from": provider})
        registry.requestUnbonding(1_000 * TOKEN, {"from": provider})
        chain.sleep(PUBLIC.initial.unbonding_period_seconds)
        token.arm(registry, registry.pause.encode_input(), {"from": provider})
        with reverts("ProviderNotRegistered", token):
            registry.withdrawUnbonded({"from": provider})
