"""The indexer survives SIGKILL at any point: killed 20+ times during a backfill and
restarted, it ends with exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from brownie import chain
from indexkit import ROOT, dump
from sqlalchemy import create_engine, text

KILLS = 20


def checkpoint_of(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT block_number FROM indexer_checkpoints")).first()
            return row[0] if row else -1
    except Exception:  # noqa: BLE001 - before the first migration there is no table yet
        return -1
    finally:
        engine.dispose()


def test_KilledAtRandomPointsEndsWithTheRowsOfAnUninterruptedRun(database_url, scenario, settings_for, indexer_for,
                                                                   deployments, tmp_path):
    scenario.setup()
    for i in range(24):
        scenario.run_job(scenario.providers[i % 2], scenario.buyers[i % 2], "confirm" if i % 3 else "finalize")
    target = chain.height
    settings = settings_for(database_url, max_block_range=1, initial_block_range=1)
    env = {**os.environ, "AGORA_RPC_URL": settings.chain.rpc_url, "AGORA_DEPLOYMENTS_DIR": str(deployments),
           "AGORA_DATABASE_URL": database_url,
           "AGORA_MAX_BLOCK_RANGE": "1", "AGORA_INITIAL_BLOCK_RANGE": "1", "PYTHONPATH": str(ROOT / "backend")}
    command = [sys.executable, "-m", "agora.cli", "index", "--until", str(target)]

    rng = random.Random(int(os.environ.get("AGORA_KILL_SEED", "20261125")))
    killed_at = []
    while len(killed_at) < KILLS:
        before = checkpoint_of(database_url)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Wait for the backfill to make progress, then kill at a random moment of it.
        deadline = time.monotonic() + 30
        while process.poll() is None and checkpoint_of(database_url) <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.08))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(checkpoint_of(database_url))

    assert len(killed_at) >= KILLS, f"the backfill finished after {len(killed_at)} kills; make it longer"
    assert all(block < target for block in killed_at), "every kill must land during the backfill"
    finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert checkpoint_of(database_url) >= target

    uninterrupted = f"sqlite:///{tmp_path / 'uninterrupted.db'}"
    indexer_for(uninterrupted).run(until_block=target)
    assert dump(database_url) == dump(uninterrupted)
