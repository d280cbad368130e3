"""Matches open jobs to providers with exactly the contract's rules, and scores the choice.

Eligibility mirrors `ProviderRegistry.reserve` and `JobMarket._reserve` to the wei:

* the job has not expired (`now < expiresAt`);
* the provider is Active;
* a job region other than zero bytes must equal the provider's region;
* a job that needs GPUs and names a GPU model must match the provider's model;
* `used + needed <= capacity` for CPU, memory, storage and GPUs;
* `price = quote(resources, duration, prices) <= maxPrice`;
* `collateral = max(price * collateralRatioBps // 10_000, minJobCollateral)` and the
  provider's free stake (`stake - lockedCollateral`) is at least `minProviderStake + collateral`.

Candidates come from indexes, never a scan of every provider: each provider sits in four
(region, GPU model) buckets (its own region and model, and ANY in either place), and inside a
bucket in capacity classes keyed by its free GPUs and free CPU (powers of two). A job reads
one bucket and only the classes that can hold it, tightest first, and within a class the
providers in order of a job-independent rank (reputation and list prices), stopping after
`max_candidates` eligible ones. The per-candidate check is plain integer arithmetic on the
provider's free amounts and pre-scaled prices (the quote to the wei, as `Pricing.quote`), so
a typical decision costs well under a tenth of a millisecond.

A batch is matched greedily in order of regret (jobs with few or much worse alternatives
first), and every assignment is booked at once: the provider's free capacity and free stake
shrink (and it moves capacity class), so no provider is over-committed within the batch.

Greedy can miss the best assignment, so a small batch (at most `exact_jobs` jobs) is then
solved exactly over each job's first `exact_candidates` eligible providers: a branch and
bound over those candidates and "unmatched", with the batch's capacity and stake
bookkeeping, that maximizes the number of jobs matched and then the total score (with price
the only weight: minimizes the total price), seeded with greedy's assignment and stopped
after `exact_nodes` nodes (keeping the best assignment found, never worse than greedy's).
Jobs that share no candidate provider are searched apart. A larger batch, up to
`improve_limit` jobs, gets local search instead: move a job to a better provider, swap two
jobs' providers, or exchange a matched job for an unmatched one. A lone job is simply given
its best-scored candidate.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from agora.market.states import ProviderStatus
from agora.market.terms import (
    GWEI,
    MIB_PER_GIB,
    MILLICORES_PER_CORE,
    SECONDS_PER_HOUR,
    HourlyPrices,
    JobTerms,
    Resources,
    label,
    quote,
)

ANY = label("")  # bytes16(0): any region, any GPU model
BPS = 10_000
_PRICE_SCALE = MILLICORES_PER_CORE * MIB_PER_GIB
_QUOTE_DIVISOR = _PRICE_SCALE * SECONDS_PER_HOUR


@dataclass
class ProviderState:
    """A provider as the registry holds it (amounts in token wei)."""

    address: str
    status: int
    capacity: Resources  # region and gpu_model are the provider's
    used: Resources  # region and gpu_model are ignored
    prices: HourlyPrices
    stake: int
    locked_collateral: int = 0
    completed: int = 0
    missed_deadlines: int = 0
    lapsed_matches: int = 0
    disputes_lost: int = 0


@dataclass(frozen=True)
class OpenJob:
    job_id: bytes
    terms: JobTerms


@dataclass(frozen=True)
class MatchRules:
    """The parameter version a match settles under, and the time it is expected to land."""

    min_provider_stake: int
    collateral_ratio_bps: int
    min_job_collateral: int
    now: int


@dataclass(frozen=True)
class ScoreWeights:
    """How much each part of the score counts; every part lies in [0, 1], higher is better.

    price: 1 - price / the highest ceiling of the batch (one scale for the whole batch, so
        a higher total score is a lower total price); for a lone job, its own ceiling.
    reputation: (completed + 1) / (completed + 2 + 2 * slashed + lapsed).
    stake: the free stake left after the match, relative to the free stake before.
    packing: the provider's mean utilisation (CPU, memory, GPUs it has) after the match.
    """

    price: float = 1.0
    reputation: float = 0.5
    stake: float = 0.1
    packing: float = 0.2


DEFAULT_WEIGHTS = ScoreWeights()


@dataclass(frozen=True)
class Proposal:
    job_id: bytes
    provider: str
    price: int
    collateral: int
    score: float


def collateral_for(price: int, rules: MatchRules) -> int:
    """`JobMarket._collateral`: price times the ratio in basis points, at least the minimum."""
    return max(price * rules.collateral_ratio_bps // BPS, rules.min_job_collateral)


def reputation(p: ProviderState) -> float:
    slashed = p.missed_deadlines + p.disputes_lost
    return (p.completed + 1) / (p.completed + 2 + 2 * slashed + p.lapsed_matches)


def ineligibility(provider: ProviderState, terms: JobTerms, rules: MatchRules) -> str | None:
    """Why the contract would refuse to match `terms` to `provider` now (None: it would not).

    The one-pair check, straight from the contract, for callers and tests; the engine
    applies the same rules on its own bookkeeping.
    """
    r, cap, used = terms.resources, provider.capacity, provider.used
    if rules.now >= terms.expires_at:
        return "expired"
    if provider.status != ProviderStatus.ACTIVE:
        return "status"
    if r.region != ANY and r.region != cap.region:
        return "region"
    if r.gpu_count != 0 and r.gpu_model != ANY and r.gpu_model != cap.gpu_model:
        return "gpu_model"
    for name in ("cpu_millicores", "memory_mib", "storage_gib", "gpu_count"):
        if getattr(used, name) + getattr(r, name) > getattr(cap, name):
            return f"capacity:{name}"
    price = quote(r, terms.duration_seconds, provider.prices)
    # In the contract's order: the registry checks the stake (for the collateral of the
    # price it quotes) before the market compares that price with the ceiling.
    if provider.stake - provider.locked_collateral < rules.min_provider_stake + collateral_for(price, rules):
        return "stake"
    if price > terms.max_price:
        return "price"
    return None


def _cls(free: int) -> int:
    """Capacity class of a free amount: 0 for none, else 1 + floor(log2(free))."""
    return free.bit_length()


class _Slot:
    """The engine's mutable view of one provider during a batch: free amounts and prices
    pre-scaled for `Pricing.quote`, as plain attributes for the hot loop."""

    __slots__ = (
        "index", "state", "rank", "reputation", "region", "model",
        "cap_cpu", "cap_mem", "cap_gpu", "inv_cpu", "inv_mem", "inv_gpu", "parts",
        "free_cpu", "free_mem", "free_sto", "free_gpu", "free_stake",
        "k_cpu", "k_mem", "k_gpu", "k_sto", "klass", "entry", "keys",
    )

    def __init__(self, index: int, p: ProviderState, rank: float, rep: float) -> None:
        c, u, prices = p.capacity, p.used, p.prices
        self.index = index
        self.state = p
        self.rank = rank
        self.reputation = rep
        self.region = c.region
        self.model = c.gpu_model
        self.cap_cpu, self.cap_mem, self.cap_gpu = c.cpu_millicores, c.memory_mib, c.gpu_count
        # Packing: the mean of used / capacity over the CPU, memory and GPUs the provider has.
        self.inv_cpu = 1 / c.cpu_millicores if c.cpu_millicores else 0.0
        self.inv_mem = 1 / c.memory_mib if c.memory_mib else 0.0
        self.inv_gpu = 1 / c.gpu_count if c.gpu_count else 0.0
        self.parts = (c.cpu_millicores > 0) + (c.memory_mib > 0) + (c.gpu_count > 0)
        self.free_cpu = c.cpu_millicores - u.cpu_millicores
        self.free_mem = c.memory_mib - u.memory_mib
        self.free_sto = c.storage_gib - u.storage_gib
        self.free_gpu = c.gpu_count - u.gpu_count
        self.free_stake = p.stake - p.locked_collateral
        # quote = (cpu*k_cpu + mem*k_mem + gpus*k_gpu + storage*k_sto) * GWEI * seconds // divisor
        self.k_cpu = prices.cpu_core_gwei * MIB_PER_GIB
        self.k_mem = prices.memory_gib_gwei * MILLICORES_PER_CORE
        self.k_gpu = prices.gpu_gwei * _PRICE_SCALE
        self.k_sto = prices.storage_gib_gwei * _PRICE_SCALE
        self.klass = self.capacity_class()
        self.entry = (rank, index, self)
        self.keys = ((c.region, c.gpu_model), (c.region, ANY), (ANY, c.gpu_model), (ANY, ANY))

    def capacity_class(self) -> tuple[int, int]:
        return (_cls(self.free_gpu), _cls(self.free_cpu))


class _Bucket:
    """Providers of one (region, GPU model) key, by capacity class, each class in rank order."""

    __slots__ = ("classes", "order")

    def __init__(self) -> None:
        self.classes: dict[tuple[int, int], list[tuple[float, int, _Slot]]] = {}
        self.order: list[tuple[int, int]] = []  # class keys, sorted

    def add(self, slot: _Slot) -> None:
        members = self.classes.get(slot.klass)
        if members is None:
            members = self.classes[slot.klass] = []
            bisect.insort(self.order, slot.klass)
        bisect.insort(members, slot.entry)

    def remove(self, slot: _Slot) -> None:
        members = self.classes[slot.klass]
        at = bisect.bisect_left(members, (slot.rank, slot.index))
        assert members[at][2] is slot
        del members[at]

    def classes_for(self, gpu_class: int, cpu_class: int) -> Iterator[list[tuple[float, int, _Slot]]]:
        """Member lists of the classes that may hold a job of these classes, tightest first."""
        order, classes = self.order, self.classes
        for at in range(bisect.bisect_left(order, (gpu_class, 0)), len(order)):
            key = order[at]
            if key[1] >= cpu_class:
                members = classes[key]
                if members:
                    yield members


# A scored candidate: (-score, price, provider index, collateral, slot); the smallest is the
# best (highest score, then lowest price, then first listed), so `min` picks and `sort` ranks.
_Candidate = tuple[float, int, int, int, _Slot]
# A matched job during a batch: (job, need, -score, price, collateral, slot).
_Chosen = tuple[OpenJob, tuple[int, int, int, int], float, int, int, _Slot]
# A job's option in the exact search: (value, price, collateral, slot, need).
_Option = tuple[float, int, int, _Slot, tuple[int, int, int, int]]


class MatchingEngine:
    """Indexes a set of providers once; `match` proposes assignments for a batch of jobs.

    Bookkeeping persists across `match` calls on the same engine (the proposals are taken to
    be submitted); build a new engine from fresh chain state to start over.

    max_candidates: eligible providers scored per job (more: better choices, slower).
    improve_limit: local search runs on batches with at most this many matched jobs.
    exact_jobs: batches of 2 to this many jobs are solved exactly (0: never).
    exact_candidates: eligible providers scored per job of such a batch, if more than
        `max_candidates` (a few jobs can afford a wider look).
    exact_nodes: the exact search stops after this many nodes, keeping the best found.
    """

    def __init__(
        self,
        providers: list[ProviderState],
        rules: MatchRules,
        weights: ScoreWeights = DEFAULT_WEIGHTS,
        *,
        max_candidates: int = 16,
        improve_limit: int = 64,
        exact_jobs: int = 10,
        exact_candidates: int = 64,
        exact_nodes: int = 20_000,
    ) -> None:
        self.rules = rules
        self.weights = weights
        self.max_candidates = max_candidates
        self.improve_limit = improve_limit
        self.exact_jobs = exact_jobs
        self.exact_candidates = exact_candidates
        self.exact_nodes = exact_nodes
        self._limit = max_candidates  # during a batch: the candidates per job it may score
        self.exact_nodes_used = 0  # nodes the last exact search visited (for tests and tuning)
        self.buckets: dict[tuple[bytes, bytes], _Bucket] = {}
        self.slots: list[_Slot] = []
        self._price_ref = 0  # during a batch: its highest ceiling (see `match`)
        for p in providers:
            if p.status != ProviderStatus.ACTIVE:
                continue  # never eligible: not indexed at all
            rep = reputation(p)
            # Job-independent order inside a class: reputation, then cheap list prices.
            list_price = p.prices.cpu_core_gwei + 4 * p.prices.memory_gib_gwei + p.prices.gpu_gwei
            rank = -(weights.reputation * rep) + weights.price * math.log1p(list_price) / 64
            slot = _Slot(len(self.slots), p, rank, rep)
            for key in slot.keys:
                bucket = self.buckets.get(key)
                if bucket is None:
                    bucket = self.buckets[key] = _Bucket()
                bucket.add(slot)
            self.slots.append(slot)

    # -- eligibility and score on the engine's bookkeeping --------------------------------

    def _evaluate(self, slot: _Slot, terms: JobTerms) -> tuple[float, int, int] | None:
        """(score, price, collateral) if the contract would accept this pair now, else None."""
        found = self._scan(terms, [[slot.entry]], 1, 1, labels=True)
        if not found:
            return None
        neg_score, price, _, collateral, _ = found[0]
        return -neg_score, price, collateral

    def _scan(
        self,
        terms: JobTerms,
        lists: Iterable[list[tuple[float, int, _Slot]]],
        per_list: int,
        limit: int,
        labels: bool = False,
    ) -> list[_Candidate]:
        """Scores the eligible providers of `lists` (each in rank order): at most `per_list`
        from each list, reading at most 8 times that many, and stops after `limit`.

        The one hot loop of the engine: every check is the contract's, on local integers.
        Status, region and GPU model hold by construction of a bucket; `labels` checks the
        last two for providers from elsewhere.
        """
        r = terms.resources
        cpu, mem, sto, gpus = r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count
        region = r.region if labels and r.region != ANY else None
        model = r.gpu_model if labels and gpus and r.gpu_model != ANY else None
        check_labels = region is not None or model is not None
        divisor = _QUOTE_DIVISOR
        max_price = terms.max_price
        factor = GWEI * terms.duration_seconds
        rules = self.rules
        ratio, min_collateral = rules.collateral_ratio_bps, rules.min_job_collateral
        min_stake = rules.min_provider_stake
        w = self.weights
        w_price, w_rep, w_stake, w_pack = w.price, w.reputation, w.stake, w.packing
        ref = self._price_ref or max_price
        price_scale = w_price / ref if ref else 0.0
        found: list[_Candidate] = []
        reads = 8 * per_list
        for members in lists:
            taken = 0
            for _, index, s in members[:reads] if len(members) > reads else members:
                if s.free_cpu < cpu or s.free_mem < mem or s.free_sto < sto or s.free_gpu < gpus:
                    continue
                if check_labels and ((region is not None and s.region != region) or (
                        model is not None and s.model != model)):
                    continue
                price = (cpu * s.k_cpu + mem * s.k_mem + gpus * s.k_gpu + sto * s.k_sto) * factor // divisor
                if price > max_price:
                    continue
                collateral = price * ratio // BPS
                if collateral < min_collateral:
                    collateral = min_collateral
                free_stake = s.free_stake
                if free_stake < min_stake + collateral:
                    continue
                score = w_price - price * price_scale if w_price else 0.0
                if w_rep:
                    score += w_rep * s.reputation
                if w_stake and free_stake:
                    score += w_stake * (free_stake - collateral) / free_stake
                if w_pack and s.parts:
                    score += w_pack * (
                        (s.cap_cpu - s.free_cpu + cpu) * s.inv_cpu
                        + (s.cap_mem - s.free_mem + mem) * s.inv_mem
                        + (s.cap_gpu - s.free_gpu + gpus) * s.inv_gpu
                    ) / s.parts
                found.append((-score, price, index, collateral, s))
                taken += 1
                if taken >= per_list:
                    break
            if len(found) >= limit:
                break
        return found

    def _scored(self, job: OpenJob) -> list[_Candidate]:
        terms = job.terms
        if self.rules.now >= terms.expires_at:
            return []
        r = terms.resources
        bucket = self.buckets.get((r.region, r.gpu_model if r.gpu_count != 0 else ANY))
        if bucket is None:
            return []
        # Within a class the first eligible providers are the best-ranked ones; take a few
        # per class so both tight fits and roomier, cheaper providers are considered.
        # Each class is read at most 8 times that far, so refusals (mostly price or stake)
        # cannot turn the lookup into a scan of a large class.
        limit = max(self._limit, self.max_candidates)
        lists = bucket.classes_for(_cls(r.gpu_count), _cls(r.cpu_millicores))
        return self._scan(terms, lists, max(4, limit // 4), limit)

    def candidates(self, job: OpenJob) -> list[tuple[float, int, int, _Slot]]:
        """Scored eligible candidates of a job, best first: [(score, price, collateral, slot)]."""
        return [(-c[0], c[1], c[3], c[4]) for c in sorted(self._scored(job))]

    # -- bookkeeping ----------------------------------------------------------------------

    def _book(self, slot: _Slot, need: tuple[int, int, int, int], collateral: int, sign: int) -> None:
        slot.free_cpu -= sign * need[0]
        slot.free_mem -= sign * need[1]
        slot.free_sto -= sign * need[2]
        slot.free_gpu -= sign * need[3]
        slot.free_stake -= sign * collateral
        after = (slot.free_gpu.bit_length(), slot.free_cpu.bit_length())
        if after != slot.klass:
            buckets = self.buckets
            for key in slot.keys:
                buckets[key].remove(slot)
            slot.klass = after
            for key in slot.keys:
                buckets[key].add(slot)

    # -- batch ----------------------------------------------------------------------------

    def match(self, jobs: list[OpenJob]) -> list[Proposal]:
        """Proposes at most one provider per job; every proposal holds given the earlier ones."""
        if len(jobs) == 1:
            return self._match_one(jobs[0])
        # Prices are scored against the batch's highest ceiling, one scale for every job, so
        # the batch's total score falls by exactly the total price (times the weight / scale).
        self._price_ref = max((job.terms.max_price for job in jobs), default=0)
        if len(jobs) <= self.exact_jobs:
            self._limit = self.exact_candidates
        try:
            return self._match(jobs)
        finally:
            self._price_ref = 0
            self._limit = self.max_candidates

    def _match_one(self, job: OpenJob) -> list[Proposal]:
        """A lone job (a matchmaker following new jobs): its best candidate, booked."""
        found = self._scored(job)
        if not found:
            return []
        neg_score, price, _, collateral, slot = min(found)
        r = job.terms.resources
        self._book(slot, (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count), collateral, +1)
        return [Proposal(job.job_id, slot.state.address, price, collateral, -neg_score)]

    def _match(self, jobs: list[OpenJob]) -> list[Proposal]:
        # Regret order: a job whose best choice is much better than its next (or that has a
        # single candidate) goes first, so it is not crowded out by a job with alternatives.
        ordered: list[tuple[float, int, int, OpenJob]] = []
        at_start: dict[int, list[_Candidate]] = {}  # for the exact search: candidates before any booking
        small = len(jobs) <= self.exact_jobs
        for position, job in enumerate(jobs):
            found = self._scored(job)
            if not found:
                continue
            found.sort()
            if small:
                at_start[position] = found
            regret = found[1][0] - found[0][0] if len(found) > 1 else math.inf
            ordered.append((-regret, len(found), position, job))
        ordered.sort(key=lambda o: o[:3])

        chosen: dict[int, _Chosen] = {}
        for _, _, position, job in ordered:
            found = self._scored(job)
            if not found:
                continue
            neg_score, price, _, collateral, slot = min(found)
            r = job.terms.resources
            need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
            self._book(slot, need, collateral, +1)
            chosen[position] = (job, need, neg_score, price, collateral, slot)

        if small and at_start:
            # The exact search starts from greedy's assignment; local search first would only
            # tighten its bound, at several times its cost on a batch of ten.
            chosen = self._exact(jobs, chosen, at_start)
        elif 0 < len(chosen) <= self.improve_limit:
            unmatched = {position: job for _, _, position, job in ordered if position not in chosen}
            if len(unmatched) <= self.improve_limit:
                self._improve(chosen, unmatched)

        return [
            Proposal(job.job_id, slot.state.address, price, collateral, -neg_score)
            for _, (job, _, neg_score, price, collateral, slot) in sorted(chosen.items())
        ]

    # -- local search ---------------------------------------------------------------------

    def _improve(self, chosen: dict[int, _Chosen], unmatched: dict[int, OpenJob]) -> None:
        """Local search on small batches, while the total score rises (ties: the total price
        falls): move one job to another provider, swap two jobs' providers, or exchange a
        matched job for an unmatched one."""
        for _ in range(4 * (len(chosen) + len(unmatched))):
            if not (self._try_move(chosen) or self._try_swap(chosen) or self._try_exchange(chosen, unmatched)):
                return

    def _try_exchange(self, chosen: dict[int, _Chosen], unmatched: dict[int, OpenJob]) -> bool:
        for position, (job, need, neg_score, price, collateral, slot) in list(chosen.items()):
            self._book(slot, need, collateral, -1)
            for other_position, other in unmatched.items():
                found = self._scored(other)
                if not found:
                    continue
                best = min(found)
                if _better(-best[0], best[1], -neg_score, price):
                    new_neg_score, new_price, _, new_collateral, new_slot = best
                    r = other.terms.resources
                    new_need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
                    self._book(new_slot, new_need, new_collateral, +1)
                    del chosen[position], unmatched[other_position]
                    chosen[other_position] = (other, new_need, new_neg_score, new_price, new_collateral, new_slot)
                    unmatched[position] = job
                    return True
            self._book(slot, need, collateral, +1)
        return False

    def _try_move(self, chosen: dict[int, _Chosen]) -> bool:
        for position, (job, need, neg_score, price, collateral, slot) in chosen.items():
            self._book(slot, need, collateral, -1)
            for new_neg_score, new_price, _, new_collateral, other in sorted(self._scored(job)):
                if other is not slot and _better(-new_neg_score, new_price, -neg_score, price):
                    self._book(other, need, new_collateral, +1)
                    chosen[position] = (job, need, new_neg_score, new_price, new_collateral, other)
                    return True
            self._book(slot, need, collateral, +1)
        return False

    def _try_swap(self, chosen: dict[int, _Chosen]) -> bool:
        items = list(chosen.items())
        for i, (pa, a) in enumerate(items):
            for pb, b in items[i + 1:]:
                if a[5] is b[5]:
                    continue
                self._book(a[5], a[1], a[4], -1)
                self._book(b[5], b[1], b[4], -1)
                # a moves to b's provider, b to a's, each booked before the other is checked.
                na = self._evaluate(b[5], a[0].terms)
                if na is not None:
                    self._book(b[5], a[1], na[2], +1)
                    nb = self._evaluate(a[5], b[0].terms)
                    if nb is not None and _better(na[0] + nb[0], na[1] + nb[1], -a[2] - b[2], a[3] + b[3]):
                        self._book(a[5], b[1], nb[2], +1)
                        chosen[pa] = (a[0], a[1], -na[0], na[1], na[2], b[5])
                        chosen[pb] = (b[0], b[1], -nb[0], nb[1], nb[2], a[5])
                        return True
                    self._book(b[5], a[1], na[2], -1)
                self._book(a[5], a[1], a[4], +1)
                self._book(b[5], b[1], b[4], +1)
        return False

    # -- exact search on small batches ----------------------------------------------------

    def _exact(
        self, jobs: list[OpenJob], chosen: dict[int, _Chosen], at_start: dict[int, list[_Candidate]]
    ) -> dict[int, _Chosen]:
        """The best assignment of a small batch: most jobs matched, then the highest total
        score, then the lowest total price; `chosen` (greedy + local search) if none beats it.

        Each pair is valued as at the batch's start (its stake and packing parts then do not
        depend on the order the batch is booked in); the search books capacity and stake on
        the providers' free amounts as the contract would, and undoes it on the way back.
        The price part is kept apart from the rest of the score, so prices far below the
        batch's ceiling still compare exactly.
        """
        if any(all(c[4] is not slot for c in at_start[position]) for position, (*_, slot) in chosen.items()):
            return chosen  # greedy went beyond the candidates listed at the start: keep it
        w_price = self.weights.price
        ref = self._price_ref
        price_scale = w_price / ref if ref else 0.0
        # Start state: undo the greedy bookings (their free amounts come back exactly).
        for _, need, _, _, collateral, slot in chosen.values():
            self._book(slot, need, collateral, -1)

        def value(c: _Candidate) -> float:
            """The pair's score less the constant w_price: rest - price * w_price / ref. The rest
            comes back exactly as `_scan` summed it (0.0 when price is the only weight)."""
            price_part = w_price - c[1] * price_scale if w_price else 0.0
            return (-c[0] - price_part) - c[1] * price_scale

        # Jobs with fewest candidates first: they decide most, and fail fast.
        order = sorted(at_start, key=lambda position: (len(at_start[position]), position))
        options: list[list[_Option]] = []
        for position in order:
            r = jobs[position].terms.resources
            need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
            options.append(sorted(
                ((value(c), c[1], c[3], c[4], need) for c in at_start[position]),
                key=lambda o: (-o[0], o[1], o[3].index),
            ))
        # The incumbent: the greedy assignment.
        incumbent = [-1] * len(order)
        for i, position in enumerate(order):
            if position in chosen:
                slot = chosen[position][5]
                incumbent[i] = next(k for k, o in enumerate(options[i]) if o[3] is slot)

        # Jobs that share no candidate provider, even through others, do not interact: each
        # such group is searched alone, so the nodes add up instead of multiplying.
        group = list(range(len(order)))

        def root(i: int) -> int:
            while group[i] != i:
                group[i] = group[group[i]]
                i = group[i]
            return i

        first_job: dict[int, int] = {}
        for i, opts in enumerate(options):
            for o in opts:
                j = first_job.setdefault(o[3].index, i)
                group[root(i)] = root(j)
        groups: dict[int, list[int]] = {}
        for i in range(len(order)):
            groups.setdefault(root(i), []).append(i)

        best_pick = incumbent[:]
        self.exact_nodes_used = 0
        for members in groups.values():
            picked, nodes = _branch_and_bound(
                [options[i] for i in members], [incumbent[i] for i in members],
                self.exact_nodes - self.exact_nodes_used, self.rules.min_provider_stake,
            )
            self.exact_nodes_used += nodes
            for i, at in zip(members, picked, strict=True):
                best_pick[i] = at

        # Book the winner, scoring each pair as it is booked (as greedy would report it).
        result: dict[int, _Chosen] = {}
        for i, position in enumerate(order):
            at = best_pick[i]
            if at < 0:
                continue
            job = jobs[position]
            _, _, _, slot, need = options[i][at]
            scored = self._evaluate(slot, job.terms)
            assert scored is not None, "the exact search booked a pair the contract would refuse"
            score, price, collateral = scored
            self._book(slot, need, collateral, +1)
            result[position] = (job, need, -score, price, collateral, slot)
        return result


def _branch_and_bound(
    options: list[list[_Option]], incumbent: list[int], budget: int, min_stake: int
) -> tuple[list[int], int]:
    """The best pick (an option index per job, -1: unmatched) by most jobs, then highest total
    value, then lowest total price, and the nodes visited; the incumbent unless beaten.

    Books capacity and stake on the slots' free amounts as it goes down, as the contract
    would, and restores them exactly on the way back. Options are in falling value.
    """
    n = len(options)
    # Upper bounds for jobs i.. : each matched at its best value.
    rest_best = [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        rest_best[i] = rest_best[i + 1] + max(0.0, options[i][0][0])
    best_pick = incumbent
    best_count = sum(1 for at in incumbent if at >= 0)
    best_value = sum(options[i][at][0] for i, at in enumerate(incumbent) if at >= 0)
    best_price = sum(options[i][at][1] for i, at in enumerate(incumbent) if at >= 0)
    pick = [-1] * n
    nodes = 0

    def search(i: int, count: int, val: float, price: int) -> None:
        nonlocal best_count, best_value, best_price, best_pick, nodes
        nodes += 1
        if i == n:
            if count > best_count or (count == best_count and (
                    val > best_value or (val == best_value and price < best_price))):
                best_count, best_value, best_price, best_pick = count, val, price, pick[:]
            return
        if nodes > budget:
            return
        remaining = n - i
        if count + remaining < best_count:
            return
        if count + remaining == best_count and val + rest_best[i] < best_value:
            return
        for k, (v, p, collateral, s, need) in enumerate(options[i]):
            if count + remaining == best_count and val + v + rest_best[i + 1] < best_value:
                break  # options are in falling value: no later one does better
            if (s.free_cpu < need[0] or s.free_mem < need[1] or s.free_sto < need[2] or s.free_gpu < need[3]
                    or s.free_stake < min_stake + collateral):
                continue
            s.free_cpu -= need[0]
            s.free_mem -= need[1]
            s.free_sto -= need[2]
            s.free_gpu -= need[3]
            s.free_stake -= collateral
            pick[i] = k
            search(i + 1, count + 1, val + v, price + p)
            s.free_cpu += need[0]
            s.free_mem += need[1]
            s.free_sto += need[2]
            s.free_gpu += need[3]
            s.free_stake += collateral
        pick[i] = -1
        if count + remaining - 1 >= best_count:
            search(i + 1, count, val, price)

    search(0, 0, 0.0, 0)
    return best_pick, nodes


def _better(score: float, price: int, than_score: float, than_price: int) -> bool:
    """A higher score, or the same score (within float noise) at a lower price."""
    if score > than_score + 1e-12:
        return True
    return score >= than_score - 1e-12 and price < than_price


def match_jobs(
    providers: list[ProviderState],
    jobs: list[OpenJob],
    rules: MatchRules,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    **options,
) -> list[Proposal]:
    """One batch: index `providers`, match `jobs`, return the proposals."""
    return MatchingEngine(providers, rules, weights, **options).match(jobs)
