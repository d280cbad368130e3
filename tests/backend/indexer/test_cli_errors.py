"""Bad input ends in one line on stderr (`agora: what is wrong: what to do`), a non-zero
exit, and nothing written; a deployment the chain does not hold is refused. Each case runs
the installed `agora` command."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from brownie import web3
from indexkit import ROOT
from sqlalchemy import create_engine, inspect, text

AGORA = ROOT / ".venv" / "bin" / "agora"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


def agora(args: list[str], cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    values = {"PATH": "/usr/bin:/bin", "AGORA_RPC_URL": web3.provider.endpoint_uri,
              "AGORA_DEPLOYMENTS_DIR": str(cwd / "deployments"),
              "AGORA_DATABASE_URL": f"sqlite:///{cwd / 'db' / 'agora.db'}"}
    values.update(env)
    return subprocess.run([str(AGORA), *args], env=values, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def files_of(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def assert_one_line(run: subprocess.CompletedProcess, *expected: str) -> None:
    lines = run.stderr.splitlines()
    assert run.returncode != 0, (run.returncode, run.stdout, run.stderr)
    assert len(lines) == 1 and lines[0].startswith("agora: "), run.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    assert run.stdout == ""


def refuses_writing_nothing(tmp_path: Path, args: list[str], *expected: str, **env: str) -> None:
    before = files_of(tmp_path)
    assert_one_line(agora(args, tmp_path, **env), *expected)
    assert files_of(tmp_path) == before
    assert not (tmp_path / "db").exists()


def deployment_file(tmp_path: Path, data) -> None:
    (tmp_path / "deployments").mkdir(exist_ok=True)
    text_ = data if isinstance(data, str) else json.dumps(data)
    (tmp_path / "deployments" / f"{web3.eth.chain_id}.json").write_text(text_)


def a_deployment(abi: str = "build/contracts/{}.json") -> dict:
    names = ("AgoraToken", "TimelockController", "AgoraGovernor", "ProtocolParams", "ProviderRegistry", "JobMarket")
    return {"chainId": web3.eth.chain_id, "deployBlock": 1, "profile": "devnet",
            "contracts": {n: {"address": "0x" + f"{i + 1:040x}", "abi": abi.format(n)} for i, n in enumerate(names)}}


# ---------------------------------------------------------------- settings, node, deployment file


@pytest.mark.parametrize("command", [["index"], ["status"], ["db", "upgrade"]])
def test_AnInvalidSetting(tmp_path, command):
    refuses_writing_nothing(tmp_path, command, "AGORA_REORG_HISTORY_BLOCKS=0 is invalid", "fix it",
                            AGORA_REORG_HISTORY_BLOCKS="0")


@pytest.mark.parametrize("command", [["index"], ["status"]])
def test_ANodeThatDoesNotAnswer(tmp_path, command):
    refuses_writing_nothing(tmp_path, command, "no chain answers at http://127.0.0.1:1", "AGORA_RPC_URL",
                            AGORA_RPC_URL="http://127.0.0.1:1")


@pytest.mark.parametrize("broken, expected", [("corrupt", "is not valid JSON"), ("incomplete", "no 'deployBlock'")])
def test_ABrokenDeploymentFile(tmp_path, broken, expected):
    if broken == "corrupt":
        deployment_file(tmp_path, '{"chainId": 31337, "deployBl')
    else:
        deployment_file(tmp_path, {k: v for k, v in a_deployment().items() if k != "deployBlock"})
    for command in (["index"], ["status"]):
        refuses_writing_nothing(tmp_path, command, expected, "deploy again")


def test_StaleAbiPathsAndNoBuildFolderDoNotMatter(tmp_path):
    """The ABIs are packaged in agora: the deployment file's `abi` paths and brownie's build
    folder are not read. (A missing packaged ABI is tests/backend/chain/test_abis.py's case.)
    What stops this deployment is the chain, which holds no code at its made-up addresses."""
    deployment_file(tmp_path, a_deployment(abi="build/contracts/gone/{}.json"))
    run = agora(["index"], tmp_path)
    assert_one_line(run, "has no code there")
    assert "ABI" not in run.stderr


# ---------------------------------------------------------------- the database


POSTGRES_ADMIN_URL = os.environ.get("AGORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_databases() -> set[str]:
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT datname FROM pg_database")).scalars())
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({str(exc).splitlines()[0]})")
    finally:
        engine.dispose()


def missing_postgres_database() -> str:
    postgres_databases()  # skips without a server
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/agora_missing_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def deployed(system, deployments, tmp_path):
    """A real deployment on the chain, where `agora` looks for it."""
    (tmp_path / "deployments").mkdir(exist_ok=True)
    for path in deployments.iterdir():
        (tmp_path / "deployments" / path.name).write_bytes(path.read_bytes())
    return tmp_path


@pytest.mark.parametrize("command", [["db", "upgrade"], ["index"], ["status"]])
def test_APostgresDatabaseThatDoesNotExist(deployed, command):
    url = missing_postgres_database()
    refuses_writing_nothing(deployed, command, f"the database '{url.rsplit('/', 1)[1]}' does not exist", "createdb",
                            AGORA_DATABASE_URL=url)
    assert url.rsplit("/", 1)[1] not in postgres_databases()


@pytest.mark.parametrize("command", [["db", "upgrade"], ["index"], ["status"]])
def test_ADatabaseServerThatDoesNotAnswer(deployed, command):
    refuses_writing_nothing(deployed, command, "cannot connect to the database at postgresql+psycopg://", "start",
                            AGORA_DATABASE_URL="postgresql+psycopg://agora@127.0.0.1:1/agora")


@pytest.mark.parametrize("url", ["mongodb://127.0.0.1/agora", "not a url"])
def test_AnUnknownKindOfDatabase(deployed, url):
    for command in (["db", "upgrade"], ["index"]):
        refuses_writing_nothing(deployed, command, "is not a database Agora can use", "sqlite:///",
                                AGORA_DATABASE_URL=url)


def test_AFileThatIsNotAnSqliteDatabase(deployed):
    (deployed / "db").mkdir()
    (deployed / "db" / "agora.db").write_bytes(b"these are my notes, not a database\n" * 200)
    before = files_of(deployed)
    for command in (["db", "upgrade"], ["index"], ["status"]):
        assert_one_line(agora(command, deployed), "agora.db is not an SQLite database", "AGORA_DATABASE_URL")
    assert files_of(deployed) == before


def test_ADatabaseAtAnUnknownMigration(deployed, database_url):
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    for command in (["db", "upgrade"], ["index"], ["status"]):
        assert_one_line(agora(command, deployed, AGORA_DATABASE_URL=database_url),
                        "at migration '9999_from_the_future', which this version of Agora does not know")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


# ---------------------------------------------------------------- a deployment the chain does not hold


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def restarted_anvil():
    """A second anvil, as the first would be after a restart without its state."""
    port = free_port()
    process = subprocess.Popen([str(ANVIL), "--port", str(port), "--silent"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "anvil did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def mine(url: str, blocks: int) -> None:
    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [hex(blocks)]}).json()
    assert "error" not in reply, reply


def test_ADeploymentWithNoCodeBehindItIsRefused(deployed, restarted_anvil):
    """The review's case: anvil restarted without its state, the old deployments/31337.json
    still there, the new chain at block 100."""
    record = json.loads((deployed / "deployments" / f"{web3.eth.chain_id}.json").read_text())
    blocks = max(100, record["deployBlock"])
    mine(restarted_anvil, blocks)
    for command in (["index", "--until", str(blocks)], ["status"]):
        refuses_writing_nothing(deployed, command, "has no code there", "deploy again", "AGORA_RPC_URL",
                                AGORA_RPC_URL=restarted_anvil)


def test_ADeploymentAboveTheHeadIsRefused(deployed, restarted_anvil):
    """The same with the new chain still below the deploy block."""
    record = json.loads((deployed / "deployments" / f"{web3.eth.chain_id}.json").read_text())
    mine(restarted_anvil, record["deployBlock"] - 2)
    for command in (["index", "--until", str(record["deployBlock"])], ["status"]):
        refuses_writing_nothing(deployed, command, f"deployed at block {record['deployBlock']}",
                                f"head is block {record['deployBlock'] - 2}", "deploy again",
                                AGORA_RPC_URL=restarted_anvil, timeout=30)
