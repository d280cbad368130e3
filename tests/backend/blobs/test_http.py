"""The blob service over HTTP, with real BlobServers on 127.0.0.1: serving, refusing with a
reason, and copying client uploads to the peers (and copies no further)."""

from __future__ import annotations

import hashlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading

import httpx
import pytest
from blobkit import blob_settings, down_url, free_port
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agora.blobs import REPLICA_HEADER, BlobError, BlobServer
from agora.blobs.server import serve_forever
from agora.errors import ConfigError

DATA = b"\x00asm\x01\x00\x00\x00 a module"
DATA_ID = hashlib.sha256(DATA).hexdigest()
MISSING_ID = hashlib.sha256(b"never uploaded").hexdigest()


def recording_peer() -> tuple[FastAPI, list[tuple[str, str | None, bytes]]]:
    """A fake peer recording each PUT as (blob id, X-Agora-Replica header, body)."""
    app = FastAPI()
    seen: list[tuple[str, str | None, bytes]] = []

    @app.put("/blobs/{blob_id}")
    async def put(blob_id: str, request: Request) -> JSONResponse:
        seen.append((blob_id, request.headers.get(REPLICA_HEADER), await request.body()))
        return JSONResponse({"id": blob_id}, status_code=201)

    return app, seen


def test_ABlobUploadedToOneNodeIsCopiedToItsPeers(mesh):
    a, b, c = mesh
    response = httpx.post(f"{a.url}/blobs", content=DATA)
    assert (response.status_code, response.json()) == (201, {"id": DATA_ID, "size": len(DATA)})
    assert a.replicator.wait(10)
    assert [node.store.get(DATA_ID) for node in (a, b, c)] == [DATA, DATA, DATA]


def test_EveryNodeServesTheCopiedBlob(mesh):
    a, b, c = mesh
    httpx.post(f"{a.url}/blobs", content=DATA)
    a.replicator.wait(10)
    for node in mesh:
        response = httpx.get(f"{node.url}/blobs/{DATA_ID}")
        assert (response.status_code, response.headers["content-type"], response.content) == (
            200, "application/octet-stream", DATA)


def test_InAMeshEachUploadIsCopiedOnceToEachPeerAndNoFurther(mesh):
    a, b, c = mesh
    httpx.put(f"{a.url}/blobs/{DATA_ID}", content=DATA)
    for node in mesh:
        assert node.replicator.wait(10)
    assert sorted(a.replicator.copied) == sorted([(DATA_ID, b.url), (DATA_ID, c.url)])
    assert (b.replicator.copied, c.replicator.copied) == ([], [])


def test_AReplicaPutIsStoredButNotCopiedFurther(start_node, serve):
    app, seen = recording_peer()
    b = start_node("b", peers=[serve(app)])
    response = httpx.put(f"{b.url}/blobs/{DATA_ID}", content=DATA, headers={REPLICA_HEADER: "1"})
    assert response.status_code == 201
    assert b.replicator.wait(10)
    assert (b.store.get(DATA_ID), seen) == (DATA, [])


def test_ACopyToAPeerIsAPutMarkedAsAReplica(start_node, serve):
    app, seen = recording_peer()
    b = start_node("b", peers=[serve(app)])
    httpx.put(f"{b.url}/blobs/{DATA_ID}", content=DATA)
    assert b.replicator.wait(10)
    assert seen == [(DATA_ID, "1", DATA)]


def test_ABlobTheNodeHadIsNotCopiedAgain(start_node, serve):
    app, seen = recording_peer()
    b = start_node("b", peers=[serve(app)])
    httpx.put(f"{b.url}/blobs/{DATA_ID}", content=DATA)
    response = httpx.post(f"{b.url}/blobs", content=DATA)
    assert b.replicator.wait(10)
    assert (response.status_code, len(seen)) == (200, 1)


def test_APeerThatIsDownIsLoggedOnceForTheBlob(start_node, caplog):
    down = down_url()
    b = start_node("b")
    a = start_node("a", peers=[down, b.url])
    with caplog.at_level(logging.WARNING, logger="agora.blobs"):
        response = httpx.post(f"{a.url}/blobs", content=DATA)
        assert a.replicator.wait(10)
    assert response.status_code == 201
    assert b.store.get(DATA_ID) == DATA
    assert [record.getMessage() for record in caplog.records if record.name.startswith("agora.blobs")] == [
        f"blob {DATA_ID} not copied to peer {down}: connection refused; it stays on this node (and any peer that "
        f"took it)"]
    assert a.replicator.failed == [(DATA_ID, down)]


def test_PuttingANewBlobAnswers201(start_node):
    a = start_node("a")
    response = httpx.put(f"{a.url}/blobs/{DATA_ID}", content=DATA)
    assert (response.status_code, response.json()) == (201, {"id": DATA_ID, "size": len(DATA)})


def test_PuttingABlobTheNodeHasAnswers200(start_node):
    a = start_node("a")
    httpx.put(f"{a.url}/blobs/{DATA_ID}", content=DATA)
    response = httpx.put(f"{a.url}/blobs/{DATA_ID}", content=DATA)
    assert (response.status_code, response.json()) == (200, {"id": DATA_ID, "size": len(DATA)})


def test_APutWhoseBodyHashesToAnotherIdIs400AndStoresNothing(start_node):
    a = start_node("a")
    response = httpx.put(f"{a.url}/blobs/{MISSING_ID}", content=DATA)
    assert (response.status_code, response.json()) == (400, {"detail": (
        f"bytes offered as blob {MISSING_ID} hash to {DATA_ID}: nothing stored; send the blob's own bytes, or name "
        f"them by their hash")})
    assert a.store.ids() == []


def test_AMissingBlobIs404WithTheReason(start_node):
    a = start_node("a")
    response = httpx.get(f"{a.url}/blobs/{MISSING_ID}")
    assert (response.status_code, response.json()) == (404, {"detail": (
        f"blob {MISSING_ID} is not in this node's store: fetch it from a node that has it")})


def test_HeadGivesTheSizeWithoutTheBytes(start_node):
    a = start_node("a")
    a.store.put(DATA)
    response = httpx.head(f"{a.url}/blobs/{DATA_ID}")
    assert (response.status_code, response.headers["content-length"], response.content) == (200, str(len(DATA)), b"")


def test_HeadOfAMissingBlobIs404(start_node):
    a = start_node("a")
    assert httpx.head(f"{a.url}/blobs/{MISSING_ID}").status_code == 404


@pytest.mark.parametrize(("path", "shown"), [
    (DATA_ID.upper(), DATA_ID.upper()), (DATA_ID[:10], DATA_ID[:10]), ("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd")],
    ids=["uppercase", "short", "traversal"])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_AnIdThatIsNotAContentIdIs400WithTheReason(start_node, method, path, shown):
    a = start_node("a")
    response = httpx.request(method, f"{a.url}/blobs/{path}", content=DATA if method == "PUT" else None)
    assert (response.status_code, response.json()) == (400, {"detail": (
        f"blob id {shown!r} is not a content id (the SHA-256 of the blob, 64 lowercase hex digits): check the id")})
    assert a.store.ids() == []


def test_ABlobOverTheLimitIs413ByItsContentLength(start_node):
    a = start_node("a", max_bytes=1000)
    response = httpx.post(f"{a.url}/blobs", content=b"x" * 1001)
    assert (response.status_code, response.json()) == (413, {"detail": (
        "blob has 1001 bytes, over this node's limit of 1000 bytes (AGORA_BLOBS_MAX_BYTES): store a smaller blob or "
        "raise the limit")})


def test_APutOverTheLimitIs413NamingTheBlob(start_node):
    a = start_node("a", max_bytes=1000)
    data = b"x" * 1001
    blob_id = hashlib.sha256(data).hexdigest()
    response = httpx.put(f"{a.url}/blobs/{blob_id}", content=data)
    assert (response.status_code, response.json()["detail"]) == (413, (
        f"blob {blob_id} has 1001 bytes, over this node's limit of 1000 bytes (AGORA_BLOBS_MAX_BYTES): store a "
        f"smaller blob or raise the limit"))
    assert a.store.ids() == []


def test_AStreamedBlobWithoutLengthIsCutOffAt413OnceOverTheLimit(start_node):
    a = start_node("a", max_bytes=1000)

    def chunks():
        for _ in range(5):
            yield b"x" * 300

    response = httpx.post(f"{a.url}/blobs", content=chunks())
    assert response.request.headers.get("content-length") is None
    assert (response.status_code, response.json()) == (413, {"detail": (
        "blob has more than this node's limit of 1000 bytes (AGORA_BLOBS_MAX_BYTES): store a smaller blob or raise "
        "the limit")})
    assert a.store.ids() == []


def test_TheBlobListIsPaginated(start_node):
    a = start_node("a")
    ids = sorted(a.store.put(str(n).encode()) for n in range(5))
    first = httpx.get(f"{a.url}/blobs", params={"limit": 3}).json()
    rest = httpx.get(f"{a.url}/blobs", params={"limit": 3, "after": first["next"]}).json()
    assert (first, rest) == ({"ids": ids[:3], "next": ids[2]}, {"ids": ids[3:], "next": None})


def test_HealthAnswersOk(start_node):
    a = start_node("a")
    response = httpx.get(f"{a.url}/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_StartReturnsTheUrlWithThePortActuallyBound(start_node):
    a = start_node("a", port=0)
    assert a.url.startswith("http://127.0.0.1:") and int(a.url.rsplit(":", 1)[1]) > 0


def test_AStoppedServerNoLongerAnswers(start_node):
    a = start_node("a")
    a.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{a.url}/health")


def test_ANodeLeavesItsOwnUrlOutOfItsPeers(start_node):
    port = free_port()
    a = start_node("a", port=port, peers=[f"http://127.0.0.1:{port}", "http://127.0.0.1:1"])
    assert a.peers == ["http://127.0.0.1:1"]


def test_APortInUseIsReportedByStart(start_node, tmp_path):
    a = start_node("a")
    port = int(a.url.rsplit(":", 1)[1])
    with pytest.raises(BlobError) as raised:
        BlobServer(blob_settings(port=port), tmp_path / "b").start()
    assert str(raised.value) == (f"agora-blobs cannot listen on 127.0.0.1:{port} (Address already in use): pick a "
                                 f"free port, or 0 for any")


def test_TheServeCommandRunsUntilSigtermThenExitsCleanly(tmp_path):
    port = free_port()
    code = "import sys; from agora.blobs.server import serve_forever; sys.exit(serve_forever())"
    env = {**os.environ, "AGORA_BLOBS_PORT": str(port), "AGORA_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "serve_forever did not report its URL within 30s"
        assert process.stdout.readline().decode().strip() == (
            f"blobs: serving {tmp_path / 'state' / 'blobs'} at http://127.0.0.1:{port}, copying uploads to no peers "
            f"(AGORA_BLOBS_PEERS); Ctrl-C stops")
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_TheServeCommandNamesAnInvalidSetting(monkeypatch):
    monkeypatch.setenv("AGORA_BLOBS_PEERS", "ftp://127.0.0.1:1")
    with pytest.raises(ConfigError) as raised:
        serve_forever()
    assert str(raised.value) == ("AGORA_BLOBS_PEERS=ftp://127.0.0.1:1 is invalid (Value error, 'ftp://127.0.0.1:1' "
                                 "must be a base URL starting with http:// or https://): fix it in the environment or "
                                 "in .env")


def test_StopJoinsTheServerAndReplicatorThreads(start_node):
    b = start_node("b")
    a = start_node("a", peers=[b.url])
    httpx.post(f"{a.url}/blobs", content=DATA)
    a.stop()
    b.stop()
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith("agora-blobs")] == []
