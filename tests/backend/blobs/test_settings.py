"""BlobSettings: AGORA_BLOBS_* with embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from blobkit import blob_settings
from pydantic import ValidationError

from agora.config import WorkerSettings


def test_TheDefaultsServeAnyFreePortOnLocalhostWithNoPeers():
    settings = blob_settings()
    assert (settings.host, settings.port, settings.peer_urls, settings.max_bytes, settings.timeout_seconds,
            settings.public_url) == ("127.0.0.1", 0, [], 16 * 2**20, 10.0, "")


def test_TheBlobDirectoryDefaultsToBlobsUnderTheStateDirectory(tmp_path):
    assert blob_settings().directory(tmp_path) == tmp_path / "blobs"


def test_TheDefaultStateDirectoryGivesRootDotAgoraBlobs(monkeypatch):
    monkeypatch.delenv("AGORA_STATE_DIR", raising=False)
    state_dir = WorkerSettings().state_dir
    assert blob_settings().directory(state_dir) == Path(__file__).resolve().parents[3] / ".agora" / "blobs"


def test_ABlobDirectorySetIsUsedWhateverTheStateDirectory(tmp_path):
    assert blob_settings(dir=tmp_path / "elsewhere").directory(tmp_path / "state") == tmp_path / "elsewhere"


def test_SettingsAreReadFromAgoraBlobsVariables(monkeypatch, tmp_path):
    monkeypatch.setenv("AGORA_BLOBS_DIR", str(tmp_path))
    monkeypatch.setenv("AGORA_BLOBS_PORT", "8601")
    monkeypatch.setenv("AGORA_BLOBS_PEERS", "http://127.0.0.1:8602,https://blobs.example.org/")
    monkeypatch.setenv("AGORA_BLOBS_MAX_BYTES", "2048")
    settings = blob_settings()
    assert (settings.dir, settings.port, settings.peer_urls, settings.max_bytes) == (
        tmp_path, 8601, ["http://127.0.0.1:8602", "https://blobs.example.org"], 2048)


def test_PeersAreSplitOnCommasTrimmedAndEachKeptOnce():
    settings = blob_settings(peers=" http://a:1/ , http://b:2,,http://a:1 ")
    assert settings.peer_urls == ["http://a:1", "http://b:2"]


def test_APeerThatIsNotAnHttpUrlIsRefused():
    with pytest.raises(ValidationError) as raised:
        blob_settings(peers="http://a:1,ftp://b:2")
    assert raised.value.errors()[0]["msg"] == "Value error, 'ftp://b:2' must be a base URL starting with http:// or https://"


def test_ThePublicUrlDefaultsToHostAndTheBoundPort():
    assert blob_settings(host="127.0.0.1").url(8601) == "http://127.0.0.1:8601"


def test_APublicUrlSetIsHowOthersReachTheNode():
    assert blob_settings(public_url="https://blobs.example.org/").url(8601) == "https://blobs.example.org"
