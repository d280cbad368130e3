"""JobMarket: posting with escrow (approve or permit), cancelling, expiring, job ids."""

import brownie
import pytest
from brownie import chain
from eth_abi import encode

from agora.market.protocol import PUBLIC
from agora.market.terms import JOB_TERMS_ABI, Resources, job_id
from conftest import PROVIDER_STAKE
from marketkit import (
    COMPLETED, DISPUTED, JOB_MAX_PRICE, MATCHED, NONE, OPEN, REFUNDED, RUNNING, SUBMITTED, TOKEN, job_of, make_terms,
    plain, price_of, provider_of, reverts, sign_permit, travel_past,
)

ZERO = "0x" + "0" * 40
MAX_DURATION = 2**24 - 1  # MAX_DURATION_SECONDS: a job's duration fits a uint24


class TestPost:
    def test_PostsJobAndTakesEscrow(self, market, token, buyer, terms_for):
        terms = terms_for()
        before = token.balanceOf(buyer)
        tx = market.post(terms.as_tuple(), {"from": buyer})
        assert tx.return_value == "0x" + terms.job_id.hex()
        assert token.balanceOf(buyer) == before - JOB_MAX_PRICE
        assert token.balanceOf(market) == JOB_MAX_PRICE
        job = job_of(market, terms.job_id)
        assert (job["state"], job["deadline"], job["provider"], job["price"]) == (
            OPEN, terms.expires_at, "0x" + "0" * 40, 0
        )
        event = tx.events["JobPosted"]
        assert plain(event["jobId"]) == terms.job_id
        assert event["buyer"] == buyer
        assert plain(event["terms"]) == plain(terms.as_tuple())

    def test_IdIsHashOfAbiEncodedTerms(self, market, terms_for):
        terms = terms_for(resources=Resources(1_500, 2_048, 0, 1, b"A100".ljust(16, b"\0"), b"eu-west".ljust(16, b"\0")))
        assert plain(market.jobIdOf(terms.as_tuple())) == job_id(terms)

    def test_SameTermsWithAnotherSaltIsAnotherJob(self, market, buyer, terms_for):
        terms = terms_for()
        market.post(terms.as_tuple(), {"from": buyer})
        again = terms.with_(salt=terms.salt + 1_000_000)
        market.post(again.as_tuple(), {"from": buyer})
        assert job_of(market, again.job_id)["state"] == OPEN

    def test_RevertIf_BuyerIsNotCaller(self, market, buyer, other_buyer, terms_for):
        terms = terms_for(buyer)
        with reverts("BuyerMismatch", buyer, other_buyer):
            market.post(terms.as_tuple(), {"from": other_buyer})

    def test_RevertIf_ZeroMaxPrice(self, market, buyer, terms_for):
        with reverts("ZeroMaxPrice"):
            market.post(terms_for(max_price=0).as_tuple(), {"from": buyer})

    def test_RevertIf_ZeroDuration(self, market, buyer, terms_for):
        with reverts("ZeroDuration"):
            market.post(terms_for(duration_seconds=0).as_tuple(), {"from": buyer})

    def test_RevertIf_DurationTooLong(self, market, buyer, terms_for):
        for duration in (MAX_DURATION + 1, 2**32 - 1):
            terms = terms_for(duration_seconds=duration)
            with reverts("DurationTooLong", duration, MAX_DURATION):
                market.post(terms.as_tuple(), {"from": buyer})
            assert job_of(market, terms.job_id)["state"] == NONE

    def test_PostsTheLongestDuration(self, market, buyer, terms_for):
        terms = terms_for(duration_seconds=MAX_DURATION)
        market.post(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == OPEN

    def test_RevertIf_NoCpu(self, market, buyer, terms_for):
        with reverts("EmptyResources"):
            market.post(terms_for(resources=Resources(0, 4_096, 10)).as_tuple(), {"from": buyer})

    def test_RevertIf_ExpiryNotInFuture(self, market, buyer, terms_for):
        chain.mine()
        now = chain[-1].timestamp
        terms = terms_for(expires_at=now)
        # The next block's timestamp is at least `now`, so an expiry of `now` is never ahead.
        with brownie.reverts(revert_pattern=rf"ExpiryNotInFuture: {now}, \d+"):
            market.post(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_JobExists(self, market, buyer, terms_for):
        terms = terms_for()
        market.post(terms.as_tuple(), {"from": buyer})
        with reverts("JobAlreadyExists", terms.job_id):
            market.post(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_EscrowNotApproved(self, market, token, stranger):
        terms = make_terms(stranger, chain.time(), 1)
        with reverts("ERC20InsufficientAllowance", market, 0, JOB_MAX_PRICE):
            market.post(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_EscrowExceedsBalance(self, market, token, stranger):
        token.approve(market, 2**256 - 1, {"from": stranger})
        balance = token.balanceOf(stranger)
        terms = make_terms(stranger, chain.time(), 1, max_price=balance + 1)
        with reverts("ERC20InsufficientBalance", stranger, balance, balance + 1):
            market.post(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_DirtyCalldata(self, market, buyer, terms_for):
        """Terms whose uint32 field carries high bits are not a valid encoding: no job."""
        terms = terms_for()
        clean = bytearray.fromhex(market.post.encode_input(terms.as_tuple())[2:])
        dirty = bytearray(clean)
        # durationSeconds is the 4th word of the terms, after the 4-byte selector.
        dirty[4 + 3 * 32] = 0x01
        with pytest.raises(brownie.exceptions.VirtualMachineError) as failure:
            buyer.transfer(market, 0, data="0x" + dirty.hex(), gas_limit=500_000)
        # Refused by the ABI decoder itself: a revert with no data, and no job.
        assert failure.value.revert_msg in (None, "")
        assert job_of(market, terms.job_id)["state"] == NONE
        # The same bytes, clean, post the job.
        buyer.transfer(market, 0, data="0x" + clean.hex(), gas_limit=500_000)
        assert job_of(market, terms.job_id)["state"] == OPEN


class TestPostWithPermit:
    @pytest.fixture
    def permit_buyer(self, accounts, token, deployer):
        holder = accounts.add()
        token.transfer(holder, 100 * TOKEN, {"from": deployer})
        deployer.transfer(holder, 10**18)
        return holder

    def test_PostsWithPermitInOneCall(self, market, token, permit_buyer):
        terms = make_terms(permit_buyer, chain.time(), 1)
        deadline = chain.time() + 3600
        v, r, s = sign_permit(token, permit_buyer, market.address, terms.max_price, deadline)
        market.postWithPermit(terms.as_tuple(), deadline, v, r, s, {"from": permit_buyer})
        assert job_of(market, terms.job_id)["state"] == OPEN
        assert token.balanceOf(market) == terms.max_price
        assert token.allowance(permit_buyer, market) == 0

    def test_FrontRunPermitStillPosts(self, market, token, permit_buyer, stranger):
        terms = make_terms(permit_buyer, chain.time(), 1)
        deadline = chain.time() + 3600
        v, r, s = sign_permit(token, permit_buyer, market.address, terms.max_price, deadline)
        token.permit(permit_buyer, market, terms.max_price, deadline, v, r, s, {"from": stranger})
        market.postWithPermit(terms.as_tuple(), deadline, v, r, s, {"from": permit_buyer})
        assert job_of(market, terms.job_id)["state"] == OPEN

    def test_RevertIf_PermitInvalidAndNoAllowance(self, market, token, permit_buyer):
        terms = make_terms(permit_buyer, chain.time(), 1)
        deadline = chain.time() + 3600
        v, r, s = sign_permit(token, permit_buyer, market.address, terms.max_price - 1, deadline)
        with reverts("ERC20InsufficientAllowance", market, 0, terms.max_price):
            market.postWithPermit(terms.as_tuple(), deadline, v, r, s, {"from": permit_buyer})


class TestCancel:
    def test_CancelCreditsEscrowBack(self, market, buyer, posted):
        terms = posted()
        tx = market.cancel(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == JOB_MAX_PRICE
        assert plain(tx.events["JobCancelled"].values()) == (terms.job_id, buyer.address, JOB_MAX_PRICE)

    def test_RevertIf_NotBuyer(self, market, buyer, stranger, posted):
        terms = posted()
        with reverts("NotJobBuyer", terms.job_id, stranger, buyer):
            market.cancel(terms.as_tuple(), {"from": stranger})

    def test_CancelsAMatchedJobAndReleasesTheProvider(
        self, market, registry, token, buyer, matched, registered, matchmaker, governance
    ):
        terms = matched()
        market_before = token.balanceOf(market)
        tx = market.cancel(terms.as_tuple(), {"from": buyer})
        assert plain(tx.events["JobCancelled"].values()) == (terms.job_id, buyer.address, JOB_MAX_PRICE)
        assert "JobSlashed" not in tx.events and "ProviderSlashed" not in tx.events
        assert job_of(market, terms.job_id) == {
            "provider": ZERO, "state": REFUNDED, "deadline": 0, "paramsVersion": 0, "durationSeconds": 0,
            "matchmaker": ZERO, "price": 0,
        }
        assert market.creditOf(buyer) == JOB_MAX_PRICE
        assert (market.creditOf(registered), market.creditOf(matchmaker), market.creditOf(governance)) == (0, 0, 0)
        assert token.balanceOf(market) == market_before
        view = provider_of(registry, registered)
        assert (view["used"][:4], view["lockedCollateral"], view["stake"]) == ((0, 0, 0, 0), 0, PROVIDER_STAKE)
        assert (view["completedJobs"], view["lapsedMatches"], view["totalSlashed"]) == (0, 0, 0)

    def test_ReleasedProviderCanBeMatchedAgain(self, market, registry, buyer, matched, posted, registered, matchmaker):
        terms = matched()
        market.cancel(terms.as_tuple(), {"from": buyer})
        again = posted()
        market.matchJob(again.as_tuple(), registered, price_of(again), {"from": matchmaker})
        collateral = provider_of(registry, registered)["lockedCollateral"]
        assert collateral == max(
            price_of(again) * PUBLIC.initial.collateral_ratio_bps // 10_000, PUBLIC.initial.min_job_collateral
        )

    def test_RevertIf_NotBuyer(self, market, buyer, stranger, posted, matched, registered):
        for terms in (posted(), matched()):
            for caller in (stranger, registered):
                with reverts("NotJobBuyer", terms.job_id, caller, buyer):
                    market.cancel(terms.as_tuple(), {"from": caller})

    @pytest.mark.parametrize("state", [RUNNING, SUBMITTED, DISPUTED, COMPLETED])
    def test_RevertIf_StartedRunning(self, market, buyer, running, submitted, state):
        terms = running() if state == RUNNING else submitted()
        if state == DISPUTED:
            market.dispute(terms.as_tuple(), {"from": buyer})
        if state == COMPLETED:
            market.confirm(terms.as_tuple(), {"from": buyer})
        assert job_of(market, terms.job_id)["state"] == state
        with reverts("JobNotCancellable", terms.job_id, state):
            market.cancel(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_CancelledTwice(self, market, buyer, posted):
        terms = posted()
        market.cancel(terms.as_tuple(), {"from": buyer})
        with reverts("JobNotCancellable", terms.job_id, REFUNDED):
            market.cancel(terms.as_tuple(), {"from": buyer})

    def test_RevertIf_TermsDoNotMatchAJob(self, market, buyer, posted):
        terms = posted()
        forged = terms.with_(max_price=terms.max_price * 2)
        with reverts("JobNotCancellable", forged.job_id, NONE):
            market.cancel(forged.as_tuple(), {"from": buyer})


class TestExpire:
    def test_AnyoneExpiresAfterExpiry(self, market, buyer, stranger, posted):
        terms = posted()
        travel_past(terms.expires_at - 1)
        tx = market.expire(terms.as_tuple(), {"from": stranger})
        assert job_of(market, terms.job_id)["state"] == REFUNDED
        assert market.creditOf(buyer) == JOB_MAX_PRICE
        assert plain(tx.events["JobExpired"].values()) == (terms.job_id, buyer.address, JOB_MAX_PRICE)

    def test_RevertIf_BeforeExpiry(self, market, stranger, posted):
        terms = posted()
        with reverts("JobBeforeExpiry", terms.job_id, terms.expires_at):
            market.expire(terms.as_tuple(), {"from": stranger})

    def test_RevertIf_NotOpen(self, market, stranger, matched):
        terms = matched()
        travel_past(terms.expires_at - 1)
        with reverts("JobStateMismatch", terms.job_id, MATCHED, OPEN):
            market.expire(terms.as_tuple(), {"from": stranger})


def test_JobTermsAbiMatchesTheContract(market):
    """The Python encoding of terms is the one the contract hashes."""
    fn = next(i for i in market.abi if i.get("name") == "jobIdOf")
    components = fn["inputs"][0]["components"]
    types = ",".join(c["type"] if c["type"] != "tuple" else "(" + ",".join(x["type"] for x in c["components"]) + ")"
                     for c in components)
    assert f"({types})" == JOB_TERMS_ABI
    assert encode([JOB_TERMS_ABI], [make_terms("0x" + "11" * 20, 0, 1).as_tuple()])
