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
`max_candidates` eligible ones.

A batch is matched greedily in order of regret (jobs with few or much worse alternatives
first), and every assignment is booked at once: the provider's free capacity and free stake
shrink (and it moves capacity class), so no provider is over-committed within the batch. A
final pass moves a job to a cheaper provider or swaps two jobs' providers when that lowers
the total price, for batches small enough to afford it.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from agora.market.states import ProviderStatus
from agora.market.terms import HourlyPrices, JobTerms, Resources, label, quote

ANY = label("")  # bytes16(0): any region, any GPU model
BPS = 10_000


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
    if price > terms.max_price:
        return "price"
    if provider.stake - provider.locked_collateral < rules.min_provider_stake + collateral_for(price, rules):
        return "stake"
    return None


def _cls(free: int) -> int:
    """Capacity class of a free amount: 0 for none, else 1 + floor(log2(free))."""
    return free.bit_length()


@dataclass(eq=False)
class _Slot:
    """The engine's mutable view of one provider during a batch."""

    index: int
    state: ProviderState
    rank: float
    reputation: float
    cap: tuple[int, int, int, int]
    used: list[int]
    locked: int
    klass: tuple[int, int] = (0, 0)
    keys: tuple = field(default_factory=tuple)

    def free(self, i: int) -> int:
        return self.cap[i] - self.used[i]

    def capacity_class(self) -> tuple[int, int]:
        return (_cls(self.free(3)), _cls(self.free(0)))


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
        bisect.insort(members, (slot.rank, slot.index, slot))

    def remove(self, slot: _Slot) -> None:
        members = self.classes[slot.klass]
        at = bisect.bisect_left(members, (slot.rank, slot.index))
        assert members[at][2] is slot
        del members[at]

    def classes_for(self, gpu_class: int, cpu_class: int):
        """Class keys that may hold a job of these classes, tightest first."""
        start = bisect.bisect_left(self.order, (gpu_class, 0))
        for key in self.order[start:]:
            if key[1] >= cpu_class:
                yield key


class MatchingEngine:
    """Indexes a set of providers once; `match` proposes assignments for a batch of jobs.

    Bookkeeping persists across `match` calls on the same engine (the proposals are taken to
    be submitted); build a new engine from fresh chain state to start over.
    """

    def __init__(
        self,
        providers: list[ProviderState],
        rules: MatchRules,
        weights: ScoreWeights = DEFAULT_WEIGHTS,
        *,
        max_candidates: int = 64,
        improve_limit: int = 64,
    ) -> None:
        self.rules = rules
        self.weights = weights
        self.max_candidates = max_candidates
        self.improve_limit = improve_limit
        self.buckets: dict[tuple[bytes, bytes], _Bucket] = {}
        self.slots: list[_Slot] = []
        self._price_ref = 0  # during a batch: its highest ceiling (see `match`)
        for p in providers:
            if p.status != ProviderStatus.ACTIVE:
                continue  # never eligible: not indexed at all
            c, u = p.capacity, p.used
            rep = reputation(p)
            # Job-independent order inside a class: reputation, then cheap list prices.
            list_price = p.prices.cpu_core_gwei + 4 * p.prices.memory_gib_gwei + p.prices.gpu_gwei
            slot = _Slot(
                index=len(self.slots),
                state=p,
                rank=-(weights.reputation * rep) + weights.price * math.log1p(list_price) / 64,
                reputation=rep,
                cap=(c.cpu_millicores, c.memory_mib, c.storage_gib, c.gpu_count),
                used=[u.cpu_millicores, u.memory_mib, u.storage_gib, u.gpu_count],
                locked=p.locked_collateral,
            )
            slot.klass = slot.capacity_class()
            slot.keys = ((c.region, c.gpu_model), (c.region, ANY), (ANY, c.gpu_model), (ANY, ANY))
            for key in slot.keys:
                bucket = self.buckets.get(key)
                if bucket is None:
                    bucket = self.buckets[key] = _Bucket()
                bucket.add(slot)
            self.slots.append(slot)

    # -- eligibility and score on the engine's bookkeeping --------------------------------

    def _evaluate(self, slot: _Slot, terms: JobTerms, need: tuple[int, int, int, int]):
        """(score, price, collateral) if the contract would accept this pair now, else None.

        Region, GPU model and status hold by construction of the bucket; they are checked
        again anyway, since they are cheap and the contract checks them.
        """
        p, r = slot.state, terms.resources
        if r.region != ANY and r.region != p.capacity.region:
            return None
        if need[3] != 0 and r.gpu_model != ANY and r.gpu_model != p.capacity.gpu_model:
            return None
        cap, used = slot.cap, slot.used
        if (
            used[0] + need[0] > cap[0]
            or used[1] + need[1] > cap[1]
            or used[2] + need[2] > cap[2]
            or used[3] + need[3] > cap[3]
        ):
            return None
        price = quote(r, terms.duration_seconds, p.prices)
        if price > terms.max_price:
            return None
        collateral = collateral_for(price, self.rules)
        free_stake = p.stake - slot.locked
        required = self.rules.min_provider_stake + collateral
        if free_stake < required:
            return None
        w = self.weights
        score = 0.0
        if w.price:
            ref = self._price_ref or terms.max_price
            score += w.price * (1.0 - price / ref if ref else 1.0)
        if w.reputation:
            score += w.reputation * slot.reputation
        if w.stake:
            score += w.stake * ((free_stake - collateral) / free_stake if free_stake else 0.0)
        if w.packing:
            parts = [(used[i] + need[i]) / cap[i] for i in (0, 1, 3) if cap[i]]
            score += w.packing * (sum(parts) / len(parts) if parts else 0.0)
        return score, price, collateral

    def candidates(self, job: OpenJob):
        """Scored eligible candidates of a job, best first: [(score, price, collateral, slot)]."""
        terms = job.terms
        if self.rules.now >= terms.expires_at:
            return []
        r = terms.resources
        need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
        model = r.gpu_model if r.gpu_count != 0 else ANY
        bucket = self.buckets.get((r.region, model))
        if bucket is None:
            return []
        found = []
        # Within a class the first eligible providers are the best-ranked ones; take a few
        # per class so both tight fits and roomier, cheaper providers are considered.
        # Each class is read at most 8 times that far, so refusals (mostly price or stake)
        # cannot turn the lookup into a scan of a large class.
        per_class = max(4, self.max_candidates // 4)
        for key in bucket.classes_for(_cls(need[3]), _cls(need[0])):
            taken = 0
            for _, _, slot in bucket.classes[key][: 8 * per_class]:
                scored = self._evaluate(slot, terms, need)
                if scored is not None:
                    found.append((scored[0], scored[1], scored[2], slot))
                    taken += 1
                    if taken >= per_class:
                        break
            if len(found) >= self.max_candidates:
                break
        found.sort(key=lambda c: (-c[0], c[1], c[3].index))
        return found

    # -- bookkeeping ----------------------------------------------------------------------

    def _book(self, slot: _Slot, need, collateral: int, sign: int) -> None:
        before = slot.klass
        for i in range(4):
            slot.used[i] += sign * need[i]
        slot.locked += sign * collateral
        after = slot.capacity_class()
        if after != before:
            for key in slot.keys:
                self.buckets[key].remove(slot)
            slot.klass = after
            for key in slot.keys:
                self.buckets[key].add(slot)

    # -- batch ----------------------------------------------------------------------------

    def match(self, jobs: list[OpenJob]) -> list[Proposal]:
        """Proposes at most one provider per job; every proposal holds given the earlier ones."""
        # Prices are scored against the batch's highest ceiling, one scale for every job, so
        # the batch's total score falls by exactly the total price (times the weight / scale).
        self._price_ref = max((job.terms.max_price for job in jobs), default=0)
        try:
            return self._match(jobs)
        finally:
            self._price_ref = 0

    def _match(self, jobs: list[OpenJob]) -> list[Proposal]:
        # Regret order: a job whose best choice is much better than its next (or that has a
        # single candidate) goes first, so it is not crowded out by a job with alternatives.
        ordered: list[tuple[float, int, int, OpenJob]] = []
        for position, job in enumerate(jobs):
            if len(jobs) == 1:  # nothing to order
                ordered.append((0.0, 0, 0, job))
                break
            found = self.candidates(job)
            if not found:
                continue
            regret = found[0][0] - found[1][0] if len(found) > 1 else math.inf
            ordered.append((-regret, len(found), position, job))
        ordered.sort(key=lambda o: o[:3])

        chosen: dict[int, tuple] = {}  # position -> (job, need, score, price, collateral, slot)
        for _, _, position, job in ordered:
            found = self.candidates(job)
            if not found:
                continue
            score, price, collateral, slot = found[0]
            r = job.terms.resources
            need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
            self._book(slot, need, collateral, +1)
            chosen[position] = (job, need, score, price, collateral, slot)

        if len(jobs) > 1 and 0 < len(chosen) <= self.improve_limit:
            unmatched = {position: job for _, _, position, job in ordered if position not in chosen}
            if len(unmatched) <= self.improve_limit:
                self._improve(chosen, unmatched)

        return [
            Proposal(job.job_id, slot.state.address, price, collateral, score)
            for _, (job, _, score, price, collateral, slot) in sorted(chosen.items())
        ]

    def _improve(self, chosen: dict[int, tuple], unmatched: dict[int, OpenJob]) -> None:
        """Local search on small batches, while the total score rises (ties: the total price
        falls): move one job to another provider, swap two jobs' providers, or exchange a
        matched job for an unmatched one."""
        for _ in range(4 * (len(chosen) + len(unmatched))):
            if not (self._try_move(chosen) or self._try_swap(chosen) or self._try_exchange(chosen, unmatched)):
                return

    def _try_exchange(self, chosen, unmatched) -> bool:
        for position, (job, need, score, price, collateral, slot) in list(chosen.items()):
            self._book(slot, need, collateral, -1)
            for other_position, other in unmatched.items():
                found = self.candidates(other)
                if found and _better(found[0][0], found[0][1], score, price):
                    new_score, new_price, new_collateral, new_slot = found[0]
                    r = other.terms.resources
                    new_need = (r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)
                    self._book(new_slot, new_need, new_collateral, +1)
                    del chosen[position], unmatched[other_position]
                    chosen[other_position] = (other, new_need, new_score, new_price, new_collateral, new_slot)
                    unmatched[position] = job
                    return True
            self._book(slot, need, collateral, +1)
        return False

    def _try_move(self, chosen) -> bool:
        for position, (job, need, score, price, collateral, slot) in chosen.items():
            self._book(slot, need, collateral, -1)
            for new_score, new_price, new_collateral, other in self.candidates(job):
                if other is not slot and _better(new_score, new_price, score, price):
                    self._book(other, need, new_collateral, +1)
                    chosen[position] = (job, need, new_score, new_price, new_collateral, other)
                    return True
            self._book(slot, need, collateral, +1)
        return False

    def _try_swap(self, chosen) -> bool:
        items = list(chosen.items())
        for i, (pa, a) in enumerate(items):
            for pb, b in items[i + 1:]:
                if a[5] is b[5]:
                    continue
                self._book(a[5], a[1], a[4], -1)
                self._book(b[5], b[1], b[4], -1)
                # a moves to b's provider, b to a's, each booked before the other is checked.
                na = self._evaluate(b[5], a[0].terms, a[1])
                if na is not None:
                    self._book(b[5], a[1], na[2], +1)
                    nb = self._evaluate(a[5], b[0].terms, b[1])
                    if nb is not None and _better(na[0] + nb[0], na[1] + nb[1], a[2] + b[2], a[3] + b[3]):
                        self._book(a[5], b[1], nb[2], +1)
                        chosen[pa] = (a[0], a[1], na[0], na[1], na[2], b[5])
                        chosen[pb] = (b[0], b[1], nb[0], nb[1], nb[2], a[5])
                        return True
                    self._book(b[5], a[1], na[2], -1)
                self._book(a[5], a[1], a[4], +1)
                self._book(b[5], b[1], b[4], +1)
        return False


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
