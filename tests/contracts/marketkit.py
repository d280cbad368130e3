"""Helpers for the contract tests: exact custom-error matching and job terms."""

from __future__ import annotations

from contextlib import contextmanager

import brownie

from agora.market.terms import HourlyPrices, JobTerms, Resources, label

TOKEN = 10**18


def _render(value) -> str:
    """Formats an argument the way brownie renders a decoded custom error."""
    if hasattr(value, "address"):
        return str(value.address).lower()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, (bytes, bytearray)):
        return str(bytes(value))
    if isinstance(value, bool):
        return str(value)
    return str(int(value)) if isinstance(value, int) else str(value)


def error_message(name: str, *args) -> str:
    return f"{name}: {', '.join(_render(a) for a in args)}"


@contextmanager
def reverts(name: str, *args):
    """Expects a revert with exactly the custom error `name(args...)`."""
    with brownie.reverts(error_message(name, *args)):
        yield


# A provider listing and a job that fits it comfortably.
EU = label("eu-west")
US = label("us-east")
A100 = label("A100")
H100 = label("H100")

CAPACITY = Resources(cpu_millicores=16_000, memory_mib=65_536, storage_gib=500, gpu_count=2, gpu_model=A100, region=EU)
PRICES = HourlyPrices(cpu_core_gwei=10**8, memory_gib_gwei=10**7, gpu_gwei=2 * 10**9, storage_gib_gwei=10**6)
ENDPOINT = "https://provider.example:8443"

JOB_RESOURCES = Resources(cpu_millicores=2_000, memory_mib=4_096, storage_gib=10)
JOB_DURATION = 3600
JOB_MAX_PRICE = 10 * TOKEN


def make_terms(buyer, now: int, salt: int, **changes) -> JobTerms:
    terms = JobTerms(
        buyer=str(buyer),
        max_price=JOB_MAX_PRICE,
        spec_hash=bytes.fromhex("ab" * 32),
        duration_seconds=JOB_DURATION,
        expires_at=now + 7 * 86_400,
        salt=salt,
        resources=JOB_RESOURCES,
    )
    return terms.with_(**changes)


def plain(value):
    """Brownie return values and event fields as plain Python ints, strs and tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value) if isinstance(value, str) else value


def sign_permit(token, owner, spender, value: int, deadline: int):
    """An EIP-2612 permit signed by `owner` (a brownie LocalAccount): (v, r, s)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from brownie import chain

    domain = {
        "name": token.name(),
        "version": "1",
        "chainId": chain.id,
        "verifyingContract": str(token.address),
    }
    types = {
        "Permit": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]
    }
    message = {
        "owner": str(owner.address),
        "spender": str(spender),
        "value": value,
        "nonce": token.nonces(owner),
        "deadline": deadline,
    }
    signable = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    signed = Account.sign_message(signable, owner.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


PROVIDER_FIELDS = (
    "status", "capacity", "used", "prices", "endpoint", "stake", "lockedCollateral", "unbonding",
    "unbondingUnlocksAt", "completedJobs", "missedDeadlines", "disputesLost", "lapsedMatches", "totalSlashed",
)
JOB_FIELDS = ("provider", "state", "deadline", "paramsVersion", "durationSeconds", "matchmaker", "price")

# IProviderRegistry.ProviderStatus and JobState, as the contracts number them.
NONE, ACTIVE, PAUSED = 0, 1, 2
OPEN, MATCHED, RUNNING, SUBMITTED, DISPUTED, COMPLETED, REFUNDED, SLASHED = range(1, 9)


def price_of(terms) -> int:
    """The price of `terms` at the standard listing (PRICES), computed off-chain."""
    from agora.market.terms import quote as quote_terms

    return quote_terms(terms.resources, terms.duration_seconds, PRICES)


def quote(registry, provider, terms) -> int:
    """What a match or take of `terms` by `provider` must say it expects to pay."""
    return int(registry.quote(provider, terms.resources.as_tuple(), terms.duration_seconds))


def collateral_for(params, version: int, price: int) -> int:
    """The collateral a job of `price` locks under parameter `version`."""
    sp = params.settlementParams(version)
    return max(price * sp["collateralRatioBps"] // 10_000, sp["minJobCollateral"])


def provider_of(registry, provider) -> dict:
    return dict(zip(PROVIDER_FIELDS, plain(registry.providerOf(provider))))


def job_of(market, job_id) -> dict:
    return dict(zip(JOB_FIELDS, plain(market.jobOf(job_id))))


def next_block_at(timestamp: int) -> None:
    """Makes the next block (and the calls estimated against it) carry `timestamp`."""
    from brownie import web3

    web3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])


def travel_past(timestamp: int) -> None:
    """Moves the chain's clock so the next block is one second after `timestamp`."""
    from brownie import chain

    latest = chain[-1].timestamp
    if latest <= timestamp:
        next_block_at(timestamp + 1)
