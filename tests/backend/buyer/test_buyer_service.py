"""agora.buyer on a deployed market with a real blob node: offers, posting, results, settling."""

from __future__ import annotations

import pytest
from buyerkit import DURATION, JOB, SIEVE_INPUT, SIEVE_WAT, client
from eth_utils import to_checksum_address

from agora.buyer import service
from agora.buyer.service import (
    BadJobId,
    CeilingBelowOffers,
    InputTooLarge,
    JobNotFound,
    ModuleError,
    NoResult,
    WrongState,
    default_ceiling,
    load_module,
    parse_job_id,
)
from agora.chain.transact import send_and_wait
from agora.market.protocol import PROFILES, TOKEN
from agora.market.spec import DEFAULT_LIMITS, JobSpec, Limits, ResultRecord, content_id
from agora.market.states import JobState
from agora.market.terms import GWEI, JobTerms, Resources, label
from agora.sandbox import run_module

LIMITS = Limits(fuel=100_000_000, memory_bytes=16 * 2**20, output_bytes=4096, wall_seconds=10.0)
DEVNET = PROFILES["devnet"].params.initial


def post(market, blobs, *, account=None, module=None, input=SIEVE_INPUT, **overrides):
    values = dict(contracts=market.contracts, web3=market.web3, account=account or market.buyer, blobs=blobs,
                  module=module if module is not None else load_module(SIEVE_WAT), input=input, limits=LIMITS,
                  resources=JOB, duration_seconds=DURATION, expires_in_seconds=3600)
    values.update(overrides)
    return service.post_job(**values)


def posted_terms(market, job_id: bytes) -> JobTerms:
    """The terms as the chain's own event carries them (read here without agora.buyer)."""
    logs = market.contracts.market.events.JobPosted().get_logs(
        from_block=market.contracts.deployment.deploy_block, argument_filters={"jobId": job_id})
    assert len(logs) == 1
    terms = logs[0]["args"]["terms"]
    values = list(terms.values()) if hasattr(terms, "values") else list(terms)
    values[-1] = tuple(values[-1].values()) if hasattr(values[-1], "values") else tuple(values[-1])
    return JobTerms.from_tuple(values)


# -- the module ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hashchain", "sieve", "matmul"])
def test_LoadModule_TheExampleJobs(name):
    module = load_module(SIEVE_WAT.with_name(f"{name}.wat"))
    assert module.startswith(b"\0asm") and content_id(module)


def test_LoadModule_CompilesWatAndReadsWasm(tmp_path):
    module = load_module(SIEVE_WAT)
    assert module.startswith(b"\0asm")
    binary = tmp_path / "sieve.wasm"
    binary.write_bytes(module)
    assert load_module(binary) == module
    assert run_module(module, SIEVE_INPUT, LIMITS).status == "ok"


@pytest.mark.parametrize(("name", "content", "says"), [
    ("notes.wasm", b"hello, not a module", "is not WebAssembly"),
    ("text.wasm", b"(module)", "name it .wat"),
    ("broken.wat", b"(module (func $f (result i32) i64.const 1))", "does not compile"),
    ("empty.wat", b"(module)", "not a valid Agora job module: exports no memory"),
    ("imports.wat", b'(module (import "env" "f" (func)) (memory (export "memory") 1))', "imports env.f"),
])
def test_LoadModule_RefusesWhatIsNoJobModule_NamingTheFile(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ModuleError) as refused:
        load_module(path)
    message = str(refused.value)
    assert str(path) in message and says in message and "\n" not in message


def test_LoadModule_MissingFile(tmp_path):
    with pytest.raises(ModuleError, match="cannot read module .*nothing.wasm"):
        load_module(tmp_path / "nothing.wasm")


# -- offers ----------------------------------------------------------------------------------


def test_Offers_ActiveCompatibleProviders_CheapestFirst_PricedToTheWei(market):
    found = service.offers(contracts=market.contracts, resources=JOB, duration_seconds=DURATION)
    p = market.providers
    # paused (cheapest of all) and small (too little CPU) are left out
    assert [o.provider for o in found] == [str(p["cheap"]), str(p["mid"]), str(p["dear"])]
    for offer in found:
        assert offer.price == market.quote(offer.provider)
    assert [o.price for o in found] == sorted(o.price for o in found)
    assert found[0].region == "eu-west" and found[0].endpoint == "https://cheap.example"
    assert found[0].collateral == max(found[0].price * DEVNET.collateral_ratio_bps // 10_000,
                                      DEVNET.min_job_collateral)
    assert len(service.offers(contracts=market.contracts, resources=JOB, duration_seconds=DURATION, limit=2)) == 2


def test_Offers_FollowRegionGpuAndCapacity(market):
    p = market.providers
    in_us = Resources(1_000, 1_024, region=label("us-east"))
    assert [o.provider for o in service.offers(contracts=market.contracts, resources=in_us,
                                               duration_seconds=DURATION)] == [str(p["dear"])]
    a100 = Resources(1_000, 1_024, gpu_count=1, gpu_model=label("A100"))
    any_gpu = Resources(1_000, 1_024, gpu_count=2)
    assert [o.provider for o in service.offers(contracts=market.contracts, resources=a100,
                                               duration_seconds=DURATION)] == [str(p["mid"])]
    assert [o.provider for o in service.offers(contracts=market.contracts, resources=any_gpu,
                                               duration_seconds=DURATION)] == [str(p["mid"])]
    huge = Resources(32_000, 1_024)
    assert service.offers(contracts=market.contracts, resources=huge, duration_seconds=DURATION) == []
    # a price for a long job, to the wei, from a provider with storage and GPU prices
    heavy = Resources(3_333, 7_777, 13, 2, label("A100"), label("eu-west"))
    [offer] = service.offers(contracts=market.contracts, resources=heavy, duration_seconds=86_399)
    assert offer.price == market.quote(p["mid"], heavy, 86_399)


# -- posting ---------------------------------------------------------------------------------


def test_PostJob_EscrowsTheCeiling_SpecHashIsTheManifest_DataOnTheNode(market, blobs, blob_node, tmp_path):
    me = market.buyer.address
    before = market.balance(me)
    module = load_module(SIEVE_WAT)
    posted = post(market, blobs, module=module, max_price=3 * TOKEN // 100)

    assert market.balance(me) == before - 3 * TOKEN // 100
    assert posted.max_price == 3 * TOKEN // 100
    spec = JobSpec(content_id(module), content_id(SIEVE_INPUT), LIMITS)
    on_chain = posted_terms(market, posted.job_id)
    assert on_chain == posted.terms and on_chain.spec_hash == spec.spec_hash
    assert posted.spec_id == spec.spec_id and posted.module_id == spec.module and posted.input_id == spec.input
    assert on_chain.buyer == me and on_chain.resources == JOB and on_chain.duration_seconds == DURATION
    now = market.web3.eth.get_block("latest")["timestamp"]
    assert now < on_chain.expires_at <= now + 3600

    # Another machine, with nothing in its own store, gets all three from the node.
    with client(tmp_path / "elsewhere", blob_node) as other:
        assert other.fetch(spec.spec_id) == spec.encode()
        assert JobSpec.decode(other.fetch(spec.spec_id)) == spec
        assert other.fetch(spec.module) == module
        assert other.fetch(spec.input) == SIEVE_INPUT

    status = service.job_status(contracts=market.contracts, job_id=posted.job_id)
    assert status.state == "Open" and status.provider is None and status.price is None
    assert status.deadline == on_chain.expires_at and status.deadline_meaning == "expires"
    assert status.max_price == posted.max_price and status.result_hash is None
    assert service.job_terms(contracts=market.contracts, job_id=posted.job_id) == on_chain
    assert [o.provider for o in posted.offers][:1] == [str(market.providers["cheap"])]


def test_PostJob_DefaultCeilingIsTheCheapestOfferPlusAQuarter_RoundedUpToAGwei(market, blobs):
    cheapest = market.quote(market.providers["cheap"])
    before = market.balance(market.buyer.address)
    posted = post(market, blobs)
    expected = -(-cheapest * 125 // (100 * GWEI)) * GWEI
    assert posted.max_price == expected == default_ceiling(cheapest)
    assert expected % GWEI == 0 and cheapest * 125 <= expected * 100 < cheapest * 125 + 100 * GWEI
    assert market.balance(market.buyer.address) == before - expected
    assert default_ceiling(4 * GWEI) == 5 * GWEI and default_ceiling(4 * GWEI + 1) == 6 * GWEI
    assert default_ceiling(0) == GWEI


def test_PostJob_CeilingBelowEveryOffer_RefusedNamingTheCheapest_NothingSent(market, blobs, blob_node):
    me = market.buyer.address
    cheapest = market.quote(market.providers["cheap"])
    balance, nonce = market.balance(me), market.nonce(me)
    with pytest.raises(CeilingBelowOffers) as refused:
        post(market, blobs, max_price=cheapest - 1)
    message = str(refused.value)
    assert str(market.providers["cheap"]) in message and service.tokens_text(cheapest) in message
    assert "--below-offers" in message and "\n" not in message
    assert refused.value.cheapest.price == cheapest
    assert (market.balance(me), market.nonce(me)) == (balance, nonce)
    assert blob_node.store.ids() == [] and blobs.store.ids() == []

    # At the cheapest price it posts; below it only when told to.
    assert post(market, blobs, max_price=cheapest).max_price == cheapest
    below = post(market, blobs, max_price=cheapest - 1, allow_below_offers=True)
    assert service.job_status(contracts=market.contracts, job_id=below.job_id).state == "Open"


def test_PostJob_NoProviderFits_Refused(market, blobs):
    huge = Resources(64_000, 1_024)
    nonce = market.nonce(market.buyer.address)
    with pytest.raises(CeilingBelowOffers, match="no provider can run this job"):
        post(market, blobs, resources=huge)
    with pytest.raises(CeilingBelowOffers, match="--below-offers"):
        post(market, blobs, resources=huge, max_price=TOKEN)
    assert market.nonce(market.buyer.address) == nonce
    posted = post(market, blobs, resources=huge, max_price=TOKEN, allow_below_offers=True)
    assert posted.offers == [] and posted.max_price == TOKEN


def test_PostJob_InputOverTheBlobLimit_RefusedNamingBothSizes_NothingUploaded(market, blob_node, tmp_path):
    me = market.buyer.address
    balance, nonce = market.balance(me), market.nonce(me)
    module = load_module(SIEVE_WAT)
    with client(tmp_path / "small-store", blob_node, max_bytes=len(module) + 10) as small:
        with pytest.raises(InputTooLarge) as refused:
            post(market, small, module=module, input=b"x" * (len(module) + 11))
        assert small.store.ids() == []
    message = str(refused.value)
    assert f"{len(module) + 11:,} bytes" in message and f"{len(module) + 10:,} bytes" in message
    assert "\n" not in message
    assert blob_node.store.ids() == []
    assert (market.balance(me), market.nonce(me)) == (balance, nonce)


def test_PostJob_SignsAPermitInsteadOfAnApprovalWhenTheAllowanceIsShort(market, blobs):
    me, spender = market.buyer.address, market.contracts.market.address
    send_and_wait(market.web3, market.buyer, market.contracts.token.functions.approve(spender, 10 * TOKEN))
    nonce = market.nonce(me)
    post(market, blobs, max_price=TOKEN)
    assert market.nonce(me) == nonce + 1  # the post only
    assert market.contracts.token.functions.allowance(me, spender).call() == 9 * TOKEN
    send_and_wait(market.web3, market.buyer, market.contracts.token.functions.approve(spender, 0))
    nonce, balance = market.nonce(me), market.balance(me)
    permits = market.contracts.token.functions.nonces(me).call()
    posted = post(market, blobs, max_price=TOKEN)
    assert market.nonce(me) == nonce + 1  # postWithPermit: one transaction, no approval
    assert market.contracts.token.functions.nonces(me).call() == permits + 1  # the permit was spent
    assert market.contracts.token.functions.allowance(me, spender).call() == 0  # for exactly the ceiling
    assert balance - market.balance(me) == TOKEN
    assert market.contracts.market.functions.jobOf(posted.job_id).call()[1] == 1  # Open


def test_PostJob_RefusesBadTermsBeforeSending(market, blobs):
    nonce = market.nonce(market.buyer.address)
    with pytest.raises(service.BuyerError, match="duration"):
        post(market, blobs, duration_seconds=0)
    with pytest.raises(service.BuyerError, match="expire"):
        post(market, blobs, expires_in_seconds=0)
    with pytest.raises(service.BuyerError, match="CPU"):
        post(market, blobs, resources=Resources(0, 1_024))
    with pytest.raises(service.BuyerError, match="fuel"):
        post(market, blobs, limits=Limits(0, 1, 1, 1.0))
    with pytest.raises(service.InsufficientFunds, match="less than the ceiling"):
        post(market, blobs, max_price=10**9 * TOKEN)
    assert market.nonce(market.buyer.address) == nonce
    assert blobs.store.ids() == []


# -- reading ---------------------------------------------------------------------------------


def test_JobIds_BadOnesAreOneLineErrors(market):
    with pytest.raises(BadJobId, match="is not a job id"):
        parse_job_id("0x1234")
    with pytest.raises(BadJobId):
        parse_job_id("ab" * 32)
    assert parse_job_id("0x" + "AB" * 32) == bytes.fromhex("ab" * 32)
    with pytest.raises(JobNotFound, match="no job 0x" + "00" * 32):
        service.job_status(contracts=market.contracts, job_id=bytes(32))


def test_ListJobs_ByBuyerAndAll(market, blobs):
    mine = [post(market, blobs).job_id, post(market, blobs).job_id]
    theirs = post(market, blobs, account=market.other_buyer).job_id
    assert [s.job_id for s in service.list_jobs(contracts=market.contracts, buyer=market.buyer.address)] == mine
    assert [s.job_id for s in service.list_jobs(contracts=market.contracts)] == [*mine, theirs]
    assert all(s.state == "Open" for s in service.list_jobs(contracts=market.contracts))


# -- results: playing the provider ----------------------------------------------------------


def test_FetchAndVerify_AnHonestResult(market, blobs, provider_blobs):
    posted = post(market, blobs)
    with pytest.raises(NoResult, match="no result yet .*it is Open"):
        service.fetch_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id)
    provider = market.providers["cheap"]
    record = market.deliver(posted.terms, provider, provider_blobs)
    assert record.status == "ok" and int.from_bytes(record.output[:4], "little") == 168

    status = service.job_status(contracts=market.contracts, job_id=posted.job_id)
    assert status.state == "Submitted" and status.provider == str(provider)
    assert status.price == market.quote(provider) and status.result_hash == record.result_hash
    assert status.deadline_meaning == "confirm or dispute by"
    submitted_at = market.web3.eth.get_block("latest")["timestamp"]
    assert status.deadline == submitted_at + DEVNET.challenge_window_seconds

    assert service.fetch_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id) == record
    check = service.verify_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id)
    assert check.matches and check.submitted_hash == check.local_hash == record.result_hash
    assert check.local_status == check.submitted_status == "ok" and check.local == record
    assert check.fuel_used == run_module(load_module(SIEVE_WAT), SIEVE_INPUT, LIMITS).fuel_used > 0

    me = market.buyer.address
    credit = service.credit(contracts=market.contracts, account=me)
    sent = service.confirm(contracts=market.contracts, web3=market.web3, account=market.buyer,
                           job_id=posted.job_id)
    settled = service.job_status(contracts=market.contracts, job_id=posted.job_id)
    # The market clears a settled job's price; the status still shows what it was charged.
    assert (settled.state, settled.price) == ("Completed", market.quote(provider))
    assert service.credit(contracts=market.contracts, account=me) == credit + sent.amount > credit


def test_Verify_AWrongResult_IsAMismatch_AndTheDisputePostsTheBond(market, blobs, provider_blobs):
    posted = post(market, blobs)
    wrong = ResultRecord("ok", b"not the primes")
    market.deliver(posted.terms, market.providers["cheap"], provider_blobs, record=wrong)

    check = service.verify_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id)
    assert not check.matches
    assert check.submitted_hash == wrong.result_hash != check.local_hash
    assert check.submitted_status == "ok" and check.local_status == "ok" and check.local.output != wrong.output

    me, bond = market.buyer.address, DEVNET.dispute_bond
    assert service.dispute_bond(contracts=market.contracts, job_id=posted.job_id) == bond > 0
    balance = market.balance(me)
    sent = service.dispute(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    assert sent.amount == bond
    assert market.balance(me) == balance - bond
    assert market.contracts.market.functions.disputeBondOf(posted.job_id).call() == bond
    status = service.job_status(contracts=market.contracts, job_id=posted.job_id)
    assert status.state == "Disputed" and status.deadline == sent.detail["arbitrationDeadline"]

    # The arbiter re-runs it, finds the provider at fault: escrow and bond back as credit.
    market.s.market.resolveDispute(posted.terms.as_tuple(), True, {"from": market.arbiter})
    assert service.job_status(contracts=market.contracts, job_id=posted.job_id).state == "Slashed"
    assert service.credit(contracts=market.contracts, account=me) >= posted.max_price + bond


def test_Verify_ResultRecordOnNoNode_TheHashAloneDecides(market, blobs):
    posted = post(market, blobs)
    provider = market.providers["cheap"]
    market.take(posted.terms, provider)
    honest = run_module(load_module(SIEVE_WAT), SIEVE_INPUT, LIMITS).record
    market.s.market.submitResult(posted.job_id, honest.result_hash, {"from": provider})
    check = service.verify_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id)
    assert check.matches and check.submitted is None and check.submitted_status is None
    with pytest.raises(service.ResultUnavailable, match="is on no blob node .*--verify"):
        service.fetch_result(contracts=market.contracts, blobs=blobs, job_id=posted.job_id)


def test_Dispute_ApprovesTheBondWhenTheAllowanceIsShort_AndRefusesOutOfState(market, blobs, provider_blobs):
    me, spender = market.buyer.address, market.contracts.market.address
    posted = post(market, blobs)
    assert market.contracts.token.functions.allowance(me, spender).call() == 0  # post used the approval up
    nonce = market.nonce(me)
    with pytest.raises(WrongState, match="is Open: only a job that is Submitted can be disputed"):
        service.dispute(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    assert market.nonce(me) == nonce
    market.deliver(posted.terms, market.providers["cheap"], provider_blobs, record=ResultRecord("trap"))
    with pytest.raises(service.BuyerError, match="only its buyer"):
        service.dispute(contracts=market.contracts, web3=market.web3, account=market.other_buyer,
                        job_id=posted.job_id)
    service.dispute(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    assert market.nonce(me) == nonce + 2  # approve the bond, dispute


def test_Cancel_RefundsTheEscrow_ThenWithdraw(market, blobs):
    me = market.buyer.address
    before = market.balance(me)
    posted = post(market, blobs, max_price=TOKEN // 10)
    assert market.balance(me) == before - TOKEN // 10
    sent = service.cancel(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    assert sent.amount == TOKEN // 10
    assert service.job_status(contracts=market.contracts, job_id=posted.job_id).state == "Refunded"
    assert service.credit(contracts=market.contracts, account=me) == TOKEN // 10
    with pytest.raises(WrongState, match="is Refunded"):
        service.cancel(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    assert service.withdraw(contracts=market.contracts, web3=market.web3, account=market.buyer).amount == TOKEN // 10
    assert market.balance(me) == before
    with pytest.raises(service.BuyerError, match="nothing to withdraw"):
        service.withdraw(contracts=market.contracts, web3=market.web3, account=market.buyer)


def test_Cancel_AMatchedJob_ButNotARunningOne(market, blobs):
    posted = post(market, blobs)
    provider = market.providers["cheap"]
    market.s.market.matchJob(posted.terms.as_tuple(), provider, market.quote(provider),
                             {"from": market.providers["dear"]})
    status = service.job_status(contracts=market.contracts, job_id=posted.job_id)
    assert status.state == "Matched" and status.matchmaker == to_checksum_address(str(market.providers["dear"]))
    service.cancel(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=posted.job_id)
    running = post(market, blobs)
    market.take(running.terms, provider)
    assert service.job_status(contracts=market.contracts, job_id=running.job_id).job_state == JobState.RUNNING
    with pytest.raises(WrongState, match="is Running"):
        service.cancel(contracts=market.contracts, web3=market.web3, account=market.buyer, job_id=running.job_id)


def test_DefaultLimitsPostAsTheyAre(market, blobs):
    posted = post(market, blobs, limits=DEFAULT_LIMITS)
    spec = JobSpec.decode(blobs.fetch(posted.spec_id))
    assert spec.limits == DEFAULT_LIMITS
