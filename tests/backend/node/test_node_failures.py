"""A node fed bad input: each a one-line error before anything is sent, or a logged retry
with nothing lost and no transaction sent twice."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
from collections import Counter

import pytest
from eth_account import Account
from market import ROOT, Clock, NodeProcess, ProviderBot, build_market, node_env, wait_until
from sqlalchemy import create_engine, inspect, select

from agora.db.models import OutgoingTransaction

AGORA = ROOT / ".venv" / "bin" / "agora"


def agora(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(AGORA), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def one_line(run: subprocess.CompletedProcess, *expected: str) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1, run.stderr
    assert lines and lines[-1].startswith("agora: "), run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    for text in expected:
        assert text in lines[-1], lines[-1]
    return lines[-1]


@pytest.fixture
def env_for(rpc_url, deployments, tmp_path):
    def make(**extra: str) -> dict[str, str]:
        return node_env(rpc_url, deployments, f"sqlite:///{tmp_path / 'node.db'}", Account.create().key.hex(),
                        tmp_path / "state", **extra)

    return make


def test_ARpcThatIsDown(contracts, env_for, tmp_path):
    run = agora(["node"], env_for(AGORA_RPC_URL="http://127.0.0.1:9"))
    one_line(run, "no chain answers at http://127.0.0.1:9", "AGORA_RPC_URL")
    assert not (tmp_path / "node.db").exists()  # nothing written before the chain answered


def test_ADeploymentFileForAnotherChain(contracts, env_for, deployments, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    record = json.loads(next(deployments.glob("*.json")).read_text())
    chain_id = record["chainId"]
    record["chainId"] = 5
    (other / f"{chain_id}.json").write_text(json.dumps(record))
    one_line(agora(["node"], env_for(AGORA_DEPLOYMENTS_DIR=str(other))), f"is for chain 5, not {chain_id}")


def test_AKeystoreWithTheWrongPassword(contracts, env_for, tmp_path):
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(Account.create().key, "right horse")))
    env = env_for(AGORA_WALLET_KEYSTORE=str(keystore), AGORA_WALLET_PASSWORD="wrong horse")
    env.pop("AGORA_WALLET_PRIVATE_KEY")
    line = one_line(agora(["node"], env), str(keystore))
    assert "password" in line


def test_AKeyOnTheCommandLineIsRefused(contracts, env_for):
    run = agora(["node", "--private-key", "0x" + "11" * 32], env_for())
    assert run.returncode == 2 and "unrecognized arguments" in run.stderr


def test_AWorkerWithoutRedis(env_for):
    one_line(agora(["worker"], env_for(AGORA_REDIS_URL="redis://127.0.0.1:9/0")), "Redis at redis://127.0.0.1:9/0")
    one_line(agora(["worker"], env_for(AGORA_REDIS_URL="")), "AGORA_REDIS_URL is empty")


def test_AWalletWithoutFundsSendsNothingAndSaysWhy(live, node_app, accounts):
    live.post()
    app = node_app()
    app.web3.provider.make_request("anvil_setBalance", [app.wallet.address, "0x0"])
    app.indexer().run(until_block=app.web3.eth.block_number)
    report = app.matchmaker().run_once()
    assert report.proposed == 1 and report.sent == 0
    assert app.wallet.address in report.line() and "0 sent" in report.line()
    assert app.web3.eth.get_transaction_count(app.wallet.address, "pending") == 0
    # Funded again, the same job goes out on nonce 0: no gap was left.
    app.web3.provider.make_request("anvil_setBalance", [app.wallet.address, hex(10**18)])
    assert app.matchmaker().run_once().sent == 1
    app.web3.provider.make_request("evm_mine", [])  # after the racing nodes' tests anvil may not automine it
    assert app.web3.eth.get_transaction_count(app.wallet.address) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server(port: int, directory) -> subprocess.Popen:
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(directory)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "redis-server to listen")
    return server


def test_RedisGoneMidRunIsRetriedAndNothingIsSentTwice(contracts, accounts, rpc_url, deployments, tmp_path):
    rng = random.Random(11)
    market = build_market(contracts.web3, contracts, accounts, ["good"] * 3, buyers=1, rng=rng)
    wallet = Account.create()
    accounts[0].transfer(wallet.address, 10 * 10**18)
    port = _free_port()
    redis = _redis_server(port, tmp_path)
    database = f"sqlite:///{tmp_path / 'node.db'}"
    node = NodeProcess(node_env(rpc_url, deployments, database, wallet.key.hex(), tmp_path / "state",
                                f"redis://127.0.0.1:{port}/0"), tmp_path / "node.log")
    bot, clock = ProviderBot(market), Clock(contracts.web3)
    bot.start()
    clock.start()

    def completed(jobs) -> int:
        return sum(contracts.market.functions.jobOf(t.job_id).call()[1] == 6 for t in jobs)

    try:
        jobs = market.post_jobs(12, rng)
        wait_until(lambda: completed(jobs) >= 1, 120, "a first job completed", on_timeout=node.tail)
        redis.kill()
        redis.wait()
        gone = time.monotonic()
        more = market.post_jobs(6, rng)  # posted while the node cannot run a task
        time.sleep(3)
        assert node.process.poll() is None, node.tail()  # the node waits for Redis, it does not die
        redis = _redis_server(port, tmp_path)
        wait_until(lambda: completed(jobs + more) == len(jobs + more), 180, "every job completed after Redis came back",
                   on_timeout=node.tail)
        back = time.monotonic() - gone
    finally:
        bot.stop.set()
        clock.stop.set()
        code = node.stop()
        redis.kill()
    assert code == 0, node.tail()
    log = node.log.read_text()
    assert "Error" in log or "retry" in log.lower(), "the lost broker was not logged"
    engine = create_engine(database)
    with engine.connect() as connection:
        keys = Counter(row.key for row in connection.execute(
            select(OutgoingTransaction.key).where(OutgoingTransaction.status.in_(["success", "reverted", "pending"]))))
    engine.dispose()
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]  # no transaction sent twice
    print(f"\njobs done {back:.1f} s after Redis went away")


def test_StatusNeverMigrates(contracts, env_for, tmp_path):
    """`agora status` reads: on a database without the schema it says what to run, and the
    database stays as it was; after `agora db upgrade` it answers."""
    env = env_for()
    one_line(agora(["status"], env), "run `agora db upgrade`")
    engine = create_engine(f"sqlite:///{tmp_path / 'node.db'}")
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert agora(["db", "upgrade"], env).returncode == 0
    run = agora(["status"], env)
    assert run.returncode == 0 and run.stdout.startswith("chain ") and "indexed" in run.stdout, run.stderr
