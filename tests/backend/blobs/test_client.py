"""BlobClient: a blob from the local store or the first peer serving its true bytes, and
uploads to other nodes; nodes going away lose no blob that reached another."""

from __future__ import annotations

import hashlib
import logging

import pytest
from blobkit import down_url
from fastapi import FastAPI, Request, Response

from agora.blobs import REPLICA_HEADER, BlobClient, BlobError, BlobNotFound, BlobStore

DATA = b'{"input": "the numbers 1 to 1000"}'
DATA_ID = hashlib.sha256(DATA).hexdigest()
FORGED = b'{"input": "the numbers 1 to 999"}'
FORGED_ID = hashlib.sha256(FORGED).hexdigest()


@pytest.fixture
def local(tmp_path) -> BlobStore:
    return BlobStore(tmp_path / "client", 2**20)


def lying_peer(requests: list[str] | None = None) -> FastAPI:
    """A fake peer answering every GET with FORGED, whatever the id."""
    app = FastAPI()

    @app.get("/blobs/{blob_id}")
    async def get(blob_id: str) -> Response:
        if requests is not None:
            requests.append(blob_id)
        return Response(FORGED, media_type="application/octet-stream")

    return app


def test_ABlobOnlyOnTheLastPeerIsFetchedPastADownAndAnEmptyPeer(start_node, local):
    b, c = start_node("b"), start_node("c")
    c.store.put(DATA)
    with BlobClient(local, [down_url(), b.url, c.url], timeout=5) as client:
        assert client.fetch(DATA_ID) == DATA


def test_AFetchedBlobIsKeptInTheLocalStore(start_node, local):
    c = start_node("c")
    c.store.put(DATA)
    with BlobClient(local, [down_url(), c.url], timeout=5) as client:
        client.fetch(DATA_ID)
    assert local.get(DATA_ID) == DATA


def test_ABlobInTheLocalStoreIsReturnedWithoutAskingPeers(local, serve):
    asked: list[str] = []
    local.put(DATA)
    with BlobClient(local, [serve(lying_peer(asked))], timeout=5) as client:
        assert client.fetch(DATA_ID) == DATA
    assert asked == []


def test_APeerServingWrongBytesIsSkippedForTheNext(start_node, local, serve, caplog):
    liar = serve(lying_peer())
    c = start_node("c")
    c.store.put(DATA)
    with caplog.at_level(logging.WARNING, logger="agora.blobs"), BlobClient(local, [liar, c.url], timeout=5) as client:
        assert client.fetch(DATA_ID) == DATA
    assert [record.getMessage() for record in caplog.records if record.name.startswith("agora.blobs")] == [
        f"peer {liar} served bytes hashing to {FORGED_ID} for blob {DATA_ID}: skipped"]


def test_WrongBytesFromAPeerAreNeverStored(local, serve):
    with BlobClient(local, [serve(lying_peer())], timeout=5) as client, pytest.raises(BlobNotFound):
        client.fetch(DATA_ID)
    assert local.ids() == []


def test_ABlobMissingEverywhereIsBlobNotFoundNamingEachPeerAndWhy(start_node, local, serve):
    down, b, liar = down_url(), start_node("b"), serve(lying_peer())
    with BlobClient(local, [down, b.url, liar], timeout=5) as client, pytest.raises(BlobNotFound) as raised:
        client.fetch(DATA_ID)
    assert str(raised.value) == (
        f"blob {DATA_ID} is on no node tried (local: not stored; {down}: connection refused; {b.url}: not found "
        f"(HTTP 404); {liar}: served wrong bytes (they hash to {FORGED_ID})): upload it again, or add a node that "
        f"has it to AGORA_BLOBS_PEERS")
    assert raised.value.reasons == {"local": "not stored", down: "connection refused", b.url: "not found (HTTP 404)",
                                    liar: f"served wrong bytes (they hash to {FORGED_ID})"}


def test_APeerServingMoreThanTheLimitIsSkipped(start_node, tmp_path):
    big = b"y" * 2000
    b = start_node("b")
    b.store.put(big)
    small = BlobStore(tmp_path / "small", 1000)
    with BlobClient(small, [b.url], timeout=5) as client, pytest.raises(BlobNotFound) as raised:
        client.fetch(hashlib.sha256(big).hexdigest())
    assert raised.value.reasons[b.url] == "served more than this node's limit of 1000 bytes"


def test_ABlobSurvivesTheNodeItWasUploadedTo(start_node, mesh, local):
    a, b, c = mesh
    with BlobClient(BlobStore(local.root.parent / "buyer", 2**20), [], timeout=5) as buyer:
        buyer.upload(DATA, to=a.url)
    assert a.replicator.wait(10)
    a.stop()
    with BlobClient(local, [a.url, b.url], timeout=5) as provider:
        assert provider.fetch(DATA_ID) == DATA


def test_UploadToANodeStoresItLocallyAndOnThatNode(start_node, local):
    a = start_node("a")
    with BlobClient(local, [], timeout=5) as client:
        assert client.upload(DATA, to=a.url) == DATA_ID
    assert (local.get(DATA_ID), a.store.get(DATA_ID)) == (DATA, DATA)


def test_AnUploadToANodeIsCopiedToThatNodesPeers(start_node, local):
    b = start_node("b")
    a = start_node("a", peers=[b.url])
    with BlobClient(local, [], timeout=5) as client:
        client.upload(DATA, to=a.url)
    assert a.replicator.wait(10)
    assert b.store.get(DATA_ID) == DATA


def test_UploadWithoutANodeGoesToEveryPeer(start_node, local):
    a, b = start_node("a"), start_node("b")
    with BlobClient(local, [a.url, down_url(), b.url], timeout=5) as client:
        client.upload(DATA)
    assert (a.store.get(DATA_ID), b.store.get(DATA_ID)) == (DATA, DATA)


def test_AnUploadNoNodeTakesIsBlobErrorNamingEachAndWhy(start_node, local):
    down, small = down_url(), start_node("small", max_bytes=10)
    with BlobClient(local, [down, small.url], timeout=5) as client, pytest.raises(BlobError) as raised:
        client.upload(DATA)
    assert str(raised.value) == (
        f"blob {DATA_ID} was taken by no node ({down}: connection refused; {small.url}: HTTP 413 (blob {DATA_ID} has "
        f"{len(DATA)} bytes, over this node's limit of 10 bytes (AGORA_BLOBS_MAX_BYTES): store a smaller blob or "
        f"raise the limit)): check that the nodes run and accept blobs this size; the copy on this node stays")
    assert local.get(DATA_ID) == DATA


def test_AnUploadWithNoNodeToGoToIsBlobError(local):
    with BlobClient(local, [], timeout=5) as client, pytest.raises(BlobError) as raised:
        client.upload(DATA)
    assert str(raised.value) == (f"blob {DATA_ID} is stored on this node only: there is no node to upload it to; "
                                 f"name one, or set AGORA_BLOBS_PEERS")


def test_AnUploadIsNotMarkedAsAReplica(local, serve):
    headers: list[str | None] = []
    app = FastAPI()

    @app.put("/blobs/{blob_id}")
    async def put(blob_id: str, request: Request) -> Response:
        headers.append(request.headers.get(REPLICA_HEADER))
        return Response(status_code=201)

    with BlobClient(local, [serve(app)], timeout=5) as client:
        client.upload(DATA)
    assert headers == [None]
