"""The arbiter: rules on disputes by re-running the disputed job.

Jobs are deterministic (a WebAssembly module with no imports, metered by fuel), so the
question a dispute asks — is the submitted result the job's result? — has one answer:
the arbiter fetches the job's manifest, module and input by their hashes, runs the module
under the manifest's limits, and compares the hash of its own result record with the one
the provider submitted. Equal: the provider did the work, `resolveDispute(terms, false)`.
Different: the provider is at fault, `resolveDispute(terms, true)` (its collateral is
slashed and the buyer paid). Wall time is the one limit that is not deterministic; how a
`wall_time` result is judged is in `judge`. A job whose data is missing from every blob node for
`unavailable_rounds` rounds is ruled for the provider: the buyer posted that data, and a
provider cannot be held to a job nobody can re-run.

Every ruling is stored with its evidence (`arbiter_rulings`: the spec, module and input
ids, both hashes, the re-run's status and fuel) and logged as one JSON line, so anyone can
check it by running the job themselves. The arbiter acts only while its wallet is the
arbiter governance named (`ProtocolParams.arbiter()`); another wallet's rulings would
revert.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field, replace

from eth_utils import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agora.blobs import BlobClient, BlobError
from agora.chain.contracts import ContractRevert, MarketContracts
from agora.config import ArbiterSettings
from agora.db import queries
from agora.db.models import ArbiterRuling
from agora.market.spec import JobSpec, ResultRecord, SpecError
from agora.market.terms import terms_of
from agora.sandbox import run_module
from agora.sender import AlreadySent, InsufficientFunds, TooManyInFlight, TransactionSender

log = logging.getLogger("agora.arbiter")

RULING_MARGIN_SECONDS = 5  # kept free before the arbitration deadline to send the ruling


@dataclass
class ArbiterReport:
    block: int = 0
    disputed: int = 0
    ruled: Counter[str] = field(default_factory=Counter)  # "provider at fault" / "provider right"
    waiting: int = 0  # data missing, retried next round
    lost: Counter[str] = field(default_factory=Counter)
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"arbiter at block {self.block}: {self.skipped}"
        ruled = ", ".join(f"{k} {v}" for k, v in sorted(self.ruled.items())) or "none"
        return (f"arbiter at block {self.block}: disputed {self.disputed}; ruled {ruled}; waiting for data "
                f"{self.waiting}" + (f"; lost {dict(self.lost)}" if self.lost else ""))


@dataclass(frozen=True)
class Rerun:
    """The arbiter's own run of a job: its result record, or why it has none."""

    record: ResultRecord | None
    fuel_used: int
    evidence: dict
    wall_seconds: float = 0.0


WALL_TIME = "0x" + ResultRecord("wall_time").result_id


def judge(job: queries.AssignedJob, rerun: Rerun, submitted: str) -> tuple[bool, str]:
    """(provider at fault, why) for a re-run that has a record.

    Fuel bounds a run the same way everywhere, so a finished run's record is the job's
    result: a different hash is a fault. Wall time is not deterministic. A provider's run is
    cut short by its deadline (agora.agent.service.within_deadline), so a `wall_time`
    claim is plausible when the job takes a real part of its duration: it is a fault only
    when the arbiter's own run finished in under half the job's duration. And a job the
    arbiter itself could not finish in its wall limit cannot be judged by re-running: not
    a fault."""
    record = rerun.record
    assert record is not None
    if submitted == WALL_TIME:
        quick = record.status != "wall_time" and rerun.wall_seconds < job.duration_seconds / 2
        return quick, (f"wall time claimed; the re-run ended {record.status} in {rerun.wall_seconds:.3f} s of a "
                       f"{job.duration_seconds} s duration")
    if record.status == "wall_time":
        return False, "the re-run did not finish within its wall limit: not judged by re-running"
    ours = "0x" + record.result_id
    return ours != submitted, "hashes equal" if ours == submitted else "hashes differ"


class Arbiter:
    def __init__(self, *, sessions: sessionmaker[Session], contracts: MarketContracts, sender: TransactionSender,
                 blobs: BlobClient, settings: ArbiterSettings):
        self.sessions, self.contracts, self.sender = sessions, contracts, sender
        self.blobs, self.settings = blobs, settings
        self.address = to_checksum_address(sender.address)
        self.missing: Counter[str] = Counter()  # job id -> rounds its data was missing

    def rerun(self, job: queries.PostedJob, *, seconds_left: float | None = None) -> Rerun:
        """Re-runs `job` from its data by hash, within `seconds_left` of wall time if given;
        record None when the data cannot be had."""
        spec_id = job.spec_hash.removeprefix("0x")
        evidence: dict = {"spec": spec_id}
        try:
            manifest = self.blobs.fetch(spec_id)
        except BlobError as exc:
            return Rerun(None, 0, {**evidence, "unavailable": str(exc)})
        try:
            spec = JobSpec.decode(manifest)
        except SpecError as exc:
            # The provider's agent records the same status for the same malformed manifest.
            return Rerun(ResultRecord("invalid_module"), 0, {**evidence, "detail": str(exc)})
        evidence.update(module=spec.module, input=spec.input, limits=spec.limits.as_dict())
        try:
            module, data = self.blobs.fetch(spec.module), self.blobs.fetch(spec.input)
        except BlobError as exc:
            return Rerun(None, 0, {**evidence, "unavailable": str(exc)})
        limits = spec.limits
        if seconds_left is not None:  # a ruling must land within the arbitration window
            limits = replace(limits, wall_seconds=max(1.0, min(limits.wall_seconds, seconds_left)))
        outcome = run_module(module, data, limits)
        evidence.update(status=outcome.status, fuel_used=outcome.fuel_used, detail=outcome.detail[:500],
                        wall_seconds=round(outcome.wall_seconds, 3))
        return Rerun(outcome.record, outcome.fuel_used, evidence, outcome.wall_seconds)

    def run_once(self) -> ArbiterReport:
        report = ArbiterReport()
        for outcome in self.sender.poll():
            if outcome.key.startswith("resolve:") and outcome.status != "success":
                report.lost[outcome.revert.name if outcome.revert and outcome.revert.name else outcome.status] += 1
        head = self.contracts.web3.eth.get_block("latest")
        report.block, now = int(head["number"]), int(head["timestamp"])
        named = self.contracts.params.functions.arbiter().call()
        if named.lower() != self.address.lower():
            report.skipped = f"governance names {named} as the arbiter, not this wallet ({self.address}): not ruling"
            log.debug(report.line())
            return report
        with self.sessions() as session:
            disputed = queries.disputed_jobs(session)
            ruled = set(session.scalars(select(ArbiterRuling.job_id).where(
                ArbiterRuling.job_id.in_([j.job_id for j in disputed]))))
        report.disputed = len(disputed)
        for job in disputed:
            if job.deadline is not None and now > job.deadline:
                continue  # the arbitration window closed: closeDispute's default applies
            if job.job_id in ruled:
                continue  # ruled; the transaction is in flight
            try:
                self._rule(job, report, seconds_left=(job.deadline or now) - now - RULING_MARGIN_SECONDS)
            except (TooManyInFlight, InsufficientFunds) as exc:
                report.skipped = str(exc)
                break
        log.log(logging.INFO if report.ruled or report.lost else logging.DEBUG, report.line())
        return report

    def _rule(self, job: queries.AssignedJob, report: ArbiterReport, seconds_left: float) -> None:
        rerun = self.rerun(job, seconds_left=seconds_left)
        submitted = (job.result_hash or "").lower()
        if rerun.record is None:
            self.missing[job.job_id] += 1
            if self.missing[job.job_id] < self.settings.unavailable_rounds:
                report.waiting += 1
                log.warning("job %s: its data is missing (%s); round %d of %d", job.job_id,
                            rerun.evidence.get("unavailable"), self.missing[job.job_id],
                            self.settings.unavailable_rounds)
                return
            at_fault, rerun_hash, status = False, None, "data_unavailable"
        else:
            rerun_hash = "0x" + rerun.record.result_id
            at_fault, why = judge(job, rerun, submitted)
            status = rerun.record.status
            rerun.evidence["why"] = why
        evidence = {**rerun.evidence, "submitted": submitted, "rerun": rerun_hash}
        try:
            self.sender.send(self.contracts.market.functions.resolveDispute(terms_of(job).as_tuple(), at_fault),
                             key=f"resolve:{job.job_id}:{job.attempts}")
        except AlreadySent:
            pass
        except ContractRevert as exc:
            report.lost[exc.name or "revert"] += 1
            return
        with self.sessions() as session, session.begin():
            session.merge(ArbiterRuling(job_id=job.job_id, provider=job.provider, provider_at_fault=at_fault,
                                        submitted_hash=submitted, rerun_hash=rerun_hash, rerun_outcome=status,
                                        evidence=evidence))
        report.ruled["provider at fault" if at_fault else "provider right"] += 1
        log.info("ruling %s", json.dumps({"job": job.job_id, "provider": job.provider, "provider_at_fault": at_fault,
                                          **evidence}, sort_keys=True))
