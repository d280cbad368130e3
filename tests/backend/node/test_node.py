"""`agora node` with nothing but SQLite and the embedded Redis: it migrates, starts Redis,
its Celery worker and beat carry jobs from posting to completion with no person matching or
settling, and Ctrl-C stops every process it started."""

from __future__ import annotations

import random
import re
import signal

import psutil
from eth_account import Account
from market import Clock, NodeProcess, ProviderBot, build_market, node_env, wait_until

from agora.market.states import JobState


def states(contracts, jobs) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in jobs:
        name = JobState(contracts.market.functions.jobOf(t.job_id).call()[1]).name
        out[name] = out.get(name, 0) + 1
    return out


def test_AWholeNodeOnSqliteAndEmbeddedRedisCarriesJobsToCompletion(contracts, accounts, rpc_url, deployments,
                                                                     tmp_path):
    rng = random.Random(3)
    market = build_market(contracts.web3, contracts, accounts, ["good", "good"], buyers=1, rng=rng)
    wallet = Account.create()
    accounts[0].transfer(wallet.address, 10 * 10**18)
    env = node_env(rpc_url, deployments, f"sqlite:///{tmp_path / 'node.db'}", wallet.key.hex(), tmp_path / "state")
    node = NodeProcess(env, tmp_path / "node.log")
    bot, clock = ProviderBot(market), Clock(contracts.web3)
    bot.start()
    clock.start()
    try:
        jobs = market.post_jobs(8, rng)
        wait_until(lambda: states(contracts, jobs).get("COMPLETED") == len(jobs), 180, "every job completed",
                   every=1, on_timeout=lambda: f"{states(contracts, jobs)}\n{node.tail()}")
        children = psutil.Process(node.process.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "agora.cli worker" in names and "agora.cli beat" in names, names
        node.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert node.stop() == 0, node.tail()
    finally:
        bot.stop.set()
        clock.stop.set()
        node.stop()
    assert not bot.errors
    log = node.log.read_text()
    assert "Redis: unix://" in log and "(embedded, pid" in log and "node stopped" in log
    redis_pid = int(re.search(r"embedded, pid (\d+)", log).group(1))
    assert not psutil.pid_exists(redis_pid), "the embedded Redis outlived the node"
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], \
        "the node left a process running"


def test_ANodeKilledTakesItsWorkerAndBeatWithIt(contracts, accounts, rpc_url, deployments, tmp_path, redis_urls):
    wallet = Account.create()
    accounts[0].transfer(wallet.address, 10**18)
    env = node_env(rpc_url, deployments, f"sqlite:///{tmp_path / 'node.db'}", wallet.key.hex(), tmp_path / "state",
                   redis_urls[0])
    node = NodeProcess(env, tmp_path / "node.log")
    try:
        wait_until(lambda: len(psutil.Process(node.process.pid).children()) == 2, 60, "worker and beat started",
                   on_timeout=node.tail)
        children = psutil.Process(node.process.pid).children()
        node.process.kill()  # SIGKILL: the node cannot stop them itself
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [" ".join(c.cmdline()) for c in alive]
    finally:
        node.stop()
