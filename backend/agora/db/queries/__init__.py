"""The read model: what the services ask of the indexed rows.

Plain keyword-only functions over a SQLAlchemy session (they only read: no flush, no
commit), shared by the matchmaker, the keeper and later the API. They return small frozen
dataclasses defined here, so a caller needs neither the ORM models nor `agora.market`
(which `db` may not import): a job's posted terms come back as the stored columns, from
which `agora.market.terms.JobTerms` is rebuilt (gpu_model and region are label text).

Time windows are exact to the second, as the contracts check them: an Open job can be
matched while `now < expires_at` and expired once `now >= expires_at`; reclaim, slash,
finalize and closeDispute need `now > deadline`.
"""

from agora.db.queries.jobs import (
    AssignedJob,
    DueJob,
    OpenJob,
    PostedJob,
    disputed_jobs,
    due_for_close_dispute,
    due_for_expire,
    due_for_finalize,
    due_for_reclaim,
    due_for_slash,
    failed_providers,
    open_jobs,
    provider_jobs,
)
from agora.db.queries.providers import ActiveProvider, active_providers
from agora.db.queries.status import CurrentParams, IndexedBlock, current_params, indexed_block

__all__ = [
    "ActiveProvider", "AssignedJob", "CurrentParams", "DueJob", "IndexedBlock", "OpenJob", "PostedJob",
    "active_providers", "current_params", "disputed_jobs", "due_for_close_dispute", "due_for_expire",
    "due_for_finalize", "due_for_reclaim", "due_for_slash", "failed_providers", "indexed_block", "open_jobs",
    "provider_jobs",
]
