"""`agora provider run`: the provider agent as a long-running process.

It checks the chain, the deployment and the wallet, brings its database to the latest
schema, then loops until Ctrl-C or SIGTERM: index the new blocks, then one agent round
(listing, answers, runs, submissions). On a stop it lets running jobs finish (each is
bounded by its manifest's wall time) and exits; restarted, it carries on with the jobs it
had accepted.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from agora.app import App
from agora.chain.rpc import RpcError, RpcUnavailable
from agora.config import get_settings
from agora.errors import AgoraError

log = logging.getLogger("agora.agent")

INDEX_BUDGET_SECONDS = 5.0


def service_loop(app: App, service: Any, interval: float, banner: str, stop: Callable[[], bool] | None = None,
                 progress_seconds: float = 10.0) -> int:
    """Index, then `service.run_once()`, every `interval` seconds until SIGINT/SIGTERM."""
    stopping: list[int] = []
    if stop is None:
        signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
        stop = lambda: bool(stopping)  # noqa: E731
    indexer = app.indexer()
    print(banner, flush=True)
    last = 0.0
    backoff = interval
    while not stop():
        started = time.monotonic()
        try:
            indexer.catch_up(INDEX_BUDGET_SECONDS)
            report = service.run_once()
            backoff = interval
            if time.monotonic() - last >= progress_seconds:
                last = time.monotonic()
                print(report.line(), flush=True)
        except (RpcUnavailable, RpcError, AgoraError, OSError) as exc:
            log.warning("round failed, retrying in %.1f s: %s", backoff, exc)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
            continue
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return 0


def run_agent() -> int:
    settings = get_settings()
    app = App(settings)
    deployment = app.deployment
    app.migrate()
    agent = app.agent()
    balance = app.web3.eth.get_balance(agent.address)
    peers = ", ".join(settings.blobs.peer_urls) or "none (set AGORA_BLOBS_PEERS)"
    s = settings.agent
    banner = (f"provider agent {agent.address} ({balance / 10**18:.4f} ETH) on chain {deployment.chain_id}; "
              f"capacity {s.cpu_millicores} millicores, {s.memory_mib} MiB, {s.storage_gib} GiB, {s.gpu_count} GPUs "
              f"{s.gpu_model or ''} in {s.region or 'any region'}; stake {s.stake_tokens} tokens; "
              f"blobs from {peers}" + ("; CORRUPTING RESULTS (AGORA_AGENT_CORRUPT_RESULTS)" if s.corrupt_results
                                       else ""))
    try:
        return service_loop(app, agent, s.interval_seconds, banner)
    finally:
        print("stopping: running jobs finish", flush=True)
        agent.close()
        app.close()
        print("provider agent stopped", flush=True)
