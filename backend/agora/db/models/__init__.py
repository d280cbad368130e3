"""Every table, by domain."""

from agora.db.models.chain import ChainEvent, Checkpoint, IndexedBatch, UndoEntry
from agora.db.models.governance import ParameterChange, ParamsVersion, Proposal, Vote
from agora.db.models.market import Job, Payout, Provider, Slash
from agora.db.models.transactions import OutgoingTransaction, OutgoingTransactionHash, SenderWallet  # noqa: F401
from agora.db.models.work import AgentRun, ArbiterRuling  # noqa: F401

__all__ = [
    "ChainEvent", "Checkpoint", "IndexedBatch", "UndoEntry", "ParameterChange", "ParamsVersion", "Proposal", "Vote",
    "Job",
    "Payout", "Provider", "Slash",
]

# Tables whose rows a batch updates in place: a batch saves the before-images of the rows
# it changes so a reorganization can restore them (rows it creates are deleted by their
# creation block). Every other projected table is append-only, keyed by block, and rolled
# back by deleting rows above the common ancestor.
#
# Parameter versions are both. A batch loads the version a new one copies (and those the
# matches it projects name), so they go through the mutable path: written with the
# batch's rows and, if loaded, saved as before-images. A version is created by the
# transaction that publishes it and never changes afterwards, so, like an append-only
# row, it is rolled back by its `block_number`: the creation block the store looks up
# for the other mutable tables.
MUTABLE = {"providers": Provider, "jobs": Job, "proposals": Proposal, "params_versions": ParamsVersion}
APPEND_ONLY = (ChainEvent, Slash, Payout, Vote, ParameterChange, ParamsVersion)
