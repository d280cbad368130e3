"""Every table, by domain."""

from agora.db.models.chain import ChainEvent, Checkpoint, IndexedBatch, UndoEntry
from agora.db.models.governance import ParameterChange, Proposal, Vote
from agora.db.models.market import Job, Payout, Provider, Slash

__all__ = [
    "ChainEvent", "Checkpoint", "IndexedBatch", "UndoEntry", "ParameterChange", "Proposal", "Vote", "Job", "Payout",
    "Provider", "Slash",
]

# Tables whose rows a batch updates in place: a batch saves the before-images of the rows
# it changes so a reorganization can restore them (rows it creates are deleted by their
# creation block). Every other projected table is append-only, keyed by block, and rolled
# back by deleting rows above the common ancestor.
MUTABLE = {"providers": Provider, "jobs": Job, "proposals": Proposal}
APPEND_ONLY = (ChainEvent, Slash, Payout, Vote, ParameterChange)
