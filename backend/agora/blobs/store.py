"""A node's blobs on disk, by content: each blob is the file root/ab/abcdef... named by the
SHA-256 of its bytes, written atomically and checked again on every read."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from agora.errors import AgoraError
from agora.market.spec import content_id, is_content_id

__all__ = ["BlobCorrupt", "BlobError", "BlobIdInvalid", "BlobNotFound", "BlobStore", "BlobTooLarge", "check_id"]

log = logging.getLogger(__name__)

_TEMP_PREFIX = ".tmp-"


class BlobError(AgoraError):
    """A blob cannot be stored, found or trusted."""

    def __init__(self, message: str, blob_id: str | None = None):
        super().__init__(message)
        self.blob_id = blob_id


class BlobNotFound(BlobError):
    """No (intact) copy of the blob where it was looked for. `reasons` maps each place
    tried (a peer's URL, or "local") to why it had no copy."""

    def __init__(self, message: str, blob_id: str | None = None, reasons: dict[str, str] | None = None):
        super().__init__(message, blob_id)
        self.reasons = dict(reasons or {})


class BlobCorrupt(BlobError):
    """Bytes offered as a blob do not hash to its id."""


class BlobTooLarge(BlobError):
    """A blob is larger than this node accepts."""


class BlobIdInvalid(BlobError):
    """A text given as a blob id is not a content id (64 lowercase hex digits)."""


def check_id(blob_id: str) -> str:
    """`blob_id` if it is a content id; BlobIdInvalid otherwise (so no id names a path
    outside the store)."""
    if not isinstance(blob_id, str) or not is_content_id(blob_id):
        shown = blob_id[:80] + "..." if isinstance(blob_id, str) and len(blob_id) > 80 else blob_id
        raise BlobIdInvalid(f"blob id {shown!r} is not a content id (the SHA-256 of the blob, 64 lowercase hex "
                            f"digits): check the id")
    return blob_id


def too_large(size: int, max_bytes: int, blob_id: str | None = None) -> BlobTooLarge:
    named = f"blob {blob_id}" if blob_id else "blob"
    return BlobTooLarge(f"{named} has {size} bytes, over this node's limit of {max_bytes} bytes "
                        f"(AGORA_BLOBS_MAX_BYTES): store a smaller blob or raise the limit", blob_id)


class BlobStore:
    """Blobs under `root`, sharded by the first two hex digits of their id. Writes are
    atomic (temporary file in the shard, fsync, rename) and idempotent; reads re-check
    the hash and drop a file whose bytes have gone bad, so a damaged copy is never served."""

    def __init__(self, root: Path, max_bytes: int):
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, blob_id: str) -> Path:
        """Where the blob's file is (or would be); BlobIdInvalid for an id that is not one."""
        check_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    def put(self, data: bytes) -> str:
        """Store `data`; its content id. Storing a blob the store has changes nothing."""
        blob_id = content_id(data)
        self.put_verified(blob_id, data)
        return blob_id

    def put_verified(self, blob_id: str, data: bytes) -> bool:
        """Store `data` as `blob_id`; BlobCorrupt (and nothing stored) if its SHA-256 is
        another. True if it was newly stored, False if the store had it already."""
        path = self.path(blob_id)
        if len(data) > self.max_bytes:
            raise too_large(len(data), self.max_bytes, blob_id)
        actual = content_id(data)
        if actual != blob_id:
            raise BlobCorrupt(f"bytes offered as blob {blob_id} hash to {actual}: nothing stored; send the blob's "
                              f"own bytes, or name them by their hash", blob_id)
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        self._write(path, data)
        return True

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def get(self, blob_id: str) -> bytes:
        """The blob's bytes; BlobNotFound if the store lacks it or its file no longer
        matches its hash (that file is deleted)."""
        path = self.path(blob_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"blob {blob_id} is not in this node's store: fetch it from a node that has it",
                               blob_id, {"local": "not stored"}) from None
        actual = content_id(data)
        if actual != blob_id:
            log.warning("blob %s was corrupted on disk (its file hashes to %s); deleted it", blob_id, actual)
            path.unlink(missing_ok=True)
            raise BlobNotFound(f"blob {blob_id} was corrupted on disk (its file hashed to {actual}) and has been "
                               f"deleted: fetch it again from a node that has it", blob_id,
                               {"local": "corrupted on disk, deleted"})
        return data

    def has(self, blob_id: str) -> bool:
        """Whether the store has a file for the blob (its bytes are checked on get)."""
        return self.path(blob_id).is_file()

    def size(self, blob_id: str) -> int:
        """The blob's size in bytes; BlobNotFound if the store lacks it."""
        try:
            return self.path(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob {blob_id} is not in this node's store: fetch it from a node that has it",
                               blob_id, {"local": "not stored"}) from None

    def ids(self, *, after: str = "", limit: int | None = None) -> list[str]:
        """The ids of the stored blobs, in order, those after `after` only, at most `limit`."""
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for shard in sorted(self.root.iterdir()):
            if len(shard.name) != 2 or shard.name < after[:2] or not shard.is_dir():
                continue
            for name in sorted(entry.name for entry in shard.iterdir()):
                if name > after and name.startswith(shard.name) and is_content_id(name):
                    found.append(name)
                    if limit is not None and len(found) >= limit:
                        return found
        return found


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
