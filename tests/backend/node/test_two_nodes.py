"""Two nodes race on one market, with no person matching or settling anything.

Node A indexes into PostgreSQL and node B into SQLite; each has its own wallet and its own
database of the machine's Redis; each runs `agora node` (migrations, then a Celery worker
and beat running the indexer, the matchmaker and the keeper). Twenty providers serve 200
jobs; three of them misbehave (one declines every match, one never accepts, one accepts and
never delivers). The chain's clock runs four times faster than the wall's, so accept windows,
deadlines and challenge windows pass within the test.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from eth_account import Account
from market import BAD, Clock, NodeProcess, ProviderBot, build_market, dump_market, node_env, wait_until
from sqlalchemy import create_engine, func, select

from agora.db.models import Job, Slash
from agora.market.states import JobState

JOBS, PROVIDERS = 200, 20


def states(contracts, jobs) -> Counter:
    return Counter(JobState(contracts.market.functions.jobOf(t.job_id).call()[1]).name for t in jobs)


def test_TwoNodesCarry200JobsThroughTheirLivesAndAgree(contracts, accounts, rpc_url, deployments, tmp_path,
                                                       postgres_url, redis_urls):
    rng = random.Random(8)
    web3 = contracts.web3
    market = build_market(web3, contracts, accounts, BAD + ["good"] * (PROVIDERS - len(BAD)), buyers=4, rng=rng)
    wallets = [Account.create(), Account.create()]
    for wallet in wallets:
        accounts[0].transfer(wallet.address, 100 * 10**18)
    databases = [postgres_url, f"sqlite:///{tmp_path / 'b.db'}"]
    nodes = [NodeProcess(node_env(rpc_url, deployments, databases[i], wallets[i].key.hex(), tmp_path / f"node{i}",
                                  redis_urls[i], AGORA_MATCHMAKER_STAGGER_SECONDS="8"), tmp_path / f"node{i}.log")
             for i in range(2)]
    bot, clock = ProviderBot(market), Clock(web3)
    bot.start()
    clock.start()
    try:
        jobs = market.post_jobs(JOBS, rng)
        logs = lambda: "\n".join(f"--- node {i}\n{n.tail()}" for i, n in enumerate(nodes))  # noqa: E731
        wait_until(lambda: states(contracts, jobs)["COMPLETED"] == JOBS, 420,
                   "every job completed", every=2, on_timeout=lambda: f"{states(contracts, jobs)}\n{logs()}")
        assert not bot.errors
        # Let both indexers reach the same block, then compare what they projected.
        clock.stop.set()
        clock.join()
        head = web3.eth.block_number
        wait_until(lambda: all(indexed(url) >= head for url in databases), 60, "both indexes at the head",
                   on_timeout=logs)
    finally:
        bot.stop.set()
        clock.stop.set()
        codes = [n.stop() for n in nodes]
    assert codes == [0, 0], logs()

    # Every opening of a job was matched exactly once: matches = 1 + re-openings.
    matched = Counter(bytes(e["args"]["jobId"]) for e in contracts.market.events.JobMatched().get_logs(from_block=0))
    # A decline, a lapse and a missed deadline each slash the provider and re-open the job.
    reopened = Counter(bytes(e["args"]["jobId"]) for e in contracts.market.events.JobSlashed().get_logs(from_block=0)
                       if e["args"]["newState"] == JobState.OPEN)
    assert {t.job_id: matched[t.job_id] for t in jobs} == {t.job_id: 1 + reopened[t.job_id] for t in jobs}

    # The misbehaving providers were passed over: every job ended with a good provider,
    # and each bad one was slashed at least once with the buyer credited.
    bad = {p.signer.address for p in market.providers if p.behaviour != "good"}
    final = {t.job_id: contracts.market.functions.jobOf(t.job_id).call()[0] for t in jobs}
    assert not bad & set(final.values())
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        slashed = Counter(row.reason for row in connection.execute(select(Slash.reason, Slash.provider)))
        assert connection.execute(select(func.count()).select_from(Job).where(Job.state == "completed")).scalar() \
            == JOBS
    engine.dispose()
    assert set(bot.acted) >= set(BAD), f"some bad provider was never matched: {bot.acted}"
    assert slashed["lapsed_match"] >= 2 and slashed["missed_deadline"] >= 1, slashed

    # Both nodes' databases hold the same market.
    a, b = dump_market(databases[0]), dump_market(databases[1])
    assert a == b

    # Lost races are counted and reported; no nonce is left stuck.
    for wallet in wallets:
        assert web3.eth.get_transaction_count(wallet.address, "pending") == \
            web3.eth.get_transaction_count(wallet.address, "latest")
    races = [lost_races(url) for url in databases]
    simulated = [simulated_losses(n.log.read_text()) for n in nodes]
    print(f"\nmatches sent per node: {[r['sent'] for r in races]}, mined: {[r['mined'] for r in races]}; lost races "
          f"caught by simulation (no gas): {simulated}, lost after sending (reverted on chain): "
          f"{[r['reverted'] for r in races]}")
    assert sum(r["mined"] for r in races) == sum(matched.values())
    assert all(r["sent"] == r["mined"] + r["reverted"] for r in races)  # nothing left in flight or dropped


def indexed(url: str) -> int:
    from agora.db.models import Checkpoint

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.max(Checkpoint.block_number))).scalar() or 0
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    finally:
        engine.dispose()


def lost_races(url: str) -> dict[str, int]:
    from agora.db.models import OutgoingTransaction

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(OutgoingTransaction.status).where(
            OutgoingTransaction.key.like("match:%"))).all()
    engine.dispose()
    statuses = Counter(r.status for r in rows)
    return {"sent": len(rows), "mined": statuses["success"], "reverted": statuses["reverted"]}


def simulated_losses(log: str) -> int:
    """Lost races the matchmaker caught before signing, as its round lines report them."""
    total = 0
    for found in re.finditer(r"lost races: ([^\n(]*)", log):
        total += sum(int(n) for n in re.findall(r" (\d+)", " " + found.group(1)))
    return total


def test_OneNodeStoppedMidRunTheOtherCarriesEveryJobToItsEnd(contracts, accounts, rpc_url, deployments, tmp_path,
                                                             redis_urls):
    rng = random.Random(5)
    web3 = contracts.web3
    market = build_market(web3, contracts, accounts, ["good"] * 6, buyers=2, rng=rng)
    wallets = [Account.create(), Account.create()]
    for wallet in wallets:
        accounts[0].transfer(wallet.address, 100 * 10**18)
    nodes = [NodeProcess(node_env(rpc_url, deployments, f"sqlite:///{tmp_path / f'n{i}.db'}", wallets[i].key.hex(),
                                  tmp_path / f"node{i}", redis_urls[i], AGORA_MATCHMAKER_STAGGER_SECONDS="8"),
                         tmp_path / f"node{i}.log") for i in range(2)]
    bot, clock = ProviderBot(market), Clock(web3)
    bot.start()
    clock.start()
    try:
        jobs = market.post_jobs(60, rng)
        logs = lambda: "\n".join(f"--- node {i}\n{n.tail()}" for i, n in enumerate(nodes))  # noqa: E731
        wait_until(lambda: states(contracts, jobs)["COMPLETED"] >= 10, 180, "some jobs completed", every=1,
                   on_timeout=logs)
        stopped_at = states(contracts, jobs)
        assert nodes[1].stop() == 0, nodes[1].tail()
        assert "node stopped" in nodes[1].log.read_text()
        wait_until(lambda: states(contracts, jobs)["COMPLETED"] == len(jobs), 300, "every job completed", every=1,
                   on_timeout=lambda: f"stopped at {stopped_at}; now {states(contracts, jobs)}\n{logs()}")
    finally:
        bot.stop.set()
        clock.stop.set()
        codes = [n.stop() for n in nodes]
    assert codes[0] == 0 and not bot.errors
    assert stopped_at["COMPLETED"] < len(jobs)  # the stop came mid-run
    survivor = lost_races(f"sqlite:///{tmp_path / 'n0.db'}")
    assert survivor["mined"] > 0
    for wallet in wallets:
        assert web3.eth.get_transaction_count(wallet.address, "pending") == \
            web3.eth.get_transaction_count(wallet.address, "latest")
