"""Job data by content, kept on every node: manifests, WebAssembly modules, inputs and
results as blobs named by the SHA-256 of their bytes.

Content addressing. A blob's id is `content_id(bytes)` (agora.market.spec): 64 lowercase
hex digits. The id is the only name a blob has, so whoever holds an id (a job's on-chain
specHash, a manifest's module and input) can ask any node for the bytes, and no two
blobs share an id. Nothing else is ever a path: an id that is not 64 lowercase hex digits
is refused (BlobIdInvalid), so no request reaches a file outside the store.

Verification. Bytes are trusted only after their hash is checked: on upload (a PUT whose
body hashes to another id is refused, nothing stored), on every read from disk (a file
gone bad is deleted and reported missing, so a node never serves it), and on every copy
from a peer (a peer serving wrong bytes is skipped, logged and never stored). Any node,
honest or not, may therefore serve a blob: the worst it can do is not to.

Replication. A blob a client uploads to one node is copied in the background to every
peer that node is configured to know (AGORA_BLOBS_PEERS), as a PUT marked
`X-Agora-Replica: 1`, which the peer stores without copying on, so copies never loop. A
client fetching a blob tries its own store, then each peer in turn. So no node is a single
point of failure for job data: when the node a buyer uploaded to goes away, the manifest,
module and input a provider needs, and the result the arbiter re-checks, are still on the
others, and are as trustworthy from any of them.

    store = BlobStore(path, max_bytes)          # one node's blobs on disk
    BlobServer(BlobSettings(), state_dir)       # that store over HTTP, copying uploads to peers
    BlobClient(store, peers, timeout).fetch(id) # from here or any peer, checked
"""

from typing import TYPE_CHECKING, Any

from agora.blobs.client import REPLICA_HEADER, BlobClient, Replicator
from agora.blobs.settings import BlobSettings
from agora.blobs.store import BlobCorrupt, BlobError, BlobIdInvalid, BlobNotFound, BlobStore, BlobTooLarge

if TYPE_CHECKING:
    from agora.blobs.routes import create_blob_app
    from agora.blobs.server import BlobServer


def __getattr__(name: str) -> Any:
    # The HTTP side (FastAPI, uvicorn) loads only where a node serves blobs: a buyer's
    # `agora job` command, which only fetches and uploads, starts a second faster without it.
    if name == "BlobServer":
        from agora.blobs.server import BlobServer

        return BlobServer
    if name == "create_blob_app":
        from agora.blobs.routes import create_blob_app

        return create_blob_app
    raise AttributeError(f"module 'agora.blobs' has no attribute {name!r}")

__all__ = [
    "REPLICA_HEADER", "BlobClient", "BlobCorrupt", "BlobError", "BlobIdInvalid", "BlobNotFound", "BlobServer",
    "BlobSettings", "BlobStore", "BlobTooLarge", "Replicator", "create_blob_app",
]
