"""The provider agent: a provider's machine working the market.

Each round (`run_once`) it

  1. keeps its listing current: registers with the configured capacity, prices, endpoint
     and stake if it is not listed, tops its stake up, updates a listing that differs;
  2. answers the jobs matched to it within the accept window: accepts those that pay at
     least its price floor, declines the rest (a decline costs the same slash as a lapse,
     so it declines only what it will not run);
  3. runs every job it has accepted and not yet delivered: fetches the manifest named by
     the job's specHash and the module and input it names (each checked against its
     hash), runs the module in the WebAssembly sandbox under the manifest's limits, stores
     the result record, copies it to the blob nodes, and submits its hash before the
     deadline; runs happen on a thread pool, so a long job never stalls the accepts;
  4. optionally takes open jobs itself (`take_open_jobs`), which pays no matchmaker fee.

A module that traps, runs out of fuel or breaks a limit ends with that status in its
result record, and the agent submits the record's hash: the failure is the module's, the
same on every machine, and an arbiter's re-run agrees with it. Job data missing from every
blob node is retried each round until a quarter of the delivery time is left, then
submitted as `data_unavailable` (the buyer posted the data; a provider is not at fault
for its absence, and declining would make unrunnable jobs a way for a buyer to collect
slashes).

Every run is recorded (`agent_runs`), so a restarted agent knows what it had accepted:
a run left `running` by a process that died is run again (jobs are deterministic), and a
finished one is submitted if its hash is not on chain yet. Every transaction goes through
the sender under a key per job and attempt, so nothing is sent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from eth_utils import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agora.blobs import BlobClient, BlobError
from agora.chain.contracts import ContractRevert, MarketContracts
from agora.config import AgentSettings
from agora.db import queries
from agora.db.models import AgentRun
from agora.errors import AgoraError
from agora.market.protocol import TOKEN
from agora.market.spec import JobSpec, Limits, ResultRecord, SpecError
from agora.market.terms import HourlyPrices, Resources, label, quote, terms_of
from agora.sandbox import run_module
from agora.sender import AlreadySent, InsufficientFunds, TooManyInFlight, TransactionSender

log = logging.getLogger("agora.agent")

RUNNING, DONE, SUBMITTED = "running", "done", "submitted"
SENT, ALREADY, LOST = "sent", "already sent", "lost"  # what became of one send
# Data missing everywhere is retried until this share of the delivery time is left.
GIVE_UP_SHARE = 4  # a quarter
SUBMIT_MARGIN_SECONDS = 3


class ListingError(AgoraError):
    """The agent could not register, stake or update its listing."""


@dataclass
class AgentReport:
    block: int = 0
    listing: list[str] = field(default_factory=list)
    accepted: int = 0
    declined: int = 0
    taken: int = 0
    started: int = 0
    submitted: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    skipped: str | None = None

    def line(self) -> str:
        parts = [f"agent at block {self.block}"]
        if self.listing:
            parts.append("listing: " + ", ".join(self.listing))
        parts.append(f"accepted {self.accepted}, declined {self.declined}, taken {self.taken}, "
                     f"started {self.started}, submitted {self.submitted}")
        if self.outcomes:
            parts.append("runs: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        if self.lost:
            parts.append("lost: " + ", ".join(f"{k} {v}" for k, v in sorted(self.lost.items())))
        if self.skipped:
            parts.append(self.skipped)
        return "; ".join(parts)


def listing_of(settings: AgentSettings) -> tuple[Resources, HourlyPrices]:
    capacity = Resources(settings.cpu_millicores, settings.memory_mib, settings.storage_gib, settings.gpu_count,
                         label(settings.gpu_model), label(settings.region))
    prices = HourlyPrices(settings.price_cpu_core_gwei, settings.price_memory_gib_gwei, settings.price_gpu_gwei,
                          settings.price_storage_gib_gwei)
    return capacity, prices


def submit_margin(duration_seconds: int) -> int:
    """Seconds kept free before the deadline to store, upload and submit a result."""
    return max(SUBMIT_MARGIN_SECONDS, duration_seconds // 10)


def within_deadline(limits: Limits, *, seconds_left: int, duration_seconds: int) -> Limits:
    """The manifest's limits with the wall time cut to what the deadline leaves.

    A buyer could otherwise post a job whose module outruns its own duration (huge fuel, a
    long wall limit) and collect the slash when its provider misses the deadline. Cut
    short, the run ends `wall_time` and is submitted in time; the arbiter judges such a
    claim by the job's duration, not by the manifest's wall limit (see agora.arbiter)."""
    room = max(1, seconds_left - submit_margin(duration_seconds))
    return replace(limits, wall_seconds=min(limits.wall_seconds, float(room)))


def corrupted(record: ResultRecord) -> ResultRecord:
    """What a cheating agent submits instead of `record`: a plausible-looking wrong output."""
    output = record.output or b"\0"
    return ResultRecord("ok", bytes([output[0] ^ 0xFF]) + output[1:])


class ProviderAgent:
    def __init__(self, *, sessions: sessionmaker[Session], contracts: MarketContracts, sender: TransactionSender,
                 blobs: BlobClient, settings: AgentSettings, endpoint: str = ""):
        self.sessions, self.contracts, self.sender = sessions, contracts, sender
        self.blobs, self.settings = blobs, settings
        # Where buyers reach this provider's results: by default the first blob node it uploads to.
        self.endpoint = settings.endpoint or endpoint or next(iter(blobs.peers), "")
        self.address = to_checksum_address(sender.address)
        self.pool = ThreadPoolExecutor(max_workers=settings.max_concurrent_jobs, thread_name_prefix="agora-job")
        self.futures: dict[tuple[str, int], Future] = {}
        self.lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    # -- the listing ---------------------------------------------------------------------

    def ensure_listed(self) -> list[str]:
        """Registers, stakes and updates the listing as the settings say; what it sent."""
        if not self.settings.manage_listing:
            return []
        registry, token = self.contracts.registry.functions, self.contracts.token.functions
        capacity, prices = listing_of(self.settings)
        view = registry.providerOf(self.address).call()
        # ProviderView: status, capacity, used, prices, endpoint, stake, ...
        status, listed_capacity, listed_prices, endpoint, stake = view[0], view[1], view[3], view[4], view[5]
        want_stake = self.settings.stake_tokens * TOKEN
        done: list[str] = []
        if status == 0:  # None: never registered
            self._approve(self.contracts.registry.address, want_stake, token)
            self._send(registry.register(capacity.as_tuple(), prices.as_tuple(), self.endpoint, want_stake),
                       "register:0", wait=True)
            return ["registered"]
        if tuple(listed_capacity) != capacity.as_tuple() or tuple(listed_prices) != prices.as_tuple() \
                or endpoint != self.endpoint:
            self._send(registry.updateListing(capacity.as_tuple(), prices.as_tuple(), self.endpoint),
                       f"listing:{self.contracts.web3.eth.block_number}", wait=True)
            done.append("listing updated")
        if stake < want_stake:
            self._approve(self.contracts.registry.address, want_stake - stake, token)
            self._send(registry.addStake(want_stake - stake), f"stake:{stake}", wait=True)
            done.append(f"stake topped up to {self.settings.stake_tokens} tokens")
        return done

    def _approve(self, spender: str, amount: int, token) -> None:
        if token.allowance(self.address, spender).call() < amount:
            self._send(token.approve(spender, 2**256 - 1), f"approve:{spender.lower()}", wait=True)

    def _send(self, call, key: str, wait: bool = False):
        try:
            sent = self.sender.send(call, key=key)
        except AlreadySent:
            return None
        if wait:
            outcome = self.sender.wait(sent, timeout=60)
            if outcome.status != "success":
                raise outcome.revert or ListingError(f"the {key.split(':')[0]} transaction ended {outcome.status}")
        return sent

    # -- a round ---------------------------------------------------------------------------

    def run_once(self) -> AgentReport:
        report = AgentReport()
        for outcome in self.sender.poll():
            action = outcome.key.split(":", 1)[0]
            if outcome.status != "success":
                name = outcome.revert.name if outcome.revert and outcome.revert.name else outcome.status
                report.lost[f"{action} {name}"] += 1
        head = self.contracts.web3.eth.get_block("latest")
        report.block, now = int(head["number"]), int(head["timestamp"])
        try:
            report.listing = self.ensure_listed()
        except (AgoraError, InsufficientFunds) as exc:
            report.skipped = f"listing not kept: {exc}"
        with self.sessions() as session:
            matched = queries.provider_jobs(session, provider=self.address, states=("matched",))
            running = queries.provider_jobs(session, provider=self.address, states=("running",))
            runs = {(r.job_id, r.attempt): r for r in session.scalars(
                select(AgentRun).where(AgentRun.job_id.in_([j.job_id for j in running])))}
            open_jobs = queries.open_jobs(session, now=now + 15, limit=200) if self.settings.take_open_jobs else []
        try:
            for job in matched:
                self._answer(job, now, report)
            for job in running:
                self._work(job, runs.get((job.job_id, job.attempts)), now, report)
            if open_jobs:
                self._take(open_jobs, len(running), report)
        except (TooManyInFlight, InsufficientFunds) as exc:
            report.skipped = str(exc)
        busy = report.accepted or report.declined or report.started or report.submitted or report.taken
        log.log(logging.INFO if busy or report.lost or report.listing else logging.DEBUG, report.line())
        return report

    def _answer(self, job: queries.AssignedJob, now: int, report: AgentReport) -> None:
        if job.deadline is not None and now > job.deadline:
            return  # the accept window has closed: the keeper reclaims it
        market = self.contracts.market.functions
        terms = terms_of(job)
        if (job.price or 0) < self.settings.min_price_wei:
            if self._act(market.decline(terms.as_tuple()), f"decline:{job.job_id}:{job.attempts}", "answer",
                         report) == SENT:
                report.declined += 1
                log.info("declined job %s: price %s under the floor %s", job.job_id, job.price,
                         self.settings.min_price_wei)
        elif self._act(market.accept(bytes.fromhex(job.job_id[2:])), f"accept:{job.job_id}:{job.attempts}",
                       "answer", report) == SENT:
            report.accepted += 1

    def _act(self, call, key: str, action: str, report: AgentReport) -> str:
        """Sends `call` under `key`: SENT; ALREADY if a transaction with that key is pending
        or mined; LOST if its simulation reverted (counted in the report by its error)."""
        try:
            self.sender.send(call, key=key)
        except AlreadySent:
            return ALREADY
        except ContractRevert as exc:
            report.lost[f"{action} {exc.name or 'revert'}"] += 1
            return LOST
        return SENT

    def _take(self, jobs: list[queries.OpenJob], running: int, report: AgentReport) -> None:
        capacity, prices = listing_of(self.settings)
        room = self.settings.max_concurrent_jobs - running
        market = self.contracts.market.functions
        for job in jobs:
            if room <= 0:
                return
            terms = terms_of(job)
            r = terms.resources
            if r.region not in (label(""), capacity.region) or r.gpu_model not in (label(""), capacity.gpu_model):
                continue
            price = quote(r, terms.duration_seconds, prices)
            if price > terms.max_price or price < self.settings.min_price_wei:
                continue
            # LOST: matched by someone else, or the listing is full.
            if self._act(market.take(terms.as_tuple(), price), f"take:{job.job_id}:{job.attempts}", "take",
                         report) == SENT:
                report.taken += 1
                room -= 1

    # -- running jobs ----------------------------------------------------------------------

    def _work(self, job: queries.AssignedJob, run: AgentRun | None, now: int, report: AgentReport) -> None:
        key = (job.job_id, job.attempts)
        with self.lock:
            future = self.futures.get(key)
        if future is not None and not future.done():
            return
        if run is None or (run.status == RUNNING and future is None):
            # New, or left running by a process that is gone: (re)start it.
            self._record_start(job)
            with self.lock:
                self.futures[key] = self.pool.submit(self._execute, job)
            report.started += 1
            return
        if run.status == RUNNING:
            return  # data was missing; the finished future will have reset it to retry
        if run.status == DONE and run.result_hash:
            if job.deadline is not None and now > job.deadline:
                return  # too late: the keeper slashes it and the job goes to another provider
            sent = self._act(self.contracts.market.functions.submitResult(
                bytes.fromhex(job.job_id[2:]), bytes.fromhex(run.result_hash[2:])),
                f"submit:{job.job_id}:{job.attempts}", "submit", report)
            if sent == LOST:
                return
            if sent == SENT:
                report.submitted += 1
            self._update(job, status=SUBMITTED)
            report.outcomes[run.outcome or "?"] += 1

    def _record_start(self, job: queries.AssignedJob) -> None:
        with self.sessions() as session, session.begin():
            run = session.get(AgentRun, (job.job_id, job.attempts))
            if run is None:
                session.add(AgentRun(job_id=job.job_id, attempt=job.attempts, provider=self.address.lower(),
                                     status=RUNNING, detail=""))
            else:
                run.status = RUNNING

    def _update(self, job: queries.AssignedJob, **values) -> None:
        with self.sessions() as session, session.begin():
            run = session.get(AgentRun, (job.job_id, job.attempts))
            if run is not None:
                for name, value in values.items():
                    setattr(run, name, value)

    def _execute(self, job: queries.AssignedJob) -> None:
        """Fetches, runs and stores one job's result (on the pool); never raises."""
        try:
            record, fuel, seconds, detail = self._run_job(job)
        except BlobError as exc:
            remaining = (job.deadline or 0) - int(self.contracts.web3.eth.get_block("latest")["timestamp"])
            if remaining > job.duration_seconds // GIVE_UP_SHARE:
                log.warning("job %s: its data is not available yet (%s); retrying", job.job_id, exc)
                self._forget(job)
                return
            record, fuel, seconds, detail = ResultRecord("data_unavailable"), 0, 0.0, str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill the pool thread silently
            log.exception("job %s: the run failed unexpectedly", job.job_id)
            self._forget(job, detail=f"agent error: {exc}")
            return
        if self.settings.corrupt_results and record.ok:
            record = corrupted(record)
        data = record.encode()
        try:
            self.blobs.upload(data)
        except BlobError as exc:  # kept locally and served from here; other nodes may fetch it later
            log.warning("job %s: result %s not copied to the blob nodes: %s", job.job_id, record.result_id, exc)
        self._update(job, status=DONE, outcome=record.status, result_hash="0x" + record.result_id, fuel_used=fuel,
                     wall_seconds=seconds, detail=detail[:2000], finished_at=datetime.now(UTC))
        log.info("job %s ran: %s, fuel %s, %.3f s, result %s", job.job_id, record.status, fuel, seconds,
                 record.result_id)

    def _forget(self, job: queries.AssignedJob, detail: str = "") -> None:
        """Lets the next round start the job again."""
        with self.sessions() as session, session.begin():
            run = session.get(AgentRun, (job.job_id, job.attempts))
            if run is not None:
                session.delete(run)
        with self.lock:
            self.futures.pop((job.job_id, job.attempts), None)
        if detail:
            log.warning("job %s: %s", job.job_id, detail)

    def _run_job(self, job: queries.AssignedJob) -> tuple[ResultRecord, int, float, str]:
        spec_id = job.spec_hash.removeprefix("0x")
        try:
            spec = JobSpec.decode(self.blobs.fetch(spec_id))
        except SpecError as exc:
            return ResultRecord("invalid_module"), 0, 0.0, f"manifest {spec_id}: {exc}"
        module = self.blobs.fetch(spec.module)
        data = self.blobs.fetch(spec.input)
        # The next block's time: the latest block's, or the wall clock's when it has moved on.
        now = max(int(self.contracts.web3.eth.get_block("latest")["timestamp"]), int(time.time()))
        limits = within_deadline(spec.limits, seconds_left=(job.deadline or now) - now,
                                 duration_seconds=job.duration_seconds)
        outcome = run_module(module, data, limits)
        return outcome.record, outcome.fuel_used, outcome.wall_seconds, outcome.detail
