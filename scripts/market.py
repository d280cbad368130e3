"""Starts a local Agora market: an anvil chain (state kept across restarts) with the
contracts deployed and governed by the timelock, and a node (`agora node`: indexer,
matchmaker and keeper on Celery, with an embedded Redis) following it into the database
(AGORA_DATABASE_URL, default SQLite in .agora/), then waits until Ctrl-C.

    ./dev market            (AGORA_RPC_PORT, default 8545; AGORA_PROFILE, default devnet)

Set AGORA_FRESH=1 to throw away the saved chain and start from block 0; AGORA_STATE_DIR
moves the saved chain, logs and default database out of .agora/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from agora.config import Settings  # noqa: E402
from agora.errors import ConfigError  # noqa: E402

try:
    SETTINGS = Settings()
except ConfigError as exc:
    print(f"market: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
STATE_DIR = Path(SETTINGS.worker.state_dir)
DEPLOYMENTS_DIR = Path(SETTINGS.chain.deployments_dir)


def die(message: str) -> None:
    print(f"market: {message}", file=sys.stderr)
    raise SystemExit(1)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_chain(port: int) -> subprocess.Popen:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state = STATE_DIR / "anvil-state.json"
    if SETTINGS.local_market.fresh:
        state.unlink(missing_ok=True)
        (DEPLOYMENTS_DIR / "31337.json").unlink(missing_ok=True)
        (STATE_DIR / "agora.db").unlink(missing_ok=True)
    log = open(STATE_DIR / "anvil.log", "ab")
    chain = subprocess.Popen(
        [
            "anvil", "--host", "127.0.0.1", "--port", str(port), "--accounts", "20",
            "--block-base-fee-per-gas", "0", "--block-time", "1", "--state", str(state),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the market, which stops the indexer first
    )
    for _ in range(100):
        if port_in_use(port):
            return chain
        if chain.poll() is not None:
            die(f"anvil exited with {chain.returncode}; see {STATE_DIR / 'anvil.log'}")
        time.sleep(0.1)
    chain.terminate()
    die(f"anvil did not open port {port} within 10 s")


def node_wallet(accounts) -> dict[str, str]:
    """The local node's wallet: an encrypted keystore in the state directory (made on the
    first start, its password in a file beside it, both readable only by you), funded with
    ether from the chain's first account whenever it runs low. Unless AGORA_WALLET_* says
    otherwise."""
    if SETTINGS.wallet.keystore or SETTINGS.wallet.private_key:
        return {}
    import secrets

    from eth_account import Account

    keystore, password_file = STATE_DIR / "node-keystore.json", STATE_DIR / "node-keystore.password"
    if not keystore.exists():
        password = secrets.token_hex(16)
        account = Account.create()
        for path, text in ((password_file, password),
                           (keystore, json.dumps(Account.encrypt(account.key, password)))):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
    address = "0x" + json.loads(keystore.read_text())["address"].removeprefix("0x")
    from brownie import web3

    if web3.eth.get_balance(web3.to_checksum_address(address)) < 10**18:
        accounts[0].transfer(web3.to_checksum_address(address), 100 * 10**18, silent=True)
    return {"AGORA_WALLET_KEYSTORE": str(keystore), "AGORA_WALLET_PASSWORD_FILE": str(password_file)}


def start_node(port: int, wallet: dict[str, str]) -> subprocess.Popen:
    """`agora node` (indexer, matchmaker, keeper on Celery; an embedded Redis unless
    AGORA_REDIS_URL is set) following the chain; it logs to .agora/node.log."""
    # The local node is the market's only keeper: it settles every job, not just its own.
    env = {"AGORA_DATABASE_URL": database_url(), "AGORA_KEEPER_SETTLE": "all", **os.environ, **wallet,
           "AGORA_RPC_URL": f"http://127.0.0.1:{port}", "AGORA_DEPLOYMENTS_DIR": str(DEPLOYMENTS_DIR),
           "AGORA_STATE_DIR": str(STATE_DIR)}
    log = open(STATE_DIR / "node.log", "ab")
    # A session of its own, like the chain's: the market stops it first, and it its worker and beat.
    return subprocess.Popen([sys.executable, "-m", "agora.cli", "node"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def main() -> None:
    port = SETTINGS.local_market.rpc_port
    if port_in_use(port):
        die(f"port {port} is already in use; stop what listens there or set AGORA_RPC_PORT to a free port")
    if shutil.which("anvil") is None:
        die("anvil is not on PATH: run this through ./dev market")

    chain = start_chain(port)
    indexer = None  # the node process
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        from brownie import _config, network, project

        proj = project.load(ROOT, name="AgoraMarket")
        proj.load_config()
        # Brownie attaches to the chain already listening on its anvil port.
        _config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = port
        network.connect("anvil")
        import brownie
        from deploy import DeployError, config_from_env, deploy

        try:
            config = config_from_env(brownie.accounts)
            deployer = config.pop("deployer")
            record = deploy(proj, deployer, **config)
        except DeployError as exc:
            die(str(exc))
        print()
        print(f"Agora market running: RPC http://127.0.0.1:{port}  chain {record['chainId']}  ({record['profile']})")
        print(f"  market   {record['contracts']['JobMarket']['address']}")
        print(f"  registry {record['contracts']['ProviderRegistry']['address']}")
        print(f"  governor {record['contracts']['AgoraGovernor']['address']}")
        indexer = start_node(port, node_wallet(brownie.accounts))
        print(f"  node     indexer, matchmaker and keeper, into {_database_label()}")
        print(f"           log {STATE_DIR / 'node.log'}; its position: ./dev shell, then agora status")
        print(f"Ctrl-C stops it; the chain's state is kept in {STATE_DIR} for the next start.", flush=True)
        while not stopping and chain.poll() is None and indexer.poll() is None:
            time.sleep(0.5)
        if chain.poll() is not None and not stopping:
            die(f"anvil stopped unexpectedly; see {STATE_DIR / 'anvil.log'}")
        if indexer.poll() is not None and not stopping:
            die(f"the node stopped (exit {indexer.returncode}); see {STATE_DIR / 'node.log'}")
    finally:
        if indexer is not None and indexer.poll() is None:
            indexer.terminate()  # its worker and beat finish their tasks, then it exits
            try:
                indexer.wait(timeout=40)
            except subprocess.TimeoutExpired:
                indexer.kill()
        if chain.poll() is None:
            chain.send_signal(signal.SIGINT)  # anvil writes its state on SIGINT
            try:
                chain.wait(timeout=10)
            except subprocess.TimeoutExpired:
                chain.kill()


def database_url() -> str:
    # The market's own default database lives in its state directory, beside the chain.
    if "database_url" in SETTINGS.database.model_fields_set:  # set in the environment or .env
        return SETTINGS.database.database_url
    return f"sqlite:///{STATE_DIR / 'agora.db'}"


def _database_label() -> str:
    url = database_url()
    return url.split("@")[-1] if "@" in url else url  # no password on the screen


if __name__ == "__main__":
    main()
