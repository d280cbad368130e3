"""Getting blobs from other nodes and giving them to other nodes.

`BlobClient.fetch` looks in the local store, then asks each peer in turn and keeps the
first copy whose SHA-256 is the id; `BlobClient.upload` stores a blob and hands it to one
node or to every peer. `Replicator` copies a node's newly uploaded blobs to its peers in
the background, marking each copy as a replica so the peers do not copy it on again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

import httpx

from agora.blobs.store import BlobError, BlobNotFound, BlobStore, check_id
from agora.market.spec import content_id

__all__ = ["REPLICA_HEADER", "BlobClient", "Replicator"]

log = logging.getLogger(__name__)

# A PUT carrying this header is a copy made by another node's replicator: the receiving
# node stores it and does not copy it on, so copies never go round in a loop.
REPLICA_HEADER = "X-Agora-Replica"


def blob_url(node: str, blob_id: str) -> str:
    return f"{node.rstrip('/')}/blobs/{blob_id}"


def describe(exc: httpx.HTTPError, timeout: float) -> str:
    """A short reason for a failed request: "connection refused", "no answer in 10s", ..."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in {timeout:g}s"
    return f"{type(exc).__name__}: {text}"


def _status(response: httpx.Response) -> str:
    """"404 (blob ... is not in this node's store: ...)": the status and the node's reason."""
    try:
        body = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    if not isinstance(detail, str):
        detail = response.reason_phrase or "no reason given"
    return f"HTTP {response.status_code} ({detail})"


class Replicator:
    """Copies blobs to `peers` in a bounded background thread pool: `replicate` queues one
    copy per peer (waiting only when `max_pending` copies are already queued) and returns.
    A peer that does not take its copy after `attempts` tries is logged once for that blob;
    the blob stays on this node and the other peers."""

    def __init__(self, peers: Iterable[str], timeout: float, *, workers: int = 4, max_pending: int = 64,
                 attempts: int = 3, retry_delay: float = 0.25, http: httpx.Client | None = None):
        self.peers = [peer.rstrip("/") for peer in peers]
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self._http = http or httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=max(workers, 1) * 2))
        self._own_http = http is None
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="agora-blobs-replicate")
        self._slots = threading.BoundedSemaphore(max(max_pending, 1))
        self._lock = threading.Lock()
        self._pending: set[Future[bool]] = set()
        self._closed = False
        # (blob id, peer) of each copy a peer took, and of each that failed: for tests and metrics.
        self.copied: list[tuple[str, str]] = []
        self.failed: list[tuple[str, str]] = []

    def replicate(self, blob_id: str, data: bytes) -> list[Future[bool]]:
        """Queue a copy of the blob to each peer; the futures say whether each peer took it."""
        check_id(blob_id)
        futures = []
        for peer in self.peers:
            self._slots.acquire()
            with self._lock:
                if self._closed:
                    self._slots.release()
                    raise BlobError(f"blob {blob_id} not copied to {peer}: this node's replicator is closed", blob_id)
                future = self._pool.submit(self._copy, blob_id, data, peer)
                self._pending.add(future)
            future.add_done_callback(self._done)
            futures.append(future)
        return futures

    def _done(self, future: Future[bool]) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()

    def _copy(self, blob_id: str, data: bytes, peer: str) -> bool:
        reason = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
            try:
                response = self._http.put(blob_url(peer, blob_id), content=data, headers={REPLICA_HEADER: "1"})
            except httpx.HTTPError as exc:
                reason = describe(exc, self.timeout)
                continue
            except Exception as exc:  # a bug must not kill the pool's thread silently
                reason = f"{type(exc).__name__}: {exc}"
                break
            if response.status_code in (200, 201):
                with self._lock:
                    self.copied.append((blob_id, peer))
                return True
            reason = _status(response)
            if response.status_code < 500:  # the peer refuses this blob: asking again changes nothing
                break
        log.warning("blob %s not copied to peer %s: %s; it stays on this node (and any peer that took it)",
                    blob_id, peer, reason)
        with self._lock:
            self.failed.append((blob_id, peer))
        return False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the copies queued so far; whether they all finished within `timeout`."""
        with self._lock:
            pending = list(self._pending)
        _, not_done = wait_futures(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        """Finish the queued copies, then stop the pool."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Replicator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlobClient:
    """Blobs by id from this node's store or its peers, and uploads to other nodes. Every
    copy from a peer is checked against its id before it is kept or returned."""

    def __init__(self, store: BlobStore, peers: Iterable[str], timeout: float, *, http: httpx.Client | None = None):
        self.store = store
        self.peers = [peer.rstrip("/") for peer in peers]
        self.timeout = timeout
        self._http = http or httpx.Client(timeout=timeout)
        self._own_http = http is None

    def fetch(self, blob_id: str) -> bytes:
        """The blob's bytes: from the local store, else from the first peer (in order) that
        serves bytes hashing to `blob_id`, which are then kept locally. BlobNotFound names
        every place tried and why it gave nothing."""
        check_id(blob_id)
        try:
            return self.store.get(blob_id)
        except BlobNotFound as missing:
            reasons = dict(missing.reasons)
        for peer in self.peers:
            try:
                data = self._get(peer, blob_id)
            except _Refused as refused:
                reasons[peer] = str(refused)
                continue
            actual = content_id(data)
            if actual != blob_id:
                log.warning("peer %s served bytes hashing to %s for blob %s: skipped", peer, actual, blob_id)
                reasons[peer] = f"served wrong bytes (they hash to {actual})"
                continue
            self.store.put_verified(blob_id, data)
            return data
        tried = "; ".join(f"{place}: {reason}" for place, reason in reasons.items())
        raise BlobNotFound(f"blob {blob_id} is on no node tried ({tried}): upload it again, or add a node that has "
                           f"it to AGORA_BLOBS_PEERS", blob_id, reasons)

    def _get(self, peer: str, blob_id: str) -> bytes:
        """The bytes `peer` serves for the blob, read up to the store's limit."""
        limit = self.store.max_bytes
        try:
            with self._http.stream("GET", blob_url(peer, blob_id)) as response:
                if response.status_code != 200:
                    response.read()
                    raise _Refused("not found (HTTP 404)" if response.status_code == 404 else _status(response))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise _Refused(f"served more than this node's limit of {limit} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise _Refused(describe(exc, self.timeout)) from None

    def upload(self, data: bytes, *, to: str | None = None) -> str:
        """Store the blob locally and PUT it to the node `to` (a base URL), or to every peer;
        its id. BlobError if no node took it (the local copy stays)."""
        blob_id = self.store.put(data)
        targets = [to.rstrip("/")] if to else self.peers
        if not targets:
            raise BlobError(f"blob {blob_id} is stored on this node only: there is no node to upload it to; name "
                            f"one, or set AGORA_BLOBS_PEERS", blob_id)
        reasons: dict[str, str] = {}
        took = []
        for node in targets:
            try:
                response = self._http.put(blob_url(node, blob_id), content=data)
            except httpx.HTTPError as exc:
                reasons[node] = describe(exc, self.timeout)
                continue
            if response.status_code in (200, 201):
                took.append(node)
            else:
                reasons[node] = _status(response)
        failed = "; ".join(f"{node}: {reason}" for node, reason in reasons.items())
        if not took:
            raise BlobError(f"blob {blob_id} was taken by no node ({failed}): check that the nodes run and "
                            f"accept blobs this size; the copy on this node stays", blob_id)
        if reasons:
            log.warning("blob %s uploaded to %s but not to: %s", blob_id, ", ".join(took), failed)
        return blob_id

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> BlobClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Refused(Exception):
    """A peer gave no copy of a blob; the message says why."""
