"""Indexer benchmark: backfill speed into SQLite and PostgreSQL, and block-to-queryable latency.

    ./dev bench-indexer [--jobs 20000] [--samples 60]

Fills a fresh anvil chain with real market activity (a load contract runs whole job lives
in a loop: post, match, accept, submit, confirm; 5 market events and a token transfer per
job), backfills it from the deploy block into each database, then follows the head while
jobs are posted one per block and measures the time from a block being mined to its job
being queryable. Prints a Markdown table. Measures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sqlalchemy import create_engine, text  # noqa: E402

from agora.app import build_indexer  # noqa: E402
from agora.config import Settings  # noqa: E402
from agora.market.protocol import PROFILES, TOKEN  # noqa: E402
from agora.market.terms import JobTerms, Resources  # noqa: E402

POSTGRES_ADMIN = os.environ.get("AGORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
JOBS_PER_TX = 150


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_chain(port: int) -> subprocess.Popen:
    chain = subprocess.Popen(["anvil", "--port", str(port), "--accounts", "12", "--block-base-fee-per-gas", "0",
                              "--gas-limit", "100000000", "--silent"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return chain
        time.sleep(0.1)
    raise SystemExit("anvil did not start")


def postgres_database() -> tuple[str, callable] | None:
    try:
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"agora_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        progress(f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {str(exc).splitlines()[0]} (skipping it)")
        return None

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        n = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000, help="job lives to generate (6 events each)")
    parser.add_argument("--samples", type=int, default=60, help="latency samples")
    parser.add_argument("--profile", action="store_true", help="print where backfill time goes (cProfile)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.chdir(ROOT)

    from brownie import _config, network, project

    port = free_port()
    chain_process = start_chain(port)
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-"))
    rows = []
    try:
        proj = project.load(ROOT, name="AgoraIndexerBench")
        proj.load_config()
        _config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = port
        _config.CONFIG.networks["anvil"]["cmd_settings"]["gas_limit"] = 100_000_000
        network.connect("anvil")
        from brownie import accounts, chain
        from deploy import deploy

        progress("deploying the market and a load generator ...")
        with contextlib.redirect_stdout(io.StringIO()):  # brownie narrates every transaction
            record = deploy(proj, accounts[0], profile=PROFILES["devnet"],
                            distribution={str(accounts[1].address): 500_000_000 * TOKEN}, arbiter=str(accounts[9].address),
                            directory=workdir / "deployments", quiet=True)
            at = {n: c["address"] for n, c in record["contracts"].items()}
            token = proj.AgoraToken.at(at["AgoraToken"])
            market = proj.JobMarket.at(at["JobMarket"])
            load = proj.MarketLoad.deploy(at["JobMarket"], at["ProviderRegistry"], at["AgoraToken"],
                                          {"from": accounts[1]})
            token.transfer(load, 400_000_000 * TOKEN, {"from": accounts[1]})
            load.register(10_000 * TOKEN, {"from": accounts[1]})
        started = time.monotonic()
        done = 0
        while done < args.jobs:
            n = min(JOBS_PER_TX, args.jobs - done)
            with contextlib.redirect_stdout(io.StringIO()):
                load.run(n, done + 1, {"from": accounts[1], "gas_limit": 95_000_000})
            done += n
            progress(f"  generated {done:,}/{args.jobs:,} job lives ({time.monotonic() - started:.0f} s)")
        head = chain.height
        rpc_url = f"http://127.0.0.1:{port}"

        databases = [("SQLite", f"sqlite:///{workdir / 'bench.db'}", None)]
        pg = postgres_database()
        if pg:
            databases.append(("PostgreSQL", pg[0], pg[1]))

        for name, url, _drop in databases:
            settings = dict(rpc_url=rpc_url, deployments_dir=str(workdir / "deployments"), database_url=url,
                            confirmations=0)
            progress(f"backfilling {name} ...")
            seconds = backfill_in_fresh_process(settings, head, args.profile)
            events = count(url, "events")
            market_events = count(url, "events WHERE contract IN ('JobMarket', 'ProviderRegistry')")
            progress(f"  {events:,} events in {seconds:.1f} s; measuring block-to-queryable ...")
            rows.append((name, events, market_events, seconds, latency(settings, market, accounts, chain, url,
                                                                        args.samples)))
        for _name, _url, drop in databases:
            if drop:
                drop()
    finally:
        try:
            network.disconnect(kill_rpc=False)
        except Exception:  # noqa: BLE001
            pass
        chain_process.terminate()

    print()
    print("| database | events indexed | of them market events | backfill | events/s | block-to-queryable p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, events, market_events, seconds, lat in rows:
        print(f"| {name} | {events:,} | {market_events:,} | {seconds:.1f} s | {events / seconds:,.0f} | "
              f"{lat['p50'] * 1000:.0f} ms | {lat['p95'] * 1000:.0f} ms | {lat['max'] * 1000:.0f} ms |")


def backfill_in_fresh_process(settings: dict, head: int, profile: bool) -> float:
    """Seconds to index up to `head`, measured in a fresh interpreter.

    This process holds brownie's whole project in memory; each full garbage collection
    walks it, which made the same backfill about three times slower here than in the
    `agora index` process a node runs.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_backfill, (settings, head, profile))


def _backfill(settings: dict, head: int, profile: bool) -> float:
    from agora.cli import tune_garbage_collector

    indexer = build_indexer(Settings(**settings))
    tune_garbage_collector()
    began = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(indexer.run, until_block=head)
        seconds = time.perf_counter() - began
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(35)
        return seconds
    indexer.run(until_block=head)
    return time.perf_counter() - began


def latency(settings: dict, market, accounts, chain, url: str, samples: int) -> dict:
    """Runs `agora index` following the head; posts one job per block and times from the
    block being mined to the job being queryable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"),
           **{f"AGORA_{k.upper()}": str(v) for k, v in settings.items()}}
    follower = subprocess.Popen([sys.executable, "-m", "agora.cli", "index"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    engine = create_engine(url)
    buyer = accounts[1]
    taken = []
    try:
        from brownie import project

        token = project.get_loaded_projects()[0].AgoraToken.at(market.token())
        with contextlib.redirect_stdout(io.StringIO()):
            token.approve(market, 2**256 - 1, {"from": buyer})
        wait_until_indexed(engine, chain.height, follower)
        for i in range(samples):
            now = chain[-1].timestamp
            terms = JobTerms(str(buyer.address), 10**18, b"\x01" * 32, 600, now + 3_600, 10**9 + i,
                             Resources(1_000, 1_024, 0))
            with contextlib.redirect_stdout(io.StringIO()):
                tx = market.post(terms.as_tuple(), {"from": buyer})
            mined = time.perf_counter()  # automine: the block exists when the receipt returns
            job_id = "0x" + terms.job_id.hex()
            while True:
                with engine.connect() as connection:
                    if connection.execute(text("SELECT 1 FROM jobs WHERE job_id = :j"), {"j": job_id}).first():
                        break
                time.sleep(0.002)
            taken.append(time.perf_counter() - mined)
            assert tx.status == 1
            time.sleep(0.05)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        engine.dispose()
    ordered = sorted(taken)
    return {"p50": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))], "max": ordered[-1]}


def wait_until_indexed(engine, block: int, follower: subprocess.Popen) -> None:
    while True:
        if follower.poll() is not None:
            raise SystemExit(f"agora index exited with {follower.returncode}")
        with engine.connect() as connection:
            indexed = connection.execute(text("SELECT block_number FROM indexer_checkpoints")).scalar()
        if indexed is not None and indexed >= block:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    main()
