"""BlobStore: blobs on disk by content, written atomically, checked on every read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agora.blobs import BlobCorrupt, BlobIdInvalid, BlobNotFound, BlobStore, BlobTooLarge

DATA = b"the input of job 7\n"
DATA_ID = hashlib.sha256(DATA).hexdigest()
MAX = 1024


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", MAX)


def files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_ABlobIsReadBackAsTheBytesStored(store):
    blob_id = store.put(DATA)
    assert store.get(blob_id) == DATA


def test_ABlobIsNamedByTheSha256OfItsBytes(store):
    assert store.put(DATA) == DATA_ID


def test_ABlobIsKeptInAShardNamedByItsFirstTwoHexDigits(store):
    store.put(DATA)
    assert files(store.root) == [f"{DATA_ID[:2]}/{DATA_ID}"]


def test_StoringABlobTwiceKeepsOneCopyAndReportsItKnown(store):
    assert store.put_verified(DATA_ID, DATA) is True
    assert store.put_verified(DATA_ID, DATA) is False
    assert store.put(DATA) == DATA_ID
    assert files(store.root) == [f"{DATA_ID[:2]}/{DATA_ID}"]


def test_AWriteLeavesNoTemporaryFiles(store):
    ids = [store.put(bytes([n]) * 100) for n in range(20)]
    assert files(store.root) == sorted(f"{blob_id[:2]}/{blob_id}" for blob_id in ids)


def test_AWriteThatFailsBeforeTheRenameLeavesNeitherBlobNorTemporaryFile(store, monkeypatch):
    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left on device"):
        store.put(DATA)
    assert files(store.root) == []
    assert store.has(DATA_ID) is False


def test_BytesNotHashingToTheIdAreRefusedAndNothingIsStored(store):
    other = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(BlobCorrupt) as raised:
        store.put_verified(other, DATA)
    assert str(raised.value) == (f"bytes offered as blob {other} hash to {DATA_ID}: nothing stored; send the blob's "
                                 f"own bytes, or name them by their hash")
    assert raised.value.blob_id == other
    assert files(store.root) == []


def test_ACorruptedFileOnDiskIsReportedMissingAndDeleted(store):
    store.put(DATA)
    path = store.root / DATA_ID[:2] / DATA_ID
    path.write_bytes(b"the input of job 8\n")
    bad = hashlib.sha256(b"the input of job 8\n").hexdigest()
    with pytest.raises(BlobNotFound) as raised:
        store.get(DATA_ID)
    assert str(raised.value) == (f"blob {DATA_ID} was corrupted on disk (its file hashed to {bad}) and has been "
                                 f"deleted: fetch it again from a node that has it")
    assert not path.exists()
    assert store.has(DATA_ID) is False


def test_ACorruptedBlobCanBeStoredAgain(store):
    store.put(DATA)
    (store.root / DATA_ID[:2] / DATA_ID).write_bytes(b"rot")
    assert store.put_verified(DATA_ID, DATA) is True
    assert store.get(DATA_ID) == DATA


def test_AMissingBlobIsBlobNotFound(store):
    with pytest.raises(BlobNotFound) as raised:
        store.get(DATA_ID)
    assert str(raised.value) == f"blob {DATA_ID} is not in this node's store: fetch it from a node that has it"
    assert raised.value.reasons == {"local": "not stored"}


def test_TheSizeOfAMissingBlobIsBlobNotFound(store):
    with pytest.raises(BlobNotFound, match=f"^blob {DATA_ID} is not in this node's store"):
        store.size(DATA_ID)


def test_SizeAndHasDescribeAStoredBlob(store):
    store.put(DATA)
    assert (store.has(DATA_ID), store.size(DATA_ID)) == (True, len(DATA))


@pytest.mark.parametrize("bad", ["../etc/passwd", DATA_ID.upper(), DATA_ID[:63], DATA_ID + "0", "",
                                 f"../{DATA_ID[3:]}", f"{DATA_ID[:2]}/{DATA_ID[3:]}"],
                         ids=["traversal", "uppercase", "short", "long", "empty", "dotdot-64", "slash-64"])
@pytest.mark.parametrize("operation", ["get", "has", "size", "put_verified", "path"])
def test_ATextThatIsNotAContentIdIsRefusedAsAnId(store, bad, operation):
    args = (bad, DATA) if operation == "put_verified" else (bad,)
    with pytest.raises(BlobIdInvalid) as raised:
        getattr(store, operation)(*args)
    assert str(raised.value) == (f"blob id {bad!r} is not a content id (the SHA-256 of the blob, 64 lowercase hex "
                                 f"digits): check the id")
    assert files(store.root.parent) == []


def test_ABlobOverMaxBytesIsRefusedAndNothingStored(store):
    data = b"x" * (MAX + 1)
    blob_id = hashlib.sha256(data).hexdigest()
    with pytest.raises(BlobTooLarge) as raised:
        store.put(data)
    assert str(raised.value) == (f"blob {blob_id} has 1025 bytes, over this node's limit of 1024 bytes "
                                 f"(AGORA_BLOBS_MAX_BYTES): store a smaller blob or raise the limit")
    assert files(store.root.parent) == []


def test_ABlobOfExactlyMaxBytesIsStored(store):
    data = b"x" * MAX
    assert store.get(store.put(data)) == data


def test_IdsListsTheStoredBlobsInOrder(store):
    ids = [store.put(str(n).encode()) for n in range(10)]
    assert store.ids() == sorted(ids)


def test_IdsPagesWithAfterAndLimit(store):
    ids = sorted(store.put(str(n).encode()) for n in range(10))
    assert store.ids(limit=4) == ids[:4]
    assert store.ids(after=ids[3], limit=4) == ids[4:8]
    assert store.ids(after=ids[7]) == ids[8:]
    assert store.ids(after=ids[9]) == []


def test_AnEmptyStoreListsNoIds(store):
    assert store.ids() == []
