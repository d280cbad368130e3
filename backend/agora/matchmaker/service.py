"""The matchmaker: reads open jobs and providers from the read model, lets the engine
propose matches, and sends each with the price it expects.

Anyone may match, so several nodes race for the same jobs. Losing a race is normal and
cheap here: every match is simulated (`eth_call`) before it is signed, so a job another
node matched first, or a provider whose listing changed, costs no gas and no nonce; it is
counted as a lost race by the contract's own error name and never retried blindly (the
job is simply read again next round, in whatever state the chain left it).

Independent nodes mostly reach different jobs first without talking to each other: each
node waits before matching a job for a delay drawn from hash(job id, node address) in
[0, stagger_seconds). For any two nodes the job goes to whichever drew the shorter delay,
and the other finds it matched before its own turn comes. A job older than the stagger
is open to every node, so no job waits on a node that went away.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from eth_utils import keccak, to_checksum_address
from sqlalchemy.orm import Session, sessionmaker

from agora.chain.contracts import ContractRevert, MarketContracts
from agora.config import MatchmakerSettings
from agora.db import queries
from agora.market.terms import HourlyPrices, Resources, label, terms_of
from agora.matching import MatchingEngine, MatchRules, OpenJob, ProviderState, ScoreWeights
from agora.sender import AlreadySent, InsufficientFunds, TooManyInFlight, TransactionSender

log = logging.getLogger("agora.matchmaker")

MATCH = "match"  # the sender key prefix of this service's transactions


@dataclass
class MatchReport:
    """One round: what was considered and what became of it."""

    block: int = 0
    open_jobs: int = 0
    waiting: int = 0  # open jobs whose stagger delay (for this node) has not run out
    proposed: int = 0
    sent: int = 0
    in_flight: int = 0  # jobs this node has already sent a match for
    lost: Counter[str] = field(default_factory=Counter)  # lost races, by the contract's error name
    matched: int = 0  # this node's matches mined this round
    skipped: str | None = None  # why the round did nothing, if it did nothing

    def line(self) -> str:
        if self.skipped and not self.proposed:
            return f"matchmaker: {self.skipped}"
        lost = ", ".join(f"{name} {n}" for name, n in self.lost.most_common()) or "none"
        return (f"matchmaker at block {self.block}: {self.open_jobs} open, {self.waiting} waiting their turn, "
                f"{self.proposed} proposed, {self.sent} sent, {self.matched} mined; lost races: {lost}"
                + (f" ({self.skipped})" if self.skipped else ""))


def stagger_delay(job_id: str, node: str, stagger_seconds: float) -> float:
    """This node's wait before matching `job_id`: uniform in [0, stagger_seconds), fixed per
    (job, node) pair and different between nodes."""
    digest = keccak(bytes.fromhex(job_id.removeprefix("0x")) + bytes.fromhex(node.removeprefix("0x")))
    return int.from_bytes(digest[:8], "big") / 2**64 * stagger_seconds


def provider_state(p: queries.ActiveProvider) -> ProviderState:
    return ProviderState(
        address=to_checksum_address(p.address), status=1,
        capacity=Resources(p.cpu_millicores, p.memory_mib, p.storage_gib, p.gpu_count, label(p.gpu_model),
                           label(p.region)),
        used=Resources(p.used_cpu_millicores, p.used_memory_mib, p.used_storage_gib, p.used_gpu_count),
        prices=HourlyPrices(p.price_cpu_core_gwei, p.price_memory_gib_gwei, p.price_gpu_gwei,
                            p.price_storage_gib_gwei),
        stake=p.stake, locked_collateral=p.locked_collateral, completed=p.completed_jobs,
        missed_deadlines=p.missed_deadlines, lapsed_matches=p.lapsed_matches, disputes_lost=p.disputes_lost,
    )


def match_key(job_id: str, attempts: int) -> str:
    """One match per job and attempt: a round run twice never sends twice, and a job back
    on the market after a decline or a lapse gets a new key."""
    return f"{MATCH}:{job_id.lower()}:{attempts}"


class Matchmaker:
    def __init__(self, sessions: sessionmaker[Session], contracts: MarketContracts, sender: TransactionSender,
                 settings: MatchmakerSettings):
        self.sessions, self.contracts, self.sender, self.settings = sessions, contracts, sender, settings
        self.weights = ScoreWeights(price=settings.weight_price, reputation=settings.weight_reputation,
                                    stake=settings.weight_stake, packing=settings.weight_packing)
        # Jobs whose match the simulation refused, by the indexed block the refusal was read
        # at: until the index moves past it, this node's view of them is known to be stale,
        # so they are not simulated again round after round.
        self.refused: dict[str, int] = {}

    def run_once(self) -> MatchReport:
        report = MatchReport()
        for outcome in self.sender.poll():
            if outcome.key.startswith(MATCH + ":"):
                if outcome.status == "success":
                    report.matched += 1
                else:
                    report.lost[outcome.revert.name if outcome.revert and outcome.revert.name else outcome.status] += 1
        head = self.contracts.web3.eth.get_block("latest")
        report.block, now = int(head["number"]), int(head["timestamp"])
        version, _accept_window, min_stake = self.contracts.params.functions.matchParams().call()
        with self.sessions() as session:
            params = queries.current_params(session)
            if params is None or params.version != version:
                report.skipped = (f"the index has parameter version {params.version if params else None}, the chain "
                                  f"{version}: waiting for the indexer")
                return report
            landing = now + self.settings.landing_margin_seconds
            indexed = queries.indexed_block(session)
            at = indexed.number if indexed else 0
            jobs = queries.open_jobs(session, now=landing, limit=self.settings.batch_size * 4)
            report.open_jobs = len(jobs)
            self.refused = {job: block for job, block in self.refused.items() if block >= at}
            jobs = [j for j in jobs if j.job_id not in self.refused]
            due = self._due(jobs, now, report)[: self.settings.batch_size]
            if not due:
                return report
            providers = [provider_state(p) for p in queries.active_providers(session)]
            failed = queries.failed_providers(session, [j.job_id for j in due])
        rules = MatchRules(min_provider_stake=min_stake, collateral_ratio_bps=params.collateral_ratio_bps,
                           min_job_collateral=params.min_job_collateral, now=landing)
        by_id = {bytes.fromhex(j.job_id.removeprefix("0x")): j for j in due}
        for job_id, provider, price in self._propose(due, providers, failed, rules):
            report.proposed += 1
            job = by_id[job_id]
            call = self.contracts.market.functions.matchJob(terms_of(job).as_tuple(), provider, price)
            try:
                self.sender.send(call, key=match_key(job.job_id, job.attempts))
                report.sent += 1
            except AlreadySent:
                report.in_flight += 1
            except ContractRevert as exc:
                report.lost[exc.name or "revert"] += 1
                self.refused[job.job_id] = at
            except (TooManyInFlight, InsufficientFunds) as exc:
                # Nothing more can be sent this round; what was proposed waits for the next.
                report.skipped = f"stopped after {report.sent} matches: {exc}"
                break
        log.log(logging.INFO if report.proposed or report.matched or report.lost else logging.DEBUG, report.line())
        return report

    def _due(self, jobs: list[queries.OpenJob], now: int, report: MatchReport) -> list[queries.OpenJob]:
        """The open jobs whose turn has come for this node, its own first (shortest delay)."""
        me, stagger = self.sender.address, self.settings.stagger_seconds
        turns = []
        for job in jobs:
            delay = stagger_delay(job.job_id, me, stagger) if stagger else 0.0
            if (job.posted_at or 0) + delay > now:
                report.waiting += 1
                continue
            turns.append((delay, job.posted_block, job.job_id, job))
        turns.sort(key=lambda t: t[:3])
        return [t[3] for t in turns]

    def _propose(self, jobs: list[queries.OpenJob], providers: list[ProviderState], failed: dict[str, set[str]],
                 rules: MatchRules) -> list[tuple[bytes, str, int]]:
        """(job id, provider, price) for every job the engine can place. Jobs some provider
        already failed are placed in a second pass without those providers, on the capacity
        and stake the first pass left."""
        plain = [OpenJob(bytes.fromhex(j.job_id.removeprefix("0x")), terms_of(j)) for j in jobs
                 if j.job_id not in failed]
        proposals = MatchingEngine(providers, rules, self.weights, max_candidates=self.settings.max_candidates).match(
            plain)
        out = [(p.job_id, p.provider, p.price) for p in proposals]
        retried = [j for j in jobs if j.job_id in failed]
        if not retried:
            return out
        by_address = {p.address: p for p in providers}
        resources = {j.job_id: j.terms.resources for j in plain}
        for proposal in proposals:  # book the first pass, as the contract will
            _book(by_address[proposal.provider], resources[proposal.job_id], proposal.collateral)
        for job in retried:
            passed_over = {to_checksum_address(a) for a in failed[job.job_id]}
            engine = MatchingEngine([p for p in providers if p.address not in passed_over], rules, self.weights,
                                    max_candidates=self.settings.max_candidates)
            for proposal in engine.match([OpenJob(bytes.fromhex(job.job_id.removeprefix("0x")), terms_of(job))]):
                out.append((proposal.job_id, proposal.provider, proposal.price))
                _book(by_address[proposal.provider], terms_of(job).resources, proposal.collateral)
        return out


def _book(p: ProviderState, r: Resources, collateral: int) -> None:
    p.used = Resources(p.used.cpu_millicores + r.cpu_millicores, p.used.memory_mib + r.memory_mib,
                       p.used.storage_gib + r.storage_gib, p.used.gpu_count + r.gpu_count)
    p.locked_collateral += collateral
