"""A live market for the node tests: providers and buyers with keys of their own, driven
over web3.py (not brownie), a provider bot that plays each provider's part (well, or badly),
a clock that runs the chain's time faster than the wall's, and `agora node` processes.

Only the setup uses brownie's accounts (to fund the actors); once the nodes run, every
transaction here is signed locally with a nonce this module tracks, so brownie's own
nonce bookkeeping is never crossed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from agora.chain.contracts import MarketContracts
from agora.market.protocol import TOKEN
from agora.market.terms import HourlyPrices, JobTerms, Resources, label

ROOT = Path(__file__).resolve().parents[3]
ETHER = 10**18
REGIONS = [label("eu-west"), label("us-east")]


class Signer:
    """Sends transactions from one local key with its own nonce counter."""

    def __init__(self, web3: Web3, account: LocalAccount):
        self.web3, self.account = web3, account
        self.nonce = web3.eth.get_transaction_count(account.address, "pending")
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, call, gas: int = 1_500_000) -> bytes:
        with self.lock:
            tx = call.build_transaction({"from": self.address, "nonce": self.nonce, "gas": gas,
                                         "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9,
                                         "chainId": self.web3.eth.chain_id})
            signed = self.account.sign_transaction(tx)
            self.nonce += 1
        return self.web3.eth.send_raw_transaction(signed.raw_transaction)

    def do(self, call, gas: int = 1_500_000) -> dict:
        receipt = self.web3.eth.wait_for_transaction_receipt(self.send(call, gas), timeout=30)
        assert receipt["status"] == 1, f"{call.fn_name} reverted"
        return receipt


@dataclass
class Provider:
    signer: Signer
    behaviour: str  # "good" | "decline" | "sleep" (never accepts) | "deadbeat" (accepts, never delivers)
    capacity: Resources
    prices: HourlyPrices


@dataclass
class Market:
    """The actors of one deployed market."""

    web3: Web3
    contracts: MarketContracts
    providers: list[Provider] = field(default_factory=list)
    buyers: list[Signer] = field(default_factory=list)
    posted: dict[bytes, JobTerms] = field(default_factory=dict)
    salts: int = 0

    def post_jobs(self, n: int, rng: random.Random, duration: int = 60) -> list[JobTerms]:
        now = self.web3.eth.get_block("latest")["timestamp"]
        hashes, out = [], []
        for i in range(n):
            buyer = self.buyers[i % len(self.buyers)]
            self.salts += 1
            terms = JobTerms(
                buyer.address, 50 * TOKEN, keccak(text=f"spec {self.salts}"), duration, now + 86_400, self.salts,
                Resources(rng.choice((500, 1000, 2000)), rng.choice((512, 1024, 2048)), rng.randint(0, 5), 0,
                          label(""), rng.choice(REGIONS + [label("")])),
            )
            hashes.append(buyer.send(self.contracts.market.functions.post(terms.as_tuple())))
            self.posted[terms.job_id] = terms
            out.append(terms)
        for h in hashes:
            assert self.web3.eth.wait_for_transaction_receipt(h, timeout=60)["status"] == 1
        return out


def build_market(web3: Web3, contracts: MarketContracts, brownie_accounts, behaviours: list[str],
                 buyers: int, rng: random.Random) -> Market:
    """Funds and registers one provider per behaviour and `buyers` buyers (ether from
    brownie's first account, tokens from the distribution's holders)."""
    market = Market(web3, contracts)
    holder = brownie_accounts[1]
    token = contracts.token.functions
    hashes = []
    for behaviour in behaviours:
        account = Account.create()
        brownie_accounts[0].transfer(account.address, 10 * ETHER)
        hashes.append(_brownie_token_transfer(web3, contracts, holder, account.address, 5_000 * TOKEN))
        capacity = Resources(8_000, 16_384, 100, 0, label(""), rng.choice(REGIONS))
        prices = HourlyPrices(rng.randint(5, 30) * 10**7, rng.randint(1, 5) * 10**7, 0, rng.randint(1, 9) * 10**5)
        market.providers.append(Provider(Signer(web3, account), behaviour, capacity, prices))
    for _ in range(buyers):
        account = Account.create()
        brownie_accounts[0].transfer(account.address, 10 * ETHER)
        hashes.append(_brownie_token_transfer(web3, contracts, holder, account.address, 1_000_000 * TOKEN))
        market.buyers.append(Signer(web3, account))
    for h in hashes:
        web3.eth.wait_for_transaction_receipt(h, timeout=30)
    registry = contracts.registry.functions
    pending = []
    for p in market.providers:
        p.signer.nonce = web3.eth.get_transaction_count(p.signer.address, "pending")
        pending.append(p.signer.send(token.approve(contracts.registry.address, 2**256 - 1)))
        pending.append(p.signer.send(registry.register(p.capacity.as_tuple(), p.prices.as_tuple(),
                                                       "https://provider.example", 2_000 * TOKEN)))
    for b in market.buyers:
        b.nonce = web3.eth.get_transaction_count(b.address, "pending")
        pending.append(b.send(token.approve(contracts.market.address, 2**256 - 1)))
    for h in pending:
        assert web3.eth.wait_for_transaction_receipt(h, timeout=30)["status"] == 1
    return market


def _brownie_token_transfer(web3: Web3, contracts: MarketContracts, holder, to: str, amount: int) -> bytes:
    from brownie import Contract

    token = Contract.from_abi("AgoraToken", contracts.token.address, contracts.token.abi)
    tx = token.transfer(to, amount, {"from": holder})
    return bytes.fromhex(tx.txid[2:])


class ProviderBot(threading.Thread):
    """Plays every provider: on each JobMatched naming one, accepts and delivers at once
    ("good"), declines ("decline"), does nothing ("sleep"), or accepts and never delivers
    ("deadbeat"). Reads the chain's events itself, never a node's database."""

    def __init__(self, market: Market):
        super().__init__(daemon=True)
        self.market, self.stop = market, threading.Event()
        self.by_address = {p.signer.address: p for p in market.providers}
        self.errors: list[str] = []
        self.acted: dict[str, int] = {}

    def run(self) -> None:
        web3, market = self.market.web3, self.market.contracts.market
        start = web3.eth.block_number
        while not self.stop.is_set():
            head = web3.eth.block_number
            if head >= start:
                try:
                    for log in market.events.JobMatched().get_logs(from_block=start, to_block=head):
                        self._on_match(log["args"])
                except Exception as exc:  # noqa: BLE001 - reported by the test, never swallowed
                    self.errors.append(repr(exc))
                start = head + 1
            self.stop.wait(0.1)

    def _on_match(self, args) -> None:
        provider = self.by_address.get(args["provider"])
        if provider is None:
            return
        job_id = bytes(args["jobId"])
        terms = self.market.posted[job_id]
        market = self.market.contracts.market.functions
        self.acted[provider.behaviour] = self.acted.get(provider.behaviour, 0) + 1
        if provider.behaviour == "decline":
            provider.signer.send(market.decline(terms.as_tuple()))
        elif provider.behaviour in ("good", "deadbeat"):
            provider.signer.send(market.accept(job_id))
            if provider.behaviour == "good":
                provider.signer.send(market.submitResult(job_id, keccak(job_id)))


class Clock(threading.Thread):
    """Runs the chain's clock `speed` times faster than the wall's, by mining a block every
    `tick` seconds with the difference added."""

    def __init__(self, web3: Web3, speed: float = 4.0, tick: float = 0.25):
        super().__init__(daemon=True)
        self.web3, self.speed, self.tick, self.stop = web3, speed, tick, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.tick):
            self.web3.provider.make_request("evm_increaseTime", [int(self.tick * (self.speed - 1)) or 1])
            self.web3.provider.make_request("evm_mine", [])


def node_env(rpc_url: str, deployments: Path, database_url: str, key: str, state_dir: Path, redis_url: str = "",
             **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    env.update({
        "AGORA_RPC_URL": rpc_url, "AGORA_DEPLOYMENTS_DIR": str(deployments), "AGORA_DATABASE_URL": database_url,
        "AGORA_WALLET_PRIVATE_KEY": key, "AGORA_STATE_DIR": str(state_dir), "AGORA_REDIS_URL": redis_url,
        "AGORA_POLL_INTERVAL_SECONDS": "0.05", "AGORA_MATCHMAKER_INTERVAL_SECONDS": "0.5",
        "AGORA_KEEPER_INTERVAL_SECONDS": "0.5", "AGORA_SENDER_STUCK_AFTER_SECONDS": "10",
        "AGORA_KEEPER_SETTLE": "all", "AGORA_CONFIRMATIONS": "0", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class Service:
    """`agora <args>` in a process of its own, its output in <logs>/<name>.log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path):
        self.name, self.log = name, logs / f"{name}.log"
        self.out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "agora.cli", *args], env=env, stdout=self.out,
                                        stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.out.close()
        return code

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        self.process.kill()
        self.process.wait()
        self.out.close()

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name}\n" + "\n".join(self.log.read_text().splitlines()[-lines:])


class NodeProcess(Service):
    """`agora node` in a process of its own, its output in the log file `log`."""

    def __init__(self, env: dict[str, str], log: Path):
        super().__init__(log.stem, ["node", "--progress", "2"], env, log.parent)


def wait_until(condition, timeout: float, what: str, every: float = 0.25, on_timeout=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")


BAD = ["decline", "sleep", "deadbeat"]

# Rows that differ between two nodes by design: their own transactions, and bookkeeping
# shaped by how their indexers happened to batch blocks.
NODE_TABLES = {"outgoing_transactions", "outgoing_transaction_hashes", "sender_wallets", "indexed_batches",
               "undo_entries", "indexer_checkpoints"}


def dump_market(url: str) -> dict[str, list[tuple]]:
    """Every projected market row, as the indexer tests compare them, without a node's own tables."""
    from indexkit import dump

    return dump(url, skip=NODE_TABLES)
