"""`agora arbiter run`: the arbiter as a long-running process (index, then rule on the
disputes open, until Ctrl-C or SIGTERM)."""

from __future__ import annotations

from agora.agent.runner import service_loop
from agora.app import App
from agora.config import get_settings


def run_arbiter() -> int:
    settings = get_settings()
    app = App(settings)
    deployment = app.deployment
    app.migrate()
    arbiter = app.arbiter()
    named = app.contracts.params.functions.arbiter().call()
    role = "the market's arbiter" if named.lower() == arbiter.address.lower() else f"NOT the arbiter (that is {named})"
    peers = ", ".join(settings.blobs.peer_urls) or "none (set AGORA_BLOBS_PEERS)"
    banner = f"arbiter {arbiter.address} on chain {deployment.chain_id}: {role}; blobs from {peers}"
    try:
        return service_loop(app, arbiter, settings.arbiter.interval_seconds, banner)
    finally:
        app.close()
        print("arbiter stopped", flush=True)
