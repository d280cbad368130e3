"""The read model (agora.db.queries) against the chain: one market with jobs in every state,
indexed once into SQLite and once into PostgreSQL; every query checked against what the
contracts say (jobOf, providerOf, settlementParams), at each deadline and one second later."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from brownie import chain, web3
from deploy import deploy  # noqa: E402
from eth_utils import to_checksum_address
from marketscenario import CAPACITY, PRICES, Scenario, System  # noqa: E402
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from agora.app import build_indexer
from agora.chain.deployment import CONTRACTS
from agora.config import Settings
from agora.db.base import Base
from agora.db.queries import (
    active_providers,
    current_params,
    due_for_close_dispute,
    due_for_expire,
    due_for_finalize,
    due_for_reclaim,
    due_for_slash,
    indexed_block,
    open_jobs,
)
from agora.market.protocol import PROFILES, TOKEN
from agora.market.terms import JobTerms, Resources, label

ROOT = Path(__file__).resolve().parents[3]
POSTGRES_ADMIN_URL = os.environ.get("AGORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OPEN, MATCHED, RUNNING, SUBMITTED, DISPUTED = 1, 2, 3, 4, 5
PROVIDER, STATE, DEADLINE, PARAMS_VERSION = range(4)  # IJobMarket.Job, as jobOf returns it
ACTIVE = 1  # IProviderRegistry.ProviderStatus


class Recording(Scenario):
    """The scenario, keeping the terms of every job it posts (the chain's ids, without the index)."""

    def __init__(self, system, accounts):
        super().__init__(system, accounts)
        self.posted: list[JobTerms] = []

    def post(self, buyer=None, **changes) -> JobTerms:
        terms = super().post(buyer, **changes)
        self.posted.append(terms)
        return terms


@pytest.fixture(scope="module")
def market(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket, accounts,
           tmp_path_factory):
    found = (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket)
    containers = type("Containers", (), {**dict(zip(CONTRACTS, found, strict=False)), "AgoraTimelock": AgoraTimelock})
    directory = tmp_path_factory.mktemp("deployments")
    distribution = {str(a.address): 100_000_000 * 10**18 for a in list(accounts)[1:9]}
    record = deploy(containers, accounts[0], profile=PROFILES["devnet"], distribution=distribution,
                    arbiter=str(accounts[9].address), directory=directory, quiet=True)
    system = System(containers, record)
    scenario = Recording(system, accounts)
    # Completed, refunded and slashed jobs; matched, running, submitted (two) and disputed
    # ones under the newest of five parameter versions.
    scenario.everything()
    # Open jobs: two with time left, one past its expiry; and a paused provider.
    b0, b1 = scenario.buyers
    scenario.post(b0)
    scenario.post(b1, expires_at=chain[-1].timestamp + 600)
    scenario.post(b0, expires_at=chain[-1].timestamp + 20)
    chain.sleep(30)
    paused = accounts[7]
    system.token.approve(system.registry, 2**256 - 1, {"from": paused})
    system.registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), "https://paused.example", 500 * TOKEN,
                             {"from": paused})
    system.registry.pause({"from": paused})
    chain.mine(3)  # past the indexer's confirmations
    settings = dict(rpc_url=web3.provider.endpoint_uri, deployments_dir=directory,
                    confirmations=2, poll_interval_seconds=0.02)
    return system, scenario, settings, [str(a.address) for a in scenario.providers + [paused]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def session(request, market, tmp_path_factory):
    """A session over the market, indexed into a fresh database of each backend."""
    _, _, settings, _ = market
    admin = name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('queries') / 'agora.db'}"
    else:
        name = f"agora_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - any failure means "not available", as in tests/backend/conftest.py
            admin.dispose()
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({str(exc).splitlines()[0]})")
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    indexer = build_indexer(Settings(database_url=url, **settings))
    indexer.run(until_block=chain.height)
    engine = create_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def hex_id(terms: JobTerms) -> str:
    return "0x" + terms.job_id.hex()


def chain_windows(market) -> dict[str, dict[str, int]]:
    """For each keeper action, the jobs in the state it needs, with the deadline it needs
    passed, from the contracts' own views."""
    system, scenario, _, _ = market
    out = {kind: {} for kind in ("reclaim", "slash", "finalize", "expire", "close_dispute", "open")}
    for terms in scenario.posted:
        job = system.market.jobOf(terms.job_id)
        state, deadline = job[STATE], job[DEADLINE]
        if state == OPEN:
            out["open"][hex_id(terms)] = out["expire"][hex_id(terms)] = terms.expires_at
        elif state == MATCHED:
            out["reclaim"][hex_id(terms)] = deadline
        elif state == RUNNING:
            out["slash"][hex_id(terms)] = deadline
        elif state == SUBMITTED:  # the contract keeps the submit's time
            window = system.params.settlementParams(job[PARAMS_VERSION])[4]
            out["finalize"][hex_id(terms)] = deadline + window
        elif state == DISPUTED:
            out["close_dispute"][hex_id(terms)] = deadline
    return out


DUE = {"reclaim": (due_for_reclaim, lambda now, d: now > d), "slash": (due_for_slash, lambda now, d: now > d),
       "finalize": (due_for_finalize, lambda now, d: now > d), "expire": (due_for_expire, lambda now, d: now >= d),
       "close_dispute": (due_for_close_dispute, lambda now, d: now > d)}


@pytest.mark.parametrize("kind", sorted(DUE))
def test_JobsDueForEachKeeperActionAreExactlyThoseTheContractWouldAccept(session, market, kind):
    query, due = DUE[kind]
    windows = chain_windows(market)[kind]
    assert windows, f"the scenario leaves no job for {kind}"
    states = {"reclaim": "matched", "slash": "running", "finalize": "submitted", "expire": "open",
              "close_dispute": "disputed"}
    times = sorted({t for d in windows.values() for t in (d - 1, d, d + 1)} | {chain[-1].timestamp})
    for now in times:
        rows = query(session, now=now)
        assert {r.job_id: r.deadline for r in rows} == {j: d for j, d in windows.items() if due(now, d)}, now
        assert all(r.state == states[kind] for r in rows)
    # At the deadline itself the window is still open (expiry: already closed); a second later it is not.
    for job, deadline in windows.items():
        at = {r.job_id for r in query(session, now=deadline)}
        after = {r.job_id for r in query(session, now=deadline + 1)}
        assert (job in at, job in after) == ((kind == "expire"), True)


def test_DueJobsCarryTheTermsTheContractTakesBack(session, market):
    system, scenario, _, _ = market
    by_id = {hex_id(t): t for t in scenario.posted}
    latest = max(max(d.values(), default=0) for d in chain_windows(market).values()) + 1
    seen = 0
    for query, _ in DUE.values():
        for row in query(session, now=latest):
            assert rebuild(row) == by_id[row.job_id] and hex_id(rebuild(row)) == row.job_id
            on_chain = system.market.jobOf(row.job_id)
            assert row.provider == (None if row.state == "open" else str(on_chain[PROVIDER]).lower())
            seen += 1
    assert seen == sum(len(d) for k, d in chain_windows(market).items() if k != "open")


def rebuild(row) -> JobTerms:
    return JobTerms(to_checksum_address(row.buyer), row.max_price, bytes.fromhex(row.spec_hash[2:]), row.duration_seconds,
                    row.expires_at, row.salt, Resources(row.cpu_millicores, row.memory_mib, row.storage_gib,
                                                        row.gpu_count, label(row.gpu_model), label(row.region)))


def test_OpenJobsAreThoseStillOpenBeforeTheirExpiry(session, market):
    system, scenario, _, _ = market
    windows = chain_windows(market)["open"]
    by_id = {hex_id(t): t for t in scenario.posted}
    assert len(windows) == 3
    for now in sorted({t for d in windows.values() for t in (d - 1, d, d + 1)} | {chain[-1].timestamp}):
        rows = open_jobs(session, now=now)
        assert {r.job_id for r in rows} == {j for j, expires in windows.items() if now < expires}, now
        for row in rows:
            terms = rebuild(row)
            assert terms == by_id[row.job_id] and hex_id(terms) == row.job_id
            assert row.attempts == 0
        # Oldest first, and a limit keeps the oldest.
        assert [r.posted_block for r in rows] == sorted(r.posted_block for r in rows)
        assert open_jobs(session, now=now, limit=1) == rows[:1]
    for job, expires in windows.items():
        assert job in {r.job_id for r in open_jobs(session, now=expires - 1)}
        assert job not in {r.job_id for r in open_jobs(session, now=expires)}
    now = chain[-1].timestamp
    assert len(open_jobs(session, now=now)) == 2  # the third is past its expiry: due for expire instead


def test_ActiveProvidersAreThoseTheRegistryListsAsActive(session, market):
    system, _, _, registered = market
    expected = {}
    for address in registered:
        v = system.registry.providerOf(address)
        (status, capacity, used, prices, endpoint, stake, locked, _unbonding, _unlocks, completed, missed,
         disputes_lost, lapsed, _slashed) = v
        if status != ACTIVE:
            continue
        expected[address.lower()] = dict(
            endpoint=endpoint, cpu_millicores=capacity[0], memory_mib=capacity[1], storage_gib=capacity[2],
            gpu_count=capacity[3], gpu_model=label(bytes(capacity[4])), region=label(bytes(capacity[5])),
            used=tuple(used[:4]), prices=tuple(prices), stake=stake, locked_collateral=locked,
            free_stake=stake - locked, completed_jobs=completed, missed_deadlines=missed, lapsed_matches=lapsed,
            disputes_lost=disputes_lost)
    assert len(expected) == 2 and len(registered) == 3  # the third is paused
    rows = active_providers(session)
    assert [r.address for r in rows] == sorted(expected)
    for row in rows:
        assert dict(
            endpoint=row.endpoint, cpu_millicores=row.cpu_millicores, memory_mib=row.memory_mib,
            storage_gib=row.storage_gib, gpu_count=row.gpu_count, gpu_model=label(row.gpu_model),
            region=label(row.region),
            used=(row.used_cpu_millicores, row.used_memory_mib, row.used_storage_gib, row.used_gpu_count),
            prices=(row.price_cpu_core_gwei, row.price_memory_gib_gwei, row.price_gpu_gwei,
                    row.price_storage_gib_gwei),
            stake=row.stake, locked_collateral=row.locked_collateral, free_stake=row.free_stake,
            completed_jobs=row.completed_jobs, missed_deadlines=row.missed_deadlines,
            lapsed_matches=row.lapsed_matches, disputes_lost=row.disputes_lost) == expected[row.address]
    # The scenario leaves collateral locked and every reputation counter moved somewhere.
    assert any(r.locked_collateral for r in rows) and any(r.used_cpu_millicores for r in rows)
    for counter in ("completed_jobs", "missed_deadlines", "lapsed_matches", "disputes_lost"):
        assert any(getattr(r, counter) for r in rows), counter


def test_IndexedBlockAndCurrentParamsAreTheChains(session, market):
    system, _, _, _ = market
    block = indexed_block(session)
    assert block is not None and block.number >= chain.height - 2
    assert block.hash == "0x" + bytes(web3.eth.get_block(block.number).hash).hex()
    params = current_params(session)
    version = system.params.version()
    assert version == 5 and params.version == version
    (min_job_collateral, collateral_ratio_bps, protocol_fee_bps, matchmaker_fee_bps, challenge_window_seconds,
     arbitration_window_seconds, missed_deadline_slash_bps, buyer_share_bps,
     reporter_share_bps) = system.params.settlementParams(version)
    fault_slash_bps, dispute_bond = system.params.disputeParams(version)
    assert (params.min_job_collateral, params.collateral_ratio_bps, params.protocol_fee_bps,
            params.matchmaker_fee_bps, params.challenge_window_seconds, params.arbitration_window_seconds,
            params.missed_deadline_slash_bps, params.buyer_share_bps, params.reporter_share_bps,
            params.fault_slash_bps, params.dispute_bond) == (
        min_job_collateral, collateral_ratio_bps, protocol_fee_bps, matchmaker_fee_bps, challenge_window_seconds,
        arbitration_window_seconds, missed_deadline_slash_bps, buyer_share_bps, reporter_share_bps,
        fault_slash_bps, dispute_bond)


def test_AnEmptyIndexAnswersNothing(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        assert indexed_block(session) is None and current_params(session) is None
        assert open_jobs(session, now=0) == [] and active_providers(session) == []
        assert all(query(session, now=2**40) == [] for query, _ in DUE.values())
    engine.dispose()
