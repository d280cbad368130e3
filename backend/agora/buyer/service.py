"""The buyer's side of the market: post a WebAssembly job, watch it, fetch and check its
result, settle it, without reading Solidity.

Plain functions over the pieces they need (the contract bindings, web3, the wallet, a blob
client); nothing here keeps state between calls. Every refusal is a `BuyerError` (an
`AgoraError`) with a one-line message that says what to do, raised before anything is
uploaded or sent where the refusal can be known in advance.

    module = load_module("examples/jobs/sieve.wat")
    posted = post_job(contracts=c, web3=w3, account=me, blobs=client, module=module, input=data,
                      limits=DEFAULT_LIMITS, resources=Resources(1000, 1024), duration_seconds=600,
                      expires_in_seconds=3600)
    job_status(contracts=c, job_id=posted.job_id).state     # "Open", "Running", "Submitted", ...
    check = verify_result(contracts=c, blobs=client, job_id=posted.job_id)
    if not check.matches:
        dispute(contracts=c, web3=w3, account=me, job_id=posted.job_id)
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from agora.blobs.client import BlobClient
from agora.blobs.settings import BlobSettings
from agora.blobs.store import BlobNotFound, BlobStore
from agora.chain.transact import send_and_wait
from agora.errors import AgoraError
from agora.market.protocol import token_amount
from agora.market.spec import JobSpec, Limits, ResultRecord, SpecError, content_id
from agora.market.states import JobState, ProviderStatus
from agora.market.terms import GWEI, HourlyPrices, JobTerms, Resources, label_text, quote

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from agora.chain.contracts import MarketContracts
    from agora.config import Settings

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_LABEL = b"\0" * 16
MAX_UINT96 = 2**96 - 1
MAX_UINT32 = 2**32 - 1
# JobMarket's MAX_DURATION_SECONDS: a job's duration fits 24 bits beside its state.
MAX_DURATION_SECONDS = 2**24 - 1
MAX_UINT40 = 2**40 - 1
DEFAULT_CEILING_PERCENT = 125
BPS = 10_000

_JOB_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")


# -- errors --------------------------------------------------------------------------------


class BuyerError(AgoraError):
    """Something the buyer's side refuses or cannot do."""


class ModuleError(BuyerError):
    """A file that is not a valid Agora job module (not WebAssembly, an import, no `run`...)."""


class InputTooLarge(BuyerError):
    """A job's input (or module) is larger than the blob store takes."""


class CeilingBelowOffers(BuyerError):
    """No provider would run the job within its ceiling (or none can run it at all).
    `cheapest` is the cheapest offer (None when there is none), `max_price` the ceiling."""

    def __init__(self, message: str, *, cheapest: Offer | None, max_price: int | None):
        super().__init__(message)
        self.cheapest, self.max_price = cheapest, max_price


class BadJobId(BuyerError):
    """A text given as a job id is not 0x and 64 hex digits."""


class JobNotFound(BuyerError):
    """The market has no job with this id."""


class NoResult(BuyerError):
    """The job has no submitted result (yet)."""


class ResultUnavailable(BuyerError):
    """The job's provider submitted a result hash, but no blob node has the record."""


class WrongState(BuyerError):
    """The job is not in the state the action needs."""


class InsufficientFunds(BuyerError):
    """The wallet holds fewer tokens than the action moves."""


# -- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A provider that could run a job now, and the exact price it would charge (token wei)."""

    provider: str
    price: int
    endpoint: str
    region: str
    gpu_model: str
    collateral: int
    free_stake: int
    completed_jobs: int


@dataclass(frozen=True)
class PostedJob:
    """A job on the market: its id, its terms, its data's content ids and the offers it was
    priced against."""

    job_id: bytes
    terms: JobTerms
    spec_id: str
    module_id: str
    input_id: str
    offers: list[Offer]
    transaction: str

    @property
    def max_price(self) -> int:
        return self.terms.max_price

    @property
    def expires_at(self) -> int:
        return self.terms.expires_at


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands. `deadline` is the next time that matters in its state (named by
    `deadline_meaning`), None once it has settled; `provider`, `price` and `matchmaker` are
    None while no provider holds the job."""

    job_id: bytes
    state: str
    buyer: str
    max_price: int
    expires_at: int
    spec_id: str
    provider: str | None
    price: int | None
    matchmaker: str | None
    deadline: int | None
    deadline_meaning: str | None
    params_version: int
    result_hash: bytes | None
    terms: JobTerms = field(repr=False)

    @property
    def job_state(self) -> JobState:
        return JobState[self.state.upper()]


@dataclass(frozen=True)
class Verification:
    """A job's submitted result against a local run of its module on its input under its
    manifest's limits. `submitted` is the provider's record when some node has it."""

    job_id: bytes
    matches: bool
    submitted_hash: bytes
    local_hash: bytes
    submitted_status: str | None
    local_status: str
    fuel_used: int
    detail: str
    spec_id: str
    local: ResultRecord = field(repr=False)
    submitted: ResultRecord | None = field(repr=False, default=None)


@dataclass(frozen=True)
class Sent:
    """A transaction the buyer sent: what it did and the amount it moved or credited."""

    job_id: bytes
    action: str
    transaction: str
    amount: int
    detail: dict[str, Any] = field(default_factory=dict)


# -- helpers --------------------------------------------------------------------------------


def tokens_text(wei: int) -> str:
    """Token wei as an exact decimal number of tokens ("12.5", "0.000000001")."""
    return token_amount(wei)


def parse_job_id(text: str | bytes) -> bytes:
    """A job id from its 0x-hex text (or its 32 bytes); BadJobId otherwise."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) != 32:
            raise BadJobId(f"a job id has 32 bytes, not {len(text)}")
        return bytes(text)
    shown = text if len(text) <= 80 else text[:80] + "..."
    if not _JOB_ID.match(text.strip()):
        raise BadJobId(f"{shown!r} is not a job id (0x and 64 hex digits, as `agora job post` prints it)")
    return bytes.fromhex(text.strip()[2:])


def blob_settings(settings: Settings | None = None) -> BlobSettings:
    """The blob settings (AGORA_BLOBS_*), from the process's settings once they carry a
    `blobs` group, else from the environment."""
    group = getattr(settings, "blobs", None) if settings is not None else None
    return group if isinstance(group, BlobSettings) else BlobSettings()


def blob_client(settings: Settings) -> BlobClient:
    """A blob client over this machine's store (under AGORA_STATE_DIR unless AGORA_BLOBS_DIR)
    and the nodes of AGORA_BLOBS_PEERS."""
    blobs = blob_settings(settings)
    store = BlobStore(blobs.directory(settings.worker.state_dir), blobs.max_bytes)
    return BlobClient(store, blobs.peer_urls, blobs.timeout_seconds)


def _address(value: Any) -> str | None:
    text = to_checksum_address(str(value))
    return None if int(text, 16) == 0 else text


def _plain_tuple(value: Any) -> Any:
    """A decoded ABI struct (web3 gives dicts for named components) as nested tuples."""
    if isinstance(value, dict) or hasattr(value, "keys"):
        return tuple(_plain_tuple(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return tuple(_plain_tuple(v) for v in value)
    return value


def _chain_time(web3: Web3) -> int:
    return int(web3.eth.get_block("latest")["timestamp"])


def _tx(receipt: dict) -> str:
    value = receipt["transactionHash"]
    return "0x" + bytes(value).hex().removeprefix("0x") if not isinstance(value, str) else value


def _logs(contracts: MarketContracts, contract: Any, event: str, **filters: Any) -> list:
    """Every `event` log of `contract` since the deployment, filtered by indexed arguments."""
    kwargs: dict[str, Any] = {"from_block": contracts.deployment.deploy_block, "to_block": "latest"}
    if filters:
        kwargs["argument_filters"] = filters
    return list(getattr(contract.events, event)().get_logs(**kwargs))


# -- the module -----------------------------------------------------------------------------


def load_module(path: str | Path) -> bytes:
    """The WebAssembly binary of a job module: a .wat file compiled, anything else read as a
    binary; ModuleError (naming the file) if it is not a valid Agora job module."""
    from agora.sandbox import SandboxError, check_module, compile_wat

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModuleError(f"cannot read module {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".wat":
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise ModuleError(f"{path} is not WebAssembly text (not UTF-8): name a .wasm binary .wasm, "
                              f"or a .wat text file") from None
        try:
            data = compile_wat(text)
        except SandboxError as exc:
            raise ModuleError(f"{path} does not compile: {exc}") from None
    elif not data.startswith(b"\0asm"):
        hint = " (it looks like WebAssembly text: name it .wat)" if data.lstrip().startswith(b"(module") else ""
        raise ModuleError(f"{path} is not WebAssembly: a module is a .wasm binary (starting with \\0asm) "
                          f"or a .wat text file{hint}")
    problem = check_module(data)
    if problem:
        raise ModuleError(f"{path} is not a valid Agora job module: {problem}")
    return data


# -- offers ---------------------------------------------------------------------------------


def providers(*, contracts: MarketContracts) -> list[str]:
    """Every provider that ever registered, in registration order."""
    seen = dict.fromkeys(to_checksum_address(log["args"]["provider"])
                         for log in _logs(contracts, contracts.registry, "ProviderRegistered"))
    return list(seen)


def offers(*, contracts: MarketContracts, resources: Resources, duration_seconds: int, limit: int | None = 5
           ) -> list[Offer]:
    """The providers that could be matched to a job of `resources` for `duration_seconds`
    now (active, in its region, with its GPU model, enough free capacity, and free stake for
    the minimum stake plus the job's collateral), with the exact price each would charge,
    cheapest first (at most `limit`; None: all)."""
    version, _accept_window, min_stake = contracts.params.functions.matchParams().call()
    settlement = contracts.params.functions.settlementParams(version).call()
    min_collateral, ratio_bps = int(settlement[0]), int(settlement[1])
    found = []
    for provider in providers(contracts=contracts):
        view = contracts.registry.functions.providerOf(provider).call()
        status, capacity, used, prices = view[0], Resources.from_tuple(_plain_tuple(view[1])), \
            Resources.from_tuple(_plain_tuple(view[2])), HourlyPrices(*(int(p) for p in _plain_tuple(view[3])))
        endpoint, stake, locked, completed = str(view[4]), int(view[5]), int(view[6]), int(view[9])
        if int(status) != ProviderStatus.ACTIVE or not _compatible(resources, capacity, used):
            continue
        price = quote(resources, duration_seconds, prices)
        collateral = max(price * ratio_bps // BPS, min_collateral)
        if stake - locked < min_stake + collateral:
            continue
        found.append(Offer(provider, price, endpoint, label_text(capacity.region), label_text(capacity.gpu_model),
                           collateral, stake - locked, completed))
    found.sort(key=lambda o: (o.price, -o.completed_jobs, int(o.provider, 16)))
    return found if limit is None else found[:limit]


def _compatible(job: Resources, capacity: Resources, used: Resources) -> bool:
    """The registry's `reserve` checks: region, GPU model and free capacity."""
    if job.region != ZERO_LABEL and job.region != capacity.region:
        return False
    if job.gpu_count and job.gpu_model != ZERO_LABEL and job.gpu_model != capacity.gpu_model:
        return False
    return (job.cpu_millicores <= capacity.cpu_millicores - used.cpu_millicores
            and job.memory_mib <= capacity.memory_mib - used.memory_mib
            and job.storage_gib <= capacity.storage_gib - used.storage_gib
            and job.gpu_count <= capacity.gpu_count - used.gpu_count)


def default_ceiling(price: int) -> int:
    """The ceiling posted when none is given: the price plus 25%, rounded up to a whole gwei
    (at least 1 gwei: the market refuses a zero ceiling)."""
    ceiling = -(-price * DEFAULT_CEILING_PERCENT // (100 * GWEI)) * GWEI
    return max(ceiling, GWEI)


def _describe(offer: Offer) -> str:
    return f"{offer.provider} at {tokens_text(offer.price)} tokens"


# -- posting --------------------------------------------------------------------------------


def check_job(*, resources: Resources, duration_seconds: int, expires_in_seconds: int, limits: Limits) -> None:
    """The market's and the manifest's refusals of a job, known before anything is sent."""
    try:
        limits.check()
    except SpecError as exc:
        raise BuyerError(str(exc)) from None
    if resources.cpu_millicores <= 0:
        raise BuyerError("a job needs some CPU (at least 1 millicore)")
    for name, value, ceiling in (("cpu millicores", resources.cpu_millicores, MAX_UINT32),
                                 ("memory MiB", resources.memory_mib, MAX_UINT32),
                                 ("storage GiB", resources.storage_gib, MAX_UINT32),
                                 ("GPUs", resources.gpu_count, 2**16 - 1)):
        if not 0 <= value <= ceiling:
            raise BuyerError(f"{name} {value} is outside 0..{ceiling}")
    if not 0 < duration_seconds <= MAX_DURATION_SECONDS:
        raise BuyerError(f"a job's duration must be 1 to {MAX_DURATION_SECONDS} seconds (about 194 days), "
                         f"not {duration_seconds}")
    if expires_in_seconds <= 0:
        raise BuyerError(f"a job must expire in the future: expiry in {expires_in_seconds} s")


def choose_ceiling(found: list[Offer], max_price: int | None, *, allow_below_offers: bool) -> int:
    """The job's ceiling: `max_price`, or the cheapest offer plus 25%; CeilingBelowOffers if
    no offer is within it (unless `allow_below_offers`, when a `max_price` is given)."""
    cheapest = found[0] if found else None
    if max_price is not None and not 0 < max_price <= MAX_UINT96:
        raise BuyerError(f"a ceiling must be above 0 and at most {tokens_text(MAX_UINT96)} tokens, "
                         f"not {tokens_text(max_price)}")
    if cheapest is None:
        if max_price is None:
            raise CeilingBelowOffers("no provider can run this job now (none active with the region, GPU model, "
                                     "free capacity and stake it needs): ask for fewer resources, or give a "
                                     "ceiling and post it anyway (--below-offers)", cheapest=None, max_price=None)
        if not allow_below_offers:
            raise CeilingBelowOffers(f"no provider can run this job now; a ceiling of {tokens_text(max_price)} tokens "
                                     f"would wait for one: post it anyway with --below-offers", cheapest=None,
                                     max_price=max_price)
        return max_price
    if max_price is None:
        return default_ceiling(cheapest.price)
    if max_price < cheapest.price and not allow_below_offers:
        raise CeilingBelowOffers(f"the ceiling of {tokens_text(max_price)} tokens is below every offer; the cheapest "
                                 f"is {_describe(cheapest)}: raise --max-price, or post it anyway with "
                                 f"--below-offers", cheapest=cheapest, max_price=max_price)
    return max_price


PERMIT_SECONDS = 600  # how long a permit signed for one post stays usable


def permit_signature(*, contracts: MarketContracts, account: LocalAccount, spender: str, value: int,
                     deadline: int) -> tuple[int, bytes, bytes]:
    """(v, r, s) of an EIP-2612 permit letting `spender` take `value` of the token from `account`."""
    from eth_account.messages import encode_typed_data

    token = contracts.token.functions
    _fields, name, version, chain_id, verifying, _salt, _extensions = token.eip712Domain().call()
    nonce = int(token.nonces(account.address).call())
    message = encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Permit",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
        "message": {"owner": account.address, "spender": spender, "value": value, "nonce": nonce,
                    "deadline": deadline},
    })
    signed = account.sign_message(message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def post_job(*, contracts: MarketContracts, web3: Web3, account: LocalAccount, blobs: BlobClient, module: bytes,
             input: bytes, limits: Limits, resources: Resources, duration_seconds: int, max_price: int | None = None,
             expires_in_seconds: int, allow_below_offers: bool = False, salt: int | None = None) -> PostedJob:
    """Posts a job: checks it, prices it against the offers, uploads its module, input and
    manifest and posts its terms, with a permit for the escrow when the allowance is short
    (one transaction either way).

    Nothing is uploaded or sent when the job is refused: an input or module over the blob
    limit (InputTooLarge), a ceiling below every offer (CeilingBelowOffers), too few tokens."""
    check_job(resources=resources, duration_seconds=duration_seconds, expires_in_seconds=expires_in_seconds,
              limits=limits)
    limit = blobs.store.max_bytes
    for name, data in (("input", input), ("module", module)):
        if len(data) > limit:
            raise InputTooLarge(f"the {name} has {len(data):,} bytes, over the blob limit of {limit:,} bytes "
                                f"(AGORA_BLOBS_MAX_BYTES): nothing was uploaded or posted")
    found = offers(contracts=contracts, resources=resources, duration_seconds=duration_seconds, limit=None)
    ceiling = choose_ceiling(found, max_price, allow_below_offers=allow_below_offers)
    me = account.address
    balance = int(contracts.token.functions.balanceOf(me).call())
    if balance < ceiling:
        raise InsufficientFunds(f"{me} holds {tokens_text(balance)} tokens, less than the ceiling of "
                                f"{tokens_text(ceiling)} tokens the job escrows: nothing was uploaded or posted")

    spec = JobSpec(module=content_id(module), input=content_id(input), limits=limits)
    manifest = spec.encode()
    module_id = blobs.upload(module)
    input_id = blobs.upload(input)
    spec_id = blobs.upload(manifest)
    assert (module_id, input_id, spec_id) == (spec.module, spec.input, spec.spec_id)

    market = contracts.market.address
    now = _chain_time(web3)
    expires_at = now + int(expires_in_seconds)
    if expires_at > MAX_UINT40:
        raise BuyerError(f"an expiry {expires_in_seconds} s from now does not fit the market's 40-bit time")
    terms = JobTerms(buyer=me, max_price=ceiling, spec_hash=spec.spec_hash, duration_seconds=int(duration_seconds),
                     expires_at=expires_at, salt=secrets.randbits(64) if salt is None else salt, resources=resources)
    if int(contracts.token.functions.allowance(me, market).call()) >= ceiling:
        call = contracts.market.functions.post(terms.as_tuple())
    else:
        # One transaction instead of approve-then-post: the escrow's allowance is a signed
        # EIP-2612 permit for exactly the ceiling, spent in the same call.
        deadline = now + PERMIT_SECONDS
        v, r, s = permit_signature(contracts=contracts, account=account, spender=market, value=ceiling,
                                   deadline=deadline)
        call = contracts.market.functions.postWithPermit(terms.as_tuple(), deadline, v, r, s)
    receipt = send_and_wait(web3, account, call)
    return PostedJob(terms.job_id, terms, spec_id, module_id, input_id, found, _tx(receipt))


# -- reading jobs ---------------------------------------------------------------------------


def job_terms(*, contracts: MarketContracts, job_id: bytes) -> JobTerms:
    """A job's terms, from its JobPosted event; JobNotFound if it was never posted here."""
    logs = _logs(contracts, contracts.market, "JobPosted", jobId=job_id)
    if not logs:
        raise JobNotFound(f"no job 0x{job_id.hex()} was posted on this market (check the id, and that "
                          f"AGORA_RPC_URL is the chain it was posted on)")
    terms = JobTerms.from_tuple(_plain_tuple(logs[0]["args"]["terms"]))
    if terms.job_id != job_id:  # the event is the contract's: this would be a decoding bug
        raise BuyerError(f"the JobPosted event of job 0x{job_id.hex()} carries terms of another id")
    return terms


def _result_hashes(contracts: MarketContracts, job_id: bytes | None = None) -> dict[bytes, bytes]:
    """The latest submitted result hash of each job (of `job_id` only, if given)."""
    logs = _logs(contracts, contracts.market, "ResultSubmitted", **({"jobId": job_id} if job_id else {}))
    latest: dict[bytes, bytes] = {}
    for log in sorted(logs, key=lambda entry: (entry["blockNumber"], entry["logIndex"])):
        latest[bytes(log["args"]["jobId"])] = bytes(log["args"]["resultHash"])
    return latest


def result_hash(*, contracts: MarketContracts, job_id: bytes) -> bytes | None:
    """The hash the job's provider submitted last; None if none has."""
    return _result_hashes(contracts, job_id).get(job_id)


_DEADLINES = {JobState.OPEN: "expires", JobState.MATCHED: "the provider accepts by",
              JobState.RUNNING: "the provider delivers by", JobState.SUBMITTED: "confirm or dispute by",
              JobState.DISPUTED: "the arbiter rules by"}


def _status(contracts: MarketContracts, terms: JobTerms, submitted: bytes | None) -> JobStatus:
    job = _plain_tuple(contracts.market.functions.jobOf(terms.job_id).call())
    provider, state, deadline, version, _duration, matchmaker, price = job
    state = JobState(int(state))
    deadline = int(deadline)
    if state == JobState.SUBMITTED:
        # The job stores the submission time; the window runs from it for its version's length.
        deadline += int(contracts.params.functions.settlementParams(int(version)).call()[4])
    live = state.is_live
    charged = int(price) if state.holds_provider else None
    if state == JobState.COMPLETED:
        # The market clears a settled job's price: what was charged is in its payout event.
        paid = _logs(contracts, contracts.market, "JobCompleted", jobId=terms.job_id)
        if paid:
            charged = int(paid[-1]["args"]["providerPayout"]) + int(paid[-1]["args"]["protocolFee"])
    return JobStatus(
        job_id=terms.job_id, state=state.label, buyer=terms.buyer, max_price=terms.max_price,
        expires_at=terms.expires_at, spec_id=terms.spec_hash.hex(), provider=_address(provider),
        price=charged, matchmaker=_address(matchmaker),
        deadline=deadline if live else None, deadline_meaning=_DEADLINES.get(state), params_version=int(version),
        result_hash=submitted,
        terms=terms,
    )


def job_status(*, contracts: MarketContracts, job_id: bytes) -> JobStatus:
    """Where a job stands: its state, provider, price, next deadline and result hash."""
    terms = job_terms(contracts=contracts, job_id=job_id)
    return _status(contracts, terms, result_hash(contracts=contracts, job_id=job_id))


def list_jobs(*, contracts: MarketContracts, buyer: str | None = None) -> list[JobStatus]:
    """Every job posted on the market (by `buyer` only, if given), in posting order."""
    filters = {"buyer": to_checksum_address(buyer)} if buyer else {}
    posted = _logs(contracts, contracts.market, "JobPosted", **filters)
    hashes = _result_hashes(contracts)
    found = []
    for log in sorted(posted, key=lambda entry: (entry["blockNumber"], entry["logIndex"])):
        terms = JobTerms.from_tuple(_plain_tuple(log["args"]["terms"]))
        found.append(_status(contracts, terms, hashes.get(terms.job_id)))
    return found


# -- results --------------------------------------------------------------------------------


def _submitted_hash(contracts: MarketContracts, job_id: bytes) -> bytes:
    submitted = result_hash(contracts=contracts, job_id=job_id)
    if submitted is None:
        status = job_status(contracts=contracts, job_id=job_id)
        raise NoResult(f"job 0x{job_id.hex()} has no result yet (it is {status.state}): wait for its provider "
                       f"to submit one (`agora job status`)")
    return submitted


def fetch_result(*, contracts: MarketContracts, blobs: BlobClient, job_id: bytes) -> ResultRecord:
    """The result record the job's provider submitted, from the blob nodes (checked against
    the submitted hash by its content id)."""
    submitted = _submitted_hash(contracts, job_id)
    try:
        data = blobs.fetch(submitted.hex())
    except BlobNotFound as exc:
        raise ResultUnavailable(f"the result {submitted.hex()} of job 0x{job_id.hex()} is on no blob node "
                                f"({'; '.join(f'{k}: {v}' for k, v in exc.reasons.items())}): `agora job result "
                                f"--verify` runs the job locally, and a local run that matches the hash is the "
                                f"result") from None
    try:
        return ResultRecord.decode(data)
    except SpecError as exc:
        raise BuyerError(f"the result blob {submitted.hex()} of job 0x{job_id.hex()} is not a result record "
                         f"({exc}): the provider submitted the hash of something else; dispute it") from None


def verify_result(*, contracts: MarketContracts, blobs: BlobClient, job_id: bytes) -> Verification:
    """Runs the job locally (its manifest, module and input from the blob nodes, under the
    manifest's limits) and compares the record with the one the provider submitted."""
    from agora.sandbox import run_module

    submitted_hash = _submitted_hash(contracts, job_id)
    terms = job_terms(contracts=contracts, job_id=job_id)
    spec_id = terms.spec_hash.hex()
    try:
        spec = JobSpec.decode(blobs.fetch(spec_id))
    except SpecError as exc:
        raise BuyerError(f"the manifest {spec_id} of job 0x{job_id.hex()} is not a job manifest ({exc})") from None
    module, input = blobs.fetch(spec.module), blobs.fetch(spec.input)
    outcome = run_module(module, input, spec.limits)
    local = outcome.record
    submitted: ResultRecord | None = None
    try:
        submitted = ResultRecord.decode(blobs.fetch(submitted_hash.hex()))
    except (BlobNotFound, SpecError):
        submitted = None  # the hash alone decides; the record is only shown
    return Verification(
        job_id=job_id, matches=local.result_hash == submitted_hash, submitted_hash=submitted_hash,
        local_hash=local.result_hash, submitted_status=submitted.status if submitted else None,
        local_status=local.status, fuel_used=int(outcome.fuel_used), detail=str(outcome.detail or ""),
        spec_id=spec_id, local=local, submitted=submitted,
    )


# -- settling -------------------------------------------------------------------------------


def _require(status: JobStatus, allowed: tuple[JobState, ...], action: str) -> None:
    if status.job_state not in allowed:
        names = " or ".join(s.label for s in allowed)
        raise WrongState(f"job 0x{status.job_id.hex()} is {status.state}: only a job that is {names} can be "
                         f"{action}")


def _mine(status: JobStatus, account: LocalAccount, action: str) -> None:
    if status.buyer != account.address:
        raise BuyerError(f"job 0x{status.job_id.hex()} was posted by {status.buyer}, not by this wallet "
                         f"({account.address}): only its buyer can {action} it")


def _event(contracts: MarketContracts, receipt: dict, name: str) -> dict:
    for log in getattr(contracts.market.events, name)().process_receipt(receipt, errors=DISCARD):
        return dict(log["args"])
    return {}


def cancel(*, contracts: MarketContracts, web3: Web3, account: LocalAccount, job_id: bytes) -> Sent:
    """Cancels a job that has not started running (Open or Matched); its escrow is credited
    back at once (`withdraw` sends it)."""
    status = job_status(contracts=contracts, job_id=job_id)
    _mine(status, account, "cancel")
    _require(status, (JobState.OPEN, JobState.MATCHED), "cancelled")
    receipt = send_and_wait(web3, account, contracts.market.functions.cancel(status.terms.as_tuple()))
    args = _event(contracts, receipt, "JobCancelled")
    return Sent(job_id, "cancel", _tx(receipt), int(args.get("refund", status.max_price)))


def confirm(*, contracts: MarketContracts, web3: Web3, account: LocalAccount, job_id: bytes) -> Sent:
    """Accepts a submitted result: the job completes and pays out (the buyer's saving below
    its ceiling, less the matchmaker's share, is credited back)."""
    status = job_status(contracts=contracts, job_id=job_id)
    _mine(status, account, "confirm")
    _require(status, (JobState.SUBMITTED,), "confirmed")
    receipt = send_and_wait(web3, account, contracts.market.functions.confirm(status.terms.as_tuple()))
    args = _event(contracts, receipt, "JobCompleted")
    return Sent(job_id, "confirm", _tx(receipt), int(args.get("buyerRefund", 0)),
                {key: int(args[key]) for key in ("providerPayout", "matchmakerFee", "protocolFee") if key in args})


def dispute_bond(*, contracts: MarketContracts, job_id: bytes) -> int:
    """The bond a dispute of the job posts: its parameter version's dispute bond."""
    version = _plain_tuple(contracts.market.functions.jobOf(job_id).call())[3]
    return int(_plain_tuple(contracts.params.functions.disputeParams(int(version)).call())[1])


def dispute(*, contracts: MarketContracts, web3: Web3, account: LocalAccount, job_id: bytes) -> Sent:
    """Disputes a submitted result within the challenge window, posting the dispute bond of
    the job's parameter version (approving it first if the allowance is short); the arbiter
    re-runs the job and rules."""
    status = job_status(contracts=contracts, job_id=job_id)
    _mine(status, account, "dispute")
    _require(status, (JobState.SUBMITTED,), "disputed")
    now = _chain_time(web3)
    if status.deadline is not None and now > status.deadline:
        raise WrongState(f"the challenge window of job 0x{job_id.hex()} closed at {status.deadline} (chain time is "
                         f"{now}): it can no longer be disputed")
    bond = dispute_bond(contracts=contracts, job_id=job_id)
    me, market = account.address, contracts.market.address
    if bond:
        balance = int(contracts.token.functions.balanceOf(me).call())
        if balance < bond:
            raise InsufficientFunds(f"{me} holds {tokens_text(balance)} tokens, less than the dispute bond of "
                                    f"{tokens_text(bond)} tokens: nothing was sent")
        if int(contracts.token.functions.allowance(me, market).call()) < bond:
            send_and_wait(web3, account, contracts.token.functions.approve(market, bond))
    receipt = send_and_wait(web3, account, contracts.market.functions.dispute(status.terms.as_tuple()))
    args = _event(contracts, receipt, "JobDisputed")
    return Sent(job_id, "dispute", _tx(receipt), int(args.get("bond", bond)),
                {"arbitrationDeadline": int(args["arbitrationDeadline"])} if "arbitrationDeadline" in args else {})


def credit(*, contracts: MarketContracts, account: str) -> int:
    """Tokens the market has credited to `account`, ready to withdraw."""
    return int(contracts.market.functions.creditOf(to_checksum_address(account)).call())


def withdraw(*, contracts: MarketContracts, web3: Web3, account: LocalAccount) -> Sent:
    """Sends the wallet its whole credited balance (refunds, savings, won disputes)."""
    amount = credit(contracts=contracts, account=account.address)
    if amount == 0:
        raise BuyerError(f"the market credits nothing to {account.address}: there is nothing to withdraw")
    receipt = send_and_wait(web3, account, contracts.market.functions.withdraw())
    args = _event(contracts, receipt, "Withdrawn")
    return Sent(b"", "withdraw", _tx(receipt), int(args.get("amount", amount)))
