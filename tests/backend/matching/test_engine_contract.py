"""Differential test: every match the engine proposes passes the contract's own checks.

A market is deployed on anvil; 30-40 providers list random capacity, regions, GPU models and
prices with stakes just around the minimum stake plus collateral (some paused, some unable to
back even one job), and buyers post random jobs whose ceilings lie around the providers'
quotes, in rounds. Each round the engine's inputs are read back FROM THE CHAIN (`providerOf`,
`JobPosted` logs and `jobOf`, the current parameter version), at one pinned block, and:

* every proposal is simulated with `eth_call matchJob(terms, provider, proposal.price)` from the
  matchmaker at the latest block (it must not revert), then sent as a real transaction, in the
  engine's order, so the next simulation sees the capacity and stake the earlier ones took; the
  emitted price and collateral must be the proposal's, and after the batch each provider's used
  capacity and locked collateral must have moved by exactly its jobs' resources and collaterals;
* a sample of (provider, job) pairs, eligible or not by `agora.matching.ineligibility`, is
  simulated at the pinned block: an eligible pair must go through, an ineligible one must revert
  with the contract's error for the engine's reason.

Between rounds matched jobs are cancelled, declined (the provider slashed, the job re-opened),
completed, or left running until a keeper slashes the missed deadline; time moves on so jobs
expire; listings, pauses and (through the timelock) the collateral and stake parameters change.
Later rounds are so contended again, on providers whose stake and reputation have moved.

The seed is fixed per run; `AGORA_DIFFERENTIAL_SEEDS=1,2,3` runs other instances.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from brownie import web3
from eth_utils import keccak, to_checksum_address
from onchain import BatchRpc, Market, matched_log, outcome

from agora.market.states import JobState, ProviderStatus
from agora.market.terms import HourlyPrices, JobTerms, Resources, label, quote
from agora.matching import (
    ANY,
    MatchingEngine,
    MatchRules,
    OpenJob,
    Proposal,
    ProviderState,
    collateral_for,
    ineligibility,
)

TOKEN = 10**18
STEP = 2_000  # seconds of chain time between rounds; expiries sit half-way between two rounds
TARGET_PROPOSALS = 1_000
MAX_ROUNDS = 16
JOBS_PER_ROUND = (150, 220)
REGIONS = [label("eu-west"), label("us-east"), label("ap-south")]
MODELS = [label("A100"), label("H100"), label("L4")]
RESOURCES = ("cpu_millicores", "memory_mib", "storage_gib", "gpu_count")  # IProviderRegistry.Resource order
SEEDS = [int(seed) for seed in os.environ.get("AGORA_DIFFERENTIAL_SEEDS", "20261128").split(",")]

# The contract's error for each reason `ineligibility` gives.
ERROR_OF = {
    "expired": "JobPastExpiry",
    "status": "ProviderStatusMismatch",
    "region": "RegionMismatch",
    "gpu_model": "GpuModelMismatch",
    **{f"capacity:{name}": "InsufficientCapacity" for name in RESOURCES},
    "price": "PriceAboveCeiling",
    "stake": "InsufficientStake",
}


@dataclass
class Tally:
    proposals: int = 0
    rejections: Counter = field(default_factory=Counter)  # decoded error name -> count
    mismatches: list[str] = field(default_factory=list)  # emitted price/collateral or bookkeeping off
    pairs: Counter = field(default_factory=Counter)  # ("eligible" | reason, "agree" | "disagree")
    disagreements: list[str] = field(default_factory=list)
    edges: int = 0  # sampled pairs at a wei from the price or stake boundary
    stake_bound: int = 0  # providers the round's matches left without stake for even the least collateral
    left_over: int = 0  # jobs some provider could take at a round's start that the engine left unmatched
    posted: int = 0
    released: Counter = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # wall time by phase

    def timed(self, phase: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[phase] += now - started
        return now


# -- random instances -----------------------------------------------------------------------------


def random_listing(rng: random.Random, region: bytes) -> tuple[Resources, HourlyPrices]:
    gpus = rng.choice([0, 0, 0, 1, 2, 4, 8])
    # A GPU model with no GPUs: it must never satisfy a job that needs one.
    model = rng.choice(MODELS) if gpus or rng.random() < 0.3 else ANY
    capacity = Resources(rng.choice([4_000, 16_000, 32_000, 64_000]), rng.choice([8_192, 65_536, 262_144]),
                         rng.choice([100, 1_000, 4_000]), gpus, model, region)
    return capacity, random_prices(rng)


def random_prices(rng: random.Random) -> HourlyPrices:
    return HourlyPrices(rng.randint(5 * 10**7, 3 * 10**8), rng.randint(10**6, 2 * 10**7),
                        rng.randint(10**9, 4 * 10**9), rng.randint(10**5, 10**6))


def random_stake(rng: random.Random, min_stake: int) -> int:
    """Around the minimum stake plus collateral: room for a job or a few, exactly one minimum
    collateral, or not even that."""
    kind = rng.random()
    if kind < 0.1:
        return min_stake + 1 * TOKEN  # exactly one minimum-collateral job (free == required)
    if kind < 0.2:
        return min_stake + rng.randint(0, TOKEN - 1)  # never enough for any job
    if kind < 0.5:
        return min_stake + rng.randint(2 * TOKEN, 10 * TOKEN)  # a few jobs
    return min_stake + rng.randint(20 * TOKEN, 200 * TOKEN)


def random_job(rng: random.Random, buyer: str, providers: list[ProviderState], round_start: int,
               salt: int) -> JobTerms:
    gpus = rng.choice([0] * 6 + [1, 1, 2, 4])
    # A GPU model on a job without GPUs is ignored by the contract.
    model = rng.choice([*MODELS, ANY]) if gpus or rng.random() < 0.2 else ANY
    resources = Resources(rng.choice([250, 500, 1_000, 2_000, 4_000, 8_000]),
                          rng.choice([256, 1_024, 4_096, 8_192, 16_384]), rng.choice([0, 0, 10, 50, 200]),
                          gpus, model, rng.choice([*REGIONS, ANY, ANY]))
    duration = rng.choice([600, 1_800, 3_600, 7_200, 14_400])
    # The ceiling lies around some provider's quote: exactly it, a little under or over, far off.
    reference = quote(resources, duration, rng.choice(providers).prices)
    num, den = rng.choice([(1, 1), (1, 1), (9, 10), (11, 10), (3, 2), (2, 1), (1, 2), (5, 1)])
    max_price = max(1, reference * num // den + rng.choice([0, 0, -1, 1]))
    expires = round_start + rng.randint(0, 2) * STEP + STEP // 2
    return JobTerms(buyer, max_price, keccak(text=f"spec {salt}"), duration, expires, salt, resources)


# -- the test ---------------------------------------------------------------------------------------


class Driver:
    """The deployed market, its actors, and what the test has sent."""

    def __init__(self, contracts, accounts, seed: int):
        self.rng = random.Random(seed)
        self.rpc = BatchRpc(web3.provider.endpoint_uri)  # type: ignore[attr-defined]
        self.m = Market(contracts, self.rpc)
        self.buyers = [str(a.address) for a in list(accounts)[1:5]]
        self.matchmaker, self.keeper, self.funder = (str(accounts[i].address) for i in (5, 6, 8))
        self.timelock: str = contracts.timelock.address
        self.deploy_block = self.rpc.block_number()
        self.providers: list[str] = [to_checksum_address(keccak(text=f"provider {seed} {i}")[-20:])
                                     for i in range(self.rng.randint(30, 40))]
        self.posted: list[JobTerms] = []  # from the JobPosted logs read so far
        self.read_to = self.deploy_block
        self.final: set[bytes] = set()  # jobs seen Completed or Refunded: never Open again
        self.running: list[JobTerms] = []  # accepted and left to miss their deadline
        self.expired: list[JobTerms] = []  # Open but expired at the last snapshot: a keeper expires them
        self.salt = 0

    def send_all(self, sends: Sequence[tuple[str, str, str]]) -> None:
        """Sends (sender, to, data) and mines them in a few blocks (one block per transaction
        costs anvil far more); each must succeed. A phase's transactions must not depend on
        another sender's in the same phase."""
        receipts = self.rpc.send_and_mine(sends)
        failed = [(s[0], s[2][:10]) for s, r in zip(sends, receipts, strict=True) if int(r["status"], 16) != 1]
        assert not failed, f"set-up transactions reverted: {failed[:5]}"

    def setup(self) -> None:
        rpc, m, rng = self.rpc, self.m, self.rng
        rpc.call("evm_setAutomine", [False])  # every transaction is mined explicitly (`close` restores it)
        for who in [*self.providers, self.timelock]:
            rpc.call("anvil_impersonateAccount", [who])
            rpc.call("anvil_setBalance", [who, hex(10**21)])
        min_stake = m.params.decode("minProviderStake", rpc.batch([m.params.call("minProviderStake")])[0])
        sends = [(self.timelock, m.params.address, m.params.data("setAcceptWindowSeconds", 3_600))]
        sends += [(b, m.token.address, m.token.data("approve", m.market.address, 2**256 - 1)) for b in self.buyers]
        registrations = []
        for i, provider in enumerate(self.providers):
            capacity, prices = random_listing(rng, rng.choice(REGIONS))
            stake = random_stake(rng, min_stake)
            sends += [
                (self.funder, m.token.address, m.token.data("transfer", provider, 1_000 * TOKEN)),
                (provider, m.token.address, m.token.data("approve", m.registry.address, 2**256 - 1)),
            ]
            registrations.append((provider, m.registry.address, m.registry.data(
                "register", capacity.as_tuple(), prices.as_tuple(), f"https://p{i}.example", stake)))
            if rng.random() < 0.15:
                registrations.append((provider, m.registry.address, m.registry.data("pause")))
        self.send_all(sends)
        self.send_all(registrations)

    def close(self) -> None:
        self.rpc.call("evm_setAutomine", [True])

    def between_rounds(self, number: int) -> None:
        """Time moves on a step; some listings change, pause or resume; now and then
        governance moves the collateral and stake parameters (a new parameter version)."""
        rpc, m, rng = self.rpc, self.m, self.rng
        rpc.call("evm_increaseTime", [STEP])
        rpc.call("evm_mine", [])
        states = m.providers(self.providers)
        sends = []
        for p in states:
            if rng.random() < 0.15:
                sends.append((p.address, m.registry.address, m.registry.data(
                    "updateListing", p.capacity.as_tuple(), random_prices(rng).as_tuple(), "https://moved.example")))
            if p.status == ProviderStatus.ACTIVE and rng.random() < 0.05:
                sends.append((p.address, m.registry.address, m.registry.data("pause")))
            elif p.status == ProviderStatus.PAUSED and rng.random() < 0.5:
                sends.append((p.address, m.registry.address, m.registry.data("resume")))
        if number % 3 == 0:
            params = m.params
            sends += [
                (self.timelock, params.address, params.data("setCollateralRatioBps", rng.choice([0, 10_000, 15_000,
                                                                                              30_000]))),
                (self.timelock, params.address, params.data("setMinJobCollateral", rng.choice([1, 2, 3]) * TOKEN)),
                (self.timelock, params.address, params.data("setMinProviderStake", rng.choice([90, 100, 110]) * TOKEN)),
            ]
        # A keeper slashes the jobs left running past their deadline: they re-open.
        _, now = m.block()
        if self.running:
            records = m.jobs([t.job_id for t in self.running])
            due = [t for t, job in zip(self.running, records, strict=True)
                   if job[1] == JobState.RUNNING and now > job[2] + 1]
            self.running = [t for t in self.running if t not in due]
            sends += [(self.keeper, m.market.address, m.market.data("slashMissedDeadline", t.as_tuple())) for t in due]
        # Jobs that were already expired a round ago are refunded (jobs that expired since stay
        # Open for the round, so the pairs see the expiry rule).
        sends += [(self.keeper, m.market.address, m.market.data("expire", t.as_tuple())) for t in self.expired]
        self.send_all(sends)

    def post_jobs(self, count: int, providers: list[ProviderState], round_start: int) -> int:
        sends = []
        for _ in range(count):
            self.salt += 1
            buyer = self.rng.choice(self.buyers)
            terms = random_job(self.rng, buyer, providers, round_start, self.salt)
            sends.append((buyer, self.m.market.address, self.m.market.data("post", terms.as_tuple())))
        self.send_all(sends)
        return count

    def snapshot(self) -> tuple[int, MatchRules, list[ProviderState], list[OpenJob]]:
        """The engine's inputs, read from the chain at one block."""
        m = self.m
        block, now = m.block()
        self.posted += m.posted(self.read_to + 1, block)
        self.read_to = block
        posted = [t for t in self.posted if t.job_id not in self.final]
        records = m.jobs([t.job_id for t in posted], block)
        opened = []
        for terms, job in zip(posted, records, strict=True):
            if job[1] in (JobState.COMPLETED, JobState.REFUNDED):
                self.final.add(terms.job_id)
            elif job[1] == JobState.OPEN:
                opened.append(OpenJob(terms.job_id, terms))
        self.expired = [j.terms for j in opened if now >= j.terms.expires_at]
        return block, m.rules(block, now), m.providers(self.providers, block), opened

    def check_pairs(self, block: int, rules: MatchRules, providers: list[ProviderState], jobs: list[OpenJob],
                    tally: Tally, per_reason: int = 10) -> None:
        """Both directions on a sample of pairs: `ineligibility` against eth_call at the pinned block."""
        by_reason: dict[str, list[tuple[ProviderState, OpenJob]]] = {}
        edges = []  # the price within a wei of the ceiling, or the free stake within a wei of what is required
        for p in providers:
            for job in jobs:
                reason = ineligibility(p, job.terms, rules) or "eligible"
                by_reason.setdefault(reason, []).append((p, job))
                if reason in ("eligible", "price", "stake"):
                    price = quote(job.terms.resources, job.terms.duration_seconds, p.prices)
                    required = rules.min_provider_stake + collateral_for(price, rules)
                    if abs(price - job.terms.max_price) <= 1 or abs(p.stake - p.locked_collateral - required) <= 1:
                        edges.append((reason, p, job))
        sample = self.rng.sample(edges, min(2 * per_reason, len(edges)))
        tally.edges += len(sample)
        for reason, pairs in sorted(by_reason.items()):
            take = 3 * per_reason if reason == "eligible" else per_reason
            sample += [(reason, p, j) for p, j in self.rng.sample(pairs, min(take, len(pairs)))]
        calls = [self.m.match_call(j.terms, p.address, quote(j.terms.resources, j.terms.duration_seconds, p.prices),
                                   self.matchmaker, block) for _, p, j in sample]
        for (reason, p, job), answer in zip(sample, self.rpc.batch(calls), strict=True):
            got = outcome(answer).error
            if reason == "eligible":
                agree = got is None
            else:
                agree = got is not None and got.name == ERROR_OF[reason]
                if got is not None and agree and reason.startswith("capacity:"):
                    agree = got.args["resource"] == RESOURCES.index(reason.split(":")[1])
            tally.pairs[reason, "agree" if agree else "disagree"] += 1
            if not agree:
                tally.disagreements.append(f"{reason}: {p.address} job 0x{job.job_id.hex()[:12]} -> {got}")

    def submit(self, proposals: list[Proposal], rules: MatchRules, providers: list[ProviderState], jobs: list[OpenJob],
               tally: Tally) -> list[tuple[JobTerms, str]]:
        """Each proposal simulated at the latest block, then sent; returns the matched (terms, provider)."""
        m, rpc = self.m, self.rpc
        terms_of = {j.job_id: j.terms for j in jobs}
        booked = {p.address: (list(p.used.as_tuple()[:4]), p.locked_collateral) for p in providers}
        matched = []
        ahead = None  # the next proposal's simulation, read in the same batch as the last receipt
        for position, proposal in enumerate(proposals):
            terms = terms_of[proposal.job_id]
            tally.proposals += 1
            call = m.match_call(terms, proposal.provider, proposal.price, self.matchmaker)
            answer = ahead if ahead is not None else rpc.batch([call])[0]
            ahead = None
            rejected = outcome(answer).error
            if rejected is not None:
                tally.rejections[rejected.name] += 1
                tally.mismatches.append(f"rejected 0x{proposal.job_id.hex()[:12]} on {proposal.provider}: {rejected}")
                continue
            sent = rpc.send(self.matchmaker, m.market.address, call[1][0]["data"])
            rpc.call("evm_mine", [])
            following = proposals[position + 1:position + 2]
            receipt, *rest = rpc.batch([
                ("eth_getTransactionReceipt", [sent]),
                *(m.match_call(terms_of[f.job_id], f.provider, f.price, self.matchmaker) for f in following)])
            ahead = rest[0] if rest else None
            if int(receipt["result"]["status"], 16) != 1:
                tally.rejections["sent and reverted"] += 1
                continue
            job_id, provider, price, collateral = matched_log(receipt["result"])
            if (job_id, provider, price, collateral) != (proposal.job_id, proposal.provider, proposal.price,
                                                         proposal.collateral):
                tally.mismatches.append(f"emitted {price}/{collateral} for a proposal of {proposal}")
            used, locked = booked[proposal.provider]
            need = terms.resources.as_tuple()[:4]
            used, locked = [u + n for u, n in zip(used, need, strict=True)], locked + proposal.collateral
            booked[proposal.provider] = (used, locked)
            matched.append((terms, proposal.provider))
        # Each provider's capacity in use and locked collateral moved by exactly the proposals'
        # resources and collateral (read once per round: a read per match costs a tenth of the time).
        for state in m.providers([p.address for p in providers]):
            if (list(state.used.as_tuple()[:4]), state.locked_collateral) != booked[state.address]:
                tally.mismatches.append(f"{state.address} used {state.used} locked {state.locked_collateral}, "
                                        f"expected {booked[state.address]}")
        # How often the stake rule, not capacity or price, stopped a provider within the batch.
        least = rules.min_provider_stake + rules.min_job_collateral
        tally.stake_bound += sum(1 for p in providers if p.address in {q.provider for q in proposals}
                                 and p.stake - booked[p.address][1] < least)
        return matched

    def release(self, matched: list[tuple[JobTerms, str]], tally: Tally) -> None:
        """Matched jobs end: cancelled, declined (re-opened), completed, or left running."""
        m, sends, submits, confirms = self.m.market, [], [], []
        for terms, provider in matched:
            fate = self.rng.choices(["cancel", "decline", "complete", "run"], [65, 15, 12, 8])[0]
            tally.released[fate] += 1
            if fate == "cancel":
                sends.append((terms.buyer, m.address, m.data("cancel", terms.as_tuple())))
            elif fate == "decline":
                sends.append((provider, m.address, m.data("decline", terms.as_tuple())))
            else:
                sends.append((provider, m.address, m.data("accept", terms.job_id)))
                if fate == "run":
                    self.running.append(terms)
                    continue
                submits.append((provider, m.address, m.data("submitResult", terms.job_id, keccak(text="done"))))
                confirms.append((terms.buyer, m.address, m.data("confirm", terms.as_tuple())))
        for phase in (sends, submits, confirms):
            self.send_all(phase)


def run(driver: Driver, tally: Tally) -> int:
    """Rounds of post, read back, sample pairs, match, simulate and send, release; the number run."""
    clock = time.perf_counter()
    driver.setup()
    clock = tally.timed("set-up", clock)
    for number in range(MAX_ROUNDS):
        if tally.proposals >= TARGET_PROPOSALS:
            return number
        if number:
            driver.between_rounds(number)
            clock = tally.timed("between rounds", clock)
        _, round_start = driver.m.block()
        listed = driver.m.providers(driver.providers)
        tally.posted += driver.post_jobs(driver.rng.randint(*JOBS_PER_ROUND), listed, round_start)
        clock = tally.timed("post", clock)
        block, rules, providers, jobs = driver.snapshot()
        clock = tally.timed("read inputs", clock)
        driver.check_pairs(block, rules, providers, jobs, tally)
        clock = tally.timed("pairs", clock)
        proposals = MatchingEngine(providers, rules).match(jobs)
        clock = tally.timed("engine", clock)
        proposed = {q.job_id for q in proposals}
        tally.left_over += sum(1 for j in jobs if j.job_id not in proposed
                               and any(ineligibility(p, j.terms, rules) is None for p in providers))
        matched = driver.submit(proposals, rules, providers, jobs, tally)
        clock = tally.timed("simulate+send", clock)
        driver.release(matched, tally)
        clock = tally.timed("release", clock)
    return MAX_ROUNDS


@pytest.mark.parametrize("seed", SEEDS)
def test_EveryProposalPassesTheContractsChecks(seed, contracts, accounts):
    tally = Tally()
    driver = Driver(contracts, accounts, seed)
    try:
        rounds = run(driver, tally)
    finally:
        driver.close()

    pairs = sum(tally.pairs.values())
    agreed = sum(n for (_, verdict), n in tally.pairs.items() if verdict == "agree")
    print(f"\nseed {seed}: {len(driver.providers)} providers, {tally.posted} jobs posted, {rounds} rounds; "
          f"{tally.proposals} proposals, {sum(tally.rejections.values())} rejected {dict(tally.rejections)}; "
          f"pairs {agreed}/{pairs} agree ({tally.edges} a wei from the price or stake boundary); "
          f"{tally.left_over} jobs left to contention, "
          f"{tally.stake_bound} times a provider's stake ran out within a batch; "
          f"by reason {dict(sorted(tally.pairs.items()))}; released {dict(tally.released)}; "
          f"seconds {({k: round(v, 1) for k, v in tally.seconds.items()})}")
    assert tally.proposals >= TARGET_PROPOSALS
    assert tally.left_over and tally.stake_bound  # the batches were contended, and the stake rule bit
    assert tally.edges  # and the pairs reached the boundaries the wei matters at
    assert not tally.rejections, tally.mismatches[:10]
    assert not tally.mismatches, tally.mismatches[:10]
    assert not tally.disagreements, tally.disagreements[:10]
    # The sample reached every rule, in both directions.
    reasons = {reason for reason, _ in tally.pairs}
    assert {"eligible", "expired", "status", "region", "gpu_model", "price", "stake"} <= reasons, reasons
    assert any(r.startswith("capacity:") for r in reasons), reasons
