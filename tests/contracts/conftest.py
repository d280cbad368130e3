"""Deployment fixtures for the contract tests: the whole market on anvil, reset per test."""

from __future__ import annotations

import itertools

import pytest
from brownie import chain

from agora.chain.addresses import create_address
from agora.market.protocol import PUBLIC
from marketkit import CAPACITY, ENDPOINT, PRICES, TOKEN, make_terms, quote

SUPPLY = 1_000_000_000 * TOKEN
FUNDS = 1_000_000 * TOKEN
PROVIDER_STAKE = 5_000 * TOKEN


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the deployment, whatever the one before it did.

    Module-scoped fixtures are created before this snapshot and so persist for the whole
    module: only deployments (the same for every test) are module-scoped.
    """


@pytest.fixture(scope="module")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def governance(accounts):
    """Stands in for the timelock (the governance issue wires the real one)."""
    return accounts[1]


@pytest.fixture(scope="module")
def arbiter(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def buyer(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def other_buyer(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def provider(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def other_provider(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def matchmaker(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def keeper(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def token(AgoraToken, deployer, buyer, other_buyer, provider, other_provider, keeper, stranger):
    token = AgoraToken.deploy(deployer, SUPPLY, {"from": deployer})
    for account in (buyer, other_buyer, provider, other_provider, keeper, stranger):
        token.transfer(account, FUNDS, {"from": deployer})
    return token


@pytest.fixture(scope="module")
def param_set():
    return PUBLIC


@pytest.fixture(scope="module")
def params(ProtocolParams, deployer, governance, arbiter, param_set):
    return ProtocolParams.deploy(
        governance,
        param_set.mins.as_tuple(),
        param_set.maxs.as_tuple(),
        param_set.initial.as_tuple(),
        arbiter,
        {"from": deployer},
    )


@pytest.fixture(scope="module")
def deployment(ProviderRegistry, JobMarket, token, params, deployer):
    """The registry, made for the market's address, then the market at that address."""
    market_address = create_address(deployer.address, deployer.nonce + 1)
    registry = ProviderRegistry.deploy(token, params, market_address, {"from": deployer})
    market = JobMarket.deploy(token, params, registry, {"from": deployer})
    return registry, market


@pytest.fixture(scope="module")
def registry(deployment):
    return deployment[0]


@pytest.fixture(scope="module")
def market(deployment, token, registry, buyer, other_buyer, provider, other_provider):
    market = deployment[1]
    for account in (buyer, other_buyer):
        token.approve(market, 2**256 - 1, {"from": account})
    for account in (provider, other_provider):
        token.approve(registry, 2**256 - 1, {"from": account})
    return market


@pytest.fixture
def registered(market, registry, provider):
    """`provider` registered with the standard listing and 5,000 tokens of stake."""
    registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, PROVIDER_STAKE, {"from": provider})
    return provider


@pytest.fixture(scope="module")
def salts():
    return itertools.count(1)


@pytest.fixture
def terms_for(buyer, salts):
    """Builds job terms for `buyer` (default: the buyer fixture) with a fresh salt."""

    def build(who=None, **changes):
        return make_terms(who or buyer, chain.time(), next(salts), **changes)

    return build


@pytest.fixture
def posted(market, buyer, terms_for):
    """Posts a job and returns its terms."""

    def post(who=None, **changes):
        terms = terms_for(who, **changes)
        market.post(terms.as_tuple(), {"from": who or buyer})
        return terms

    return post


@pytest.fixture
def matched(market, registry, posted, registered, matchmaker):
    """Posts a job and matches it to the registered provider at its quote."""

    def match(**changes):
        terms = posted(**changes)
        market.matchJob(terms.as_tuple(), registered, quote(registry, registered, terms), {"from": matchmaker})
        return terms

    return match


@pytest.fixture
def running(market, matched, registered):
    def run(**changes):
        terms = matched(**changes)
        market.accept(terms.job_id, {"from": registered})
        return terms

    return run


@pytest.fixture
def submitted(market, running, registered):
    def submit(result=b"\x11" * 32, **changes):
        terms = running(**changes)
        market.submitResult(terms.job_id, result, {"from": registered})
        return terms

    return submit
