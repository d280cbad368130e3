"""Benchmark (not a test): how often two racing nodes lose a race, by matchmaker stagger.

    ./dev bench-races          (pytest tests/backend/node/bench_races.py -s)

Two `agora node` processes (SQLite, the machine's Redis), ten good providers, 100 jobs
posted at once, the chain's clock four times the wall's. For each stagger, prints the wall
time until every job completed and how the nodes' match attempts ended: sent and mined,
sent and reverted (lost after sending: another node's match landed first; gas spent), or
refused by the simulation before signing (the job already matched: no gas, no nonce; a node
whose index lags may be refused on the same job in more than one round). The lost-race rate
is reverted / sent. Measures; asserts nothing about the numbers.
"""

from __future__ import annotations

import random
import time

import pytest
from eth_account import Account
from market import Clock, NodeProcess, ProviderBot, build_market, node_env, wait_until
from test_two_nodes import lost_races, simulated_losses, states

JOBS, PROVIDERS = 100, 10
ROWS: list[tuple] = []


@pytest.fixture(scope="module", autouse=True)
def table():
    yield
    print("\n\n| stagger (chain s) | wall s to complete all | matches sent | mined | reverted: lost after sending "
          "(gas spent) | lost-race rate (reverted / sent) | simulations refused: lost before signing (free) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in ROWS:
        print("| {} | {:.1f} | {} | {} | {} | {:.1%} | {} |".format(*row))


@pytest.mark.parametrize("stagger", [0, 4, 12])
def test_races(stagger, contracts, accounts, rpc_url, deployments, tmp_path, redis_urls):
    rng = random.Random(stagger)
    market = build_market(contracts.web3, contracts, accounts, ["good"] * PROVIDERS, buyers=2, rng=rng)
    wallets = [Account.create(), Account.create()]
    for wallet in wallets:
        accounts[0].transfer(wallet.address, 100 * 10**18)
    databases = [f"sqlite:///{tmp_path / f'n{i}.db'}" for i in range(2)]
    nodes = [NodeProcess(node_env(rpc_url, deployments, databases[i], wallets[i].key.hex(), tmp_path / f"s{i}",
                                  redis_urls[i], AGORA_MATCHMAKER_STAGGER_SECONDS=str(stagger)),
                         tmp_path / f"node{i}.log") for i in range(2)]
    bot, clock = ProviderBot(market), Clock(contracts.web3)
    bot.start()
    clock.start()
    try:
        time.sleep(5)  # both nodes up and indexing before the jobs arrive
        began = time.monotonic()
        jobs = market.post_jobs(JOBS, rng)
        wait_until(lambda: states(contracts, jobs)["COMPLETED"] == JOBS, 600, "every job completed", every=1)
        wall = time.monotonic() - began
    finally:
        bot.stop.set()
        clock.stop.set()
        for node in nodes:
            node.stop()
    races = [lost_races(url) for url in databases]
    before = sum(simulated_losses(n.log.read_text()) for n in nodes)
    mined = sum(r["mined"] for r in races)
    after = sum(r["reverted"] for r in races)
    ROWS.append((stagger, wall, mined + after, mined, after, after / (mined + after), before))
