"""`agora node`: a whole node in one command.

Checks the chain, the deployment and the wallet, brings the database to the latest schema,
serves its job data (the blob service, AGORA_BLOBS_*, in a thread of this process), starts
Redis (the configured one, or an embedded one), then runs the node's Celery worker
and beat as child processes, printing a progress line now and then, until Ctrl-C or
SIGTERM, which stop the children (a warm shutdown: running tasks finish) and the Redis it
started. A child that dies ends the node with its exit code, rather than leaving half a node
running.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select

from agora.app import App
from agora.config import get_settings
from agora.worker.broker import start_broker

log = logging.getLogger("agora.node")

STOP_GRACE_SECONDS = 30.0


def run_node(progress_seconds: float = 5.0) -> int:
    settings = get_settings()
    app = App(settings)
    deployment = app.deployment
    app.migrate()
    wallet = app.wallet
    balance = app.web3.eth.get_balance(wallet.address)
    print(f"node wallet {wallet.address} ({balance / 10**18:.4f} ETH) on chain {deployment.chain_id}, "
          f"database {settings.database.database_url.split('://')[0]}", flush=True)
    if balance == 0:
        print(f"warning: {wallet.address} holds no ether: it can match and keep only once funded", flush=True)
    from agora.blobs import BlobServer

    blobs = BlobServer(settings.blobs, settings.worker.state_dir)
    blob_url = blobs.start()
    peers = ", ".join(blobs.peers) or "no peers (AGORA_BLOBS_PEERS)"
    print(f"blobs: serving {blobs.store.root} at {blob_url}, copying uploads to {peers}", flush=True)
    broker = start_broker(settings)
    embedded = f" (embedded, pid {broker.embedded.pid})" if broker.embedded else ""  # type: ignore[attr-defined]
    print(f"Redis: {broker.url}{embedded}", flush=True)
    env = {**os.environ, "AGORA_REDIS_URL": broker.url, "AGORA_STATE_DIR": str(settings.worker.state_dir)}
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
    children = {
        name: subprocess.Popen([sys.executable, "-m", "agora.cli", name], env=env, preexec_fn=_child_of_node)
        for name in ("worker", "beat")
    }
    code = 0
    try:
        last = 0.0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"agora: the node's {name} stopped (exit code {child.returncode}); stopping the node",
                          file=sys.stderr, flush=True)
                    code = child.returncode or 1
                    stopping.append(0)
            if time.monotonic() - last >= progress_seconds:
                last = time.monotonic()
                print(progress_line(app), flush=True)
            time.sleep(0.2)
    finally:
        print("stopping: worker and beat finish their tasks", flush=True)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        broker.stop()
        blobs.stop()
        app.close()
        print("node stopped", flush=True)
    return code


def _child_of_node() -> None:
    """In the worker and beat, before they start: a session of their own (Ctrl-C in the
    terminal reaches only the node, which stops them in order), and, on Linux, SIGTERM when
    the node dies, even by SIGKILL, so no half node is left running."""
    os.setsid()
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def progress_line(app: App) -> str:
    """The index's position and the jobs by state, from the read model."""
    from agora.db.models import Job
    from agora.db.queries import indexed_block

    try:
        head = app.rpc.block_number()
        with app.sessions() as session:
            indexed = indexed_block(session)
            states = Counter(dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all()))
    except Exception as exc:  # noqa: BLE001 - progress is best effort; the tasks log their own errors
        return f"progress unavailable: {exc}"
    jobs = ", ".join(f"{state} {n}" for state, n in sorted(states.items())) or "no jobs yet"
    return f"head {head}, indexed {indexed.number if indexed else '-'}; jobs: {jobs}"
