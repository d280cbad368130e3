"""Jobs: the open ones a matchmaker can match, and those due for each keeper action."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from agora.db.models import Job, Slash
from agora.db.queries.rows import values


@dataclass(frozen=True)
class PostedJob:
    """A job's id and its terms as posted: everything `JobTerms` needs to be rebuilt
    (spec_hash is 0x-hex, gpu_model and region are label text, "" for any)."""

    job_id: str
    buyer: str
    max_price: int
    spec_hash: str
    duration_seconds: int
    expires_at: int
    salt: int
    cpu_millicores: int
    memory_mib: int
    storage_gib: int
    gpu_count: int
    gpu_model: str
    region: str


@dataclass(frozen=True)
class OpenJob(PostedJob):
    """An Open job not yet expired."""

    posted_block: int
    posted_at: int | None  # the posting block's timestamp
    attempts: int  # matches or takes so far


@dataclass(frozen=True)
class DueJob(PostedJob):
    """A job whose window has closed: `deadline` is the end of the window the action
    needs passed (expiry, accept, delivery, challenge or arbitration deadline)."""

    state: str
    provider: str | None
    collateral: int | None  # locked by the provider, what a slash takes its share of
    attempts: int  # matches or takes so far
    deadline: int


@dataclass(frozen=True)
class AssignedJob(PostedJob):
    """A job in a provider's hands (Matched, Running, Submitted or Disputed): what its
    provider agent and the arbiter act on."""

    state: str
    provider: str
    price: int | None
    deadline: int | None  # the end of the window running now (see Job.deadline)
    attempts: int
    result_hash: str | None


_POSTED = [f.name for f in fields(PostedJob)]
_OPEN = [getattr(Job, name) for name in _POSTED] + [Job.posted_block, Job.posted_at, Job.attempts]


def open_jobs(session: Session, *, now: int, limit: int | None = None) -> list[OpenJob]:
    """Open jobs a match or take could still reach (`now < expires_at`), oldest first."""
    query = (select(*_OPEN).where(Job.state == "open", Job.expires_at > now)
             .order_by(Job.posted_block, Job.job_id).limit(limit))
    return [OpenJob(*values(row)) for row in session.execute(query)]


def _due(session: Session, state: str, deadline, passed) -> list[DueJob]:
    query = (select(*(getattr(Job, name) for name in _POSTED), Job.state, Job.provider, Job.collateral, Job.attempts,
                    deadline)
             .where(Job.state == state, deadline.is_not(None), passed)
             .order_by(deadline, Job.job_id))
    return [DueJob(*values(row)) for row in session.execute(query)]


def due_for_reclaim(session: Session, *, now: int) -> list[DueJob]:
    """Matched jobs whose accept deadline has passed (`now > deadline`): `reclaim`."""
    return _due(session, "matched", Job.deadline, Job.deadline < now)


def due_for_slash(session: Session, *, now: int) -> list[DueJob]:
    """Running jobs past their delivery deadline (`now > deadline`): `slashMissedDeadline`."""
    return _due(session, "running", Job.deadline, Job.deadline < now)


def due_for_finalize(session: Session, *, now: int) -> list[DueJob]:
    """Submitted jobs whose challenge window has closed (`now > challenge_deadline`): `finalize`."""
    return _due(session, "submitted", Job.challenge_deadline, Job.challenge_deadline < now)


def due_for_expire(session: Session, *, now: int) -> list[DueJob]:
    """Open jobs at or past their expiry (`now >= expires_at`): `expire`."""
    return _due(session, "open", Job.expires_at, Job.expires_at <= now)


def due_for_close_dispute(session: Session, *, now: int) -> list[DueJob]:
    """Disputed jobs whose arbitration window has closed (`now > arbitration_deadline`): `closeDispute`."""
    return _due(session, "disputed", Job.arbitration_deadline, Job.arbitration_deadline < now)


def _assigned(session: Session, *conditions) -> list[AssignedJob]:
    query = (select(*(getattr(Job, name) for name in _POSTED), Job.state, Job.provider, Job.price, Job.deadline,
                    Job.attempts, Job.result_hash)
             .where(*conditions).order_by(Job.deadline, Job.job_id))
    return [AssignedJob(*values(row)) for row in session.execute(query)]


def provider_jobs(session: Session, *, provider: str, states: tuple[str, ...]) -> list[AssignedJob]:
    """`provider`'s jobs in any of `states` (matched, running, submitted, disputed), the
    soonest deadline first."""
    return _assigned(session, Job.provider == provider.lower(), Job.state.in_(states))


def disputed_jobs(session: Session) -> list[AssignedJob]:
    """Every Disputed job, the soonest arbitration deadline first: what the arbiter rules on."""
    return _assigned(session, Job.state == "disputed")


def failed_providers(session: Session, job_ids: list[str]) -> dict[str, set[str]]:
    """For each of `job_ids`, the providers slashed on it so far (declined, let the match
    lapse, missed the deadline, or lost a dispute): a matchmaker passes them over."""
    failed: dict[str, set[str]] = {}
    for chunk in range(0, len(job_ids), 500):
        query = select(Slash.job_id, Slash.provider).where(Slash.job_id.in_(job_ids[chunk:chunk + 500]))
        for job_id, provider in session.execute(query):
            failed.setdefault(job_id, set()).add(provider)
    return failed
