"""`./dev market` (scripts/market.py): one command starts chain, contracts and a node, stops
them cleanly on Ctrl-C, and starts again where it stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_market(env: dict) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "market.py")], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops it"):
            return process, lines
    process.kill()
    raise AssertionError("the market did not start:\n" + "".join(lines[-40:]))


def indexed_block(db: Path) -> int:
    try:
        with sqlite3.connect(db) as connection:
            row = connection.execute("SELECT block_number FROM indexer_checkpoints").fetchone()
            return row[0] if row else -1
    except sqlite3.Error:
        return -1


def wait_for_index(db: Path, above: int, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (block := indexed_block(db)) > above:
            return block
        time.sleep(0.2)
    raise AssertionError(f"the indexer did not pass block {above} within {seconds} s")


def head_block(port: str) -> int:
    """The node's head once the market says it is running: every deploy transaction is in."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}", method="POST",
                                     data=b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["result"], 16)


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    return out


def test_MarketStartsChainContractsAndIndexerAndResumes(tmp_path):
    state, deployments = tmp_path / "state", tmp_path / "deployments"
    env = {**os.environ, "AGORA_RPC_PORT": str(free_port()), "AGORA_STATE_DIR": str(state),
           "AGORA_DEPLOYMENTS_DIR": str(deployments), "PYTHONUNBUFFERED": "1"}
    env.pop("AGORA_DATABASE_URL", None)
    db = state / "agora.db"

    market, lines = start_market(env)
    try:
        first_address = next(line.split()[1] for line in lines if line.strip().startswith("market "))
        # The deployment's own events (tokens handed out, roles granted) get indexed...
        deployed = json.loads((deployments / "31337.json").read_text())
        last_deploy_block = head_block(env["AGORA_RPC_PORT"])
        indexed = wait_for_index(db, above=last_deploy_block - 1)
        with sqlite3.connect(db) as connection:
            contracts = {row[0] for row in connection.execute("SELECT DISTINCT contract FROM events")}
        assert {"AgoraToken", "TimelockController"} <= contracts, contracts
        assert indexed >= deployed["deployBlock"]
        # ...and it follows the head: anvil mines a block a second.
        wait_for_index(db, above=indexed + 2)
        # The whole market runs: three providers and the arbiter, and the example jobs
        # posted as "you" are matched, run and paid. Every agora command finds the devnet
        # by itself (its file in the state directory): no AGORA_RPC_URL, no wallet given.
        devnet = json.loads((state / "devnet.json").read_text())
        assert len(devnet["providers"]) == 3 and devnet["arbiter"]["address"]
        assert sum(line.strip().startswith("posted example job") for line in lines) == 3, "".join(lines)
        cli_env = {k: v for k, v in env.items() if k != "AGORA_DEPLOYMENTS_DIR"}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            jobs = json.loads(subprocess.run([sys.executable, "-m", "agora.cli", "job", "list", "--json"], env=cli_env,
                                             capture_output=True, text=True, check=True, cwd=ROOT).stdout)
            if len(jobs) == 3 and all(job["state"] == "Completed" for job in jobs):
                break
            time.sleep(2)
        assert [job["state"] for job in jobs] == ["Completed"] * 3, jobs
        assert {job["buyer"].lower() for job in jobs} == {devnet["wallet"]["address"].lower()}
    finally:
        stop(market)
    assert not (state / "devnet.json").exists(), "a stopped devnet leaves no file for commands to follow"
    stopped_at = indexed_block(db)
    log = (state / "node.log").read_text()
    assert "node wallet" in log and "(embedded" in log and "node stopped" in log, log[-3000:]

    market, lines = start_market(env)
    try:
        assert any(line.strip() == f"market   {first_address}" for line in lines), "".join(lines)
        assert not any("deployed at" in line for line in lines), "the second start must not deploy again"
        assert not any("posted example job" in line for line in lines), "the examples are posted once"
        wait_for_index(db, above=stopped_at + 1)
    finally:
        stop(market)
