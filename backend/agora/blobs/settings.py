"""The blob service's settings (AGORA_BLOBS_*): where this node keeps its blobs, where it
listens, which other nodes it copies uploads to, and how much it accepts.

One of agora.config's per-service groups (`Settings().blobs`), declared there with the
others and re-exported here, as agora.sender.settings does, so the service and a command
that needs this group alone import it from the package it configures:

    BlobSettings().peer_urls               # AGORA_BLOBS_PEERS, split and checked
    BlobSettings().directory(state_dir)    # AGORA_BLOBS_DIR, or <state_dir>/blobs
    BlobSettings().url(bound_port)         # AGORA_BLOBS_PUBLIC_URL, or http://host:port
"""

from __future__ import annotations

from agora.config import DEFAULT_MAX_BYTES, BlobSettings

__all__ = ["DEFAULT_MAX_BYTES", "BlobSettings"]
