"""A market with providers and a blob node for the buyer's tests (service and CLI): fixtures
and the provider's side played by hand with brownie."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from agora.blobs.client import BlobClient
from agora.blobs.server import BlobServer
from agora.blobs.settings import BlobSettings
from agora.blobs.store import BlobStore
from agora.market.protocol import TOKEN
from agora.market.spec import JobSpec, ResultRecord
from agora.market.terms import HourlyPrices, JobTerms, Resources, label
from agora.sandbox import run_module

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "jobs"
SIEVE_WAT = EXAMPLES / "sieve.wat"
# sieve: L as u32 LE; the primes below 1000 (168 of them) and the last 16.
SIEVE_INPUT = (1000).to_bytes(4, "little")
JOB = Resources(1_000, 1_024)
DURATION = 600
BUYER_TOKENS = 1_000 * TOKEN
BIG = Resources(16_000, 65_536, 500, 2, label("A100"), label("eu-west"))


@dataclass
class Listing:
    name: str
    capacity: Resources
    prices: HourlyPrices
    paused: bool = False


# Providers 3..7: three that can run JOB at different prices, one paused (cheapest of all),
# one too small for JOB, and one in another region with another GPU.
LISTINGS = [
    Listing("mid", BIG, HourlyPrices(2 * 10**8, 2 * 10**7, 3 * 10**9, 10**6)),
    Listing("cheap", Resources(4_000, 8_192, 50, 0, label(""), label("eu-west")),
            HourlyPrices(10**8 + 7, 10**7 + 3, 0, 10**6)),
    Listing("dear", Resources(8_000, 16_384, 100, 1, label("H100"), label("us-east")),
            HourlyPrices(9 * 10**8, 9 * 10**7, 5 * 10**9, 10**7)),
    Listing("paused", BIG, HourlyPrices(10**6, 10**5, 10**6, 10**3), paused=True),
    Listing("small", Resources(500, 512, 0, 0, label(""), label("eu-west")), HourlyPrices(10**6, 10**5, 0, 10**3)),
]


class Market:
    """The deployed market with LISTINGS registered, and two buyers' web3.py wallets."""

    def __init__(self, system, contracts, accounts):
        self.s, self.contracts, self.web3 = system, contracts, contracts.web3
        # Buyers are wallets of their own (as a person's would be), funded with ether and tokens.
        self.buyer, self.other_buyer = Account.create(), Account.create()
        for wallet in (self.buyer, self.other_buyer):
            accounts[0].transfer(wallet.address, 10 * 10**18)
            system.token.transfer(wallet.address, BUYER_TOKENS, {"from": accounts[1]})
        self.arbiter = accounts[9]
        self.providers = {}
        for listing, who in zip(LISTINGS, list(accounts)[3:8], strict=True):
            system.token.approve(system.registry, 2**256 - 1, {"from": who})
            system.registry.register(listing.capacity.as_tuple(), listing.prices.as_tuple(),
                                     f"https://{listing.name}.example", 1_000 * TOKEN, {"from": who})
            if listing.paused:
                system.registry.pause({"from": who})
            self.providers[listing.name] = who

    def balance(self, address) -> int:
        return int(self.contracts.token.functions.balanceOf(str(address)).call())

    def nonce(self, address) -> int:
        return int(self.web3.eth.get_transaction_count(str(address)))

    def quote(self, provider, resources: Resources = JOB, duration: int = DURATION) -> int:
        return int(self.contracts.registry.functions.quote(str(provider), resources.as_tuple(), duration).call())

    def take(self, terms: JobTerms, provider) -> None:
        """The provider takes the job at its own price (Running)."""
        self.s.market.take(terms.as_tuple(), self.quote(provider, terms.resources, terms.duration_seconds),
                           {"from": provider})

    def deliver(self, terms: JobTerms, provider, blobs: BlobClient, *, record: ResultRecord | None = None
                ) -> ResultRecord:
        """The provider's work: take the job, run it (unless `record` is given: a made-up
        result), publish the record on the blob node and submit its hash."""
        self.take(terms, provider)
        if record is None:
            spec = JobSpec.decode(blobs.fetch(terms.spec_hash.hex()))
            record = run_module(blobs.fetch(spec.module), blobs.fetch(spec.input), spec.limits).record
        blobs.upload(record.encode())
        self.s.market.submitResult(terms.job_id, record.result_hash, {"from": provider})
        return record


@pytest.fixture
def market(system, contracts, accounts) -> Market:
    return Market(system, contracts, accounts)


@pytest.fixture
def blob_node(tmp_path):
    """A real blob service on 127.0.0.1 (any free port); its URL."""
    server = BlobServer(BlobSettings(dir=tmp_path / "node-blobs", host="127.0.0.1", port=0, peers="",
                                     public_url=""), tmp_path)
    server.start()
    yield server
    server.stop()


def client(directory: Path, node: BlobServer, max_bytes: int = 16 * 2**20) -> BlobClient:
    return BlobClient(BlobStore(directory, max_bytes), [node.url], 5.0)


@pytest.fixture
def blobs(tmp_path, blob_node):
    """The buyer's blob client: its own store, the node as its one peer."""
    with client(tmp_path / "buyer-blobs", blob_node) as c:
        yield c


@pytest.fixture
def provider_blobs(tmp_path, blob_node):
    """A provider's blob client (another machine: a store of its own)."""
    with client(tmp_path / "provider-blobs", blob_node) as c:
        yield c
