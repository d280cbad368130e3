"""Starts a whole local Agora market and keeps it running until Ctrl-C:

  * an anvil chain (state kept across restarts) with the contracts deployed and governed
    by the timelock;
  * a node (`agora node`: indexer, matchmaker and keeper on Celery with an embedded Redis,
    and the blob service that keeps job data) following it into the database
    (AGORA_DATABASE_URL, default SQLite in .agora/);
  * three provider agents (`agora provider run`, each with its own wallet, listing and
    database) and the arbiter (`agora arbiter run`, the deployment's arbiter account);
  * a person's wallet ("you": ether, 100,000 tokens) that every `agora` command run in this
    checkout uses by itself, and, on the first start, three example jobs posted with it.

Where everything is goes to `.agora/devnet.json`, which the `agora` commands read, so
`agora job list`, `agora provider status`, `agora gov params` find the market by themselves.

    ./dev market  or  agora devnet    (AGORA_RPC_PORT, default 8545; AGORA_PROFILE, default devnet)

Set AGORA_FRESH=1 to throw away the saved chain and start from block 0; AGORA_STATE_DIR
moves the saved chain, logs, wallets and databases out of .agora/.
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


def keystore_wallet(name: str) -> dict[str, str]:
    """An encrypted keystore in the state directory's wallets/ (made on the first start, its
    password in a file beside it, both readable only by you): name -> address, paths."""
    import secrets

    from eth_account import Account

    folder = STATE_DIR / "wallets"
    folder.mkdir(parents=True, exist_ok=True)
    keystore, password_file = folder / f"{name}.json", folder / f"{name}.password"
    if not keystore.exists():
        password = secrets.token_hex(16)
        account = Account.create()
        for path, text in ((password_file, password),
                           (keystore, json.dumps(Account.encrypt(account.key, password)))):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
    address = "0x" + json.loads(keystore.read_text())["address"].removeprefix("0x")
    return {"address": address, "keystore": str(keystore), "password_file": str(password_file)}


def fund(accounts, token, address: str, ether: int, tokens: int) -> None:
    """Tops `address` up to `ether` ETH and `tokens` tokens (from the distribution's holder)."""
    import contextlib
    import io

    from brownie import web3

    address = web3.to_checksum_address(address)
    with contextlib.redirect_stdout(io.StringIO()):  # brownie narrates every transaction
        if web3.eth.get_balance(address) < ether * 10**18 // 2:
            accounts[0].transfer(address, ether * 10**18, silent=True)
        have = token.balanceOf(address)
        if have < tokens * 10**18:
            token.transfer(address, tokens * 10**18 - have, {"from": accounts[1]})


def node_wallet(accounts) -> dict[str, str]:
    """The local node's wallet, funded with ether whenever it runs low; unless AGORA_WALLET_*
    says otherwise."""
    if SETTINGS.wallet.keystore or SETTINGS.wallet.private_key:
        return {}
    wallet = keystore_wallet("node")
    from brownie import web3

    if web3.eth.get_balance(web3.to_checksum_address(wallet["address"])) < 10**18:
        accounts[0].transfer(web3.to_checksum_address(wallet["address"]), 100 * 10**18, silent=True)
    return {"AGORA_WALLET_KEYSTORE": wallet["keystore"], "AGORA_WALLET_PASSWORD_FILE": wallet["password_file"]}


def blob_port(rpc_port: int) -> int:
    return rpc_port + 1000 if rpc_port + 1000 <= 65_535 else rpc_port - 1000


def service(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`agora <args>` in a session of its own (the market stops it in order), its output in
    <state dir>/<name>.log."""
    log = open(STATE_DIR / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "agora.cli", *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def base_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGORA_WALLET_", "AGORA_AGENT_", "AGORA_BLOBS_"))}
    env.update({"AGORA_RPC_URL": f"http://127.0.0.1:{port}", "AGORA_DEPLOYMENTS_DIR": str(DEPLOYMENTS_DIR),
                "AGORA_STATE_DIR": str(STATE_DIR), "PYTHONUNBUFFERED": "1"})
    return env


def start_node(port: int, wallet: dict[str, str]) -> subprocess.Popen:
    """`agora node` (indexer, matchmaker, keeper on Celery; an embedded Redis unless
    AGORA_REDIS_URL is set; the blob service) following the chain; it logs to node.log."""
    # The local node is the market's only keeper: it settles every job, not just its own.
    env = {"AGORA_DATABASE_URL": database_url(), "AGORA_KEEPER_SETTLE": "all", "AGORA_MATCHMAKER_STAGGER_SECONDS": "0",
           **base_env(port), **wallet, "AGORA_BLOBS_PORT": str(blob_port(port))}
    return service("node", ["node"], env)


# Three providers with different regions and prices, so matching has a choice to make.
PROVIDERS = [
    {"AGORA_AGENT_REGION": "eu-west", "AGORA_AGENT_PRICE_CPU_CORE_GWEI": "100000000"},
    {"AGORA_AGENT_REGION": "us-east", "AGORA_AGENT_PRICE_CPU_CORE_GWEI": "150000000"},
    {"AGORA_AGENT_REGION": "", "AGORA_AGENT_PRICE_CPU_CORE_GWEI": "200000000", "AGORA_AGENT_CPU_MILLICORES": "8000"},
]


def start_agents(port: int, accounts, token) -> list[tuple[dict, subprocess.Popen]]:
    started = []
    for n, listing in enumerate(PROVIDERS, start=1):
        wallet = keystore_wallet(f"provider-{n}")
        fund(accounts, token, wallet["address"], ether=10, tokens=5_000)
        env = {**base_env(port), **listing, "AGORA_DATABASE_URL": f"sqlite:///{STATE_DIR / f'provider-{n}.db'}",
               "AGORA_WALLET_KEYSTORE": wallet["keystore"], "AGORA_WALLET_PASSWORD_FILE": wallet["password_file"],
               "AGORA_BLOBS_PEERS": blob_url(port), "AGORA_BLOBS_DIR": str(STATE_DIR / f"blobs-provider-{n}"),
               "AGORA_AGENT_INTERVAL_SECONDS": "0.5"}
        started.append(({**wallet, "log": str(STATE_DIR / f"provider-{n}.log")},
                        service(f"provider-{n}", ["provider", "run"], env)))
    return started


ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def start_arbiter(port: int, named: str) -> tuple[dict, subprocess.Popen] | None:
    """The arbiter the deployment named, if it is one of anvil's own accounts (the devnet's
    default: account 9, whose key anvil derives from its well-known mnemonic)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    for index in range(20):
        account = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        if account.address.lower() == str(named).lower():
            env = {**base_env(port), "AGORA_DATABASE_URL": f"sqlite:///{STATE_DIR / 'arbiter.db'}",
                   "AGORA_WALLET_PRIVATE_KEY": account.key.hex(), "AGORA_BLOBS_PEERS": blob_url(port),
                   "AGORA_BLOBS_DIR": str(STATE_DIR / "blobs-arbiter")}
            info = {"address": account.address, "log": str(STATE_DIR / "arbiter.log")}
            return info, service("arbiter", ["arbiter", "run"], env)
    return None


def blob_url(port: int) -> str:
    return f"http://127.0.0.1:{blob_port(port)}"


def wait_for_providers(registry, addresses: list[str], children, timeout: float = 120) -> bool:
    from brownie import web3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(registry.providerOf(web3.to_checksum_address(a))[0] == 1 for a in addresses):
            return True
        if any(child.poll() is not None for child in children):
            return False
        time.sleep(0.5)
    return False


EXAMPLES = [("hashchain", lambda: (200_000).to_bytes(8, "little") + b"agora"),
            ("sieve", lambda: (2_000_000).to_bytes(4, "little")),
            ("matmul", None)]


def post_examples(port: int, you: dict[str, str]) -> list[str]:
    """Posts the example jobs as "you", through `agora job post` (what a person would type)."""
    posted = []
    inputs = STATE_DIR / "example-inputs"
    inputs.mkdir(exist_ok=True)
    env = {**base_env(port), "AGORA_WALLET_KEYSTORE": you["keystore"],
           "AGORA_WALLET_PASSWORD_FILE": you["password_file"], "AGORA_BLOBS_PEERS": blob_url(port),
           "AGORA_BLOBS_DIR": str(STATE_DIR / "blobs-you")}
    for name, make in EXAMPLES:
        data = inputs / f"{name}.in"
        if make is None:
            subprocess.run([sys.executable, str(ROOT / "examples" / "jobs" / "make_input.py"), name, "8"],
                           stdout=open(data, "wb"), check=True)
        else:
            data.write_bytes(make())
        run = subprocess.run([sys.executable, "-m", "agora.cli", "job", "post",
                              str(ROOT / "examples" / "jobs" / f"{name}.wat"), str(data), "--json"],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"  example job {name} not posted: {(run.stderr or run.stdout).strip().splitlines()[-1:]}")
            continue
        posted.append(json.loads(run.stdout)["job_id"])
        print(f"  posted example job {name}: {posted[-1]}")
    return posted


class Ticker:
    """Prints what the market is doing, and how long it has taken, every few seconds."""

    def __init__(self):
        self.what, self.since = "", time.monotonic()
        self.stop = False
        import threading

        threading.Thread(target=self._run, daemon=True).start()

    def step(self, text: str) -> None:
        self.what, self.since = text, time.monotonic()
        print(f"==> {text}", flush=True)

    def _run(self) -> None:
        while not self.stop:
            time.sleep(5)
            if self.what and not self.stop:
                print(f"    ... {self.what} ({time.monotonic() - self.since:.0f} s)", flush=True)


def write_devnet(record: dict, port: int, you: dict, agents, arbiter, node) -> Path:
    path = STATE_DIR / "devnet.json"
    info = {
        "rpc_url": f"http://127.0.0.1:{port}", "chain_id": record["chainId"], "deployments_dir": str(DEPLOYMENTS_DIR),
        "blob_nodes": [blob_url(port)], "database_url": database_url(),
        "wallet": {"address": you["address"], "keystore": you["keystore"], "password_file": you["password_file"]},
        "node": {"pid": node.pid, "log": str(STATE_DIR / "node.log")},
        "providers": [{**info, "pid": child.pid} for info, child in agents],
        "arbiter": {**arbiter[0], "pid": arbiter[1].pid} if arbiter else None,
    }
    path.write_text(json.dumps(info, indent=2))
    return path


def stop_all(children: list[subprocess.Popen], timeout: float = 40) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()  # each finishes what it is doing, then exits
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    port = SETTINGS.local_market.rpc_port
    if port_in_use(port):
        die(f"port {port} is already in use; stop what listens there or set AGORA_RPC_PORT to a free port")
    if port_in_use(blob_port(port)):
        die(f"port {blob_port(port)} (the node's blob service) is already in use; set AGORA_RPC_PORT to another port")
    if shutil.which("anvil") is None:
        die("anvil is not on PATH: run this through ./dev market")

    ticker = Ticker()
    ticker.step(f"starting the chain (anvil on 127.0.0.1:{port})")
    chain = start_chain(port)
    children: list[subprocess.Popen] = []  # node, agents, arbiter: stopped before the chain
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        from brownie import _config, network, project

        ticker.step("compiling the contracts (the first start of a checkout takes about 90 s)")
        proj = project.load(ROOT, name="AgoraMarket")
        proj.load_config()
        # Brownie attaches to the chain already listening on its anvil port.
        _config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = port
        network.connect("anvil")
        import brownie
        from deploy import DeployError, config_from_env, deploy

        ticker.step("deploying the contracts (or finding them deployed)")
        try:
            config = config_from_env(brownie.accounts)
            deployer = config.pop("deployer")
            record = deploy(proj, deployer, **config)
        except DeployError as exc:
            die(str(exc))
        token = proj.AgoraToken.at(record["contracts"]["AgoraToken"]["address"])
        registry = proj.ProviderRegistry.at(record["contracts"]["ProviderRegistry"]["address"])
        ticker.step("starting the node (indexer, matchmaker, keeper, blob service)")
        node = start_node(port, node_wallet(brownie.accounts))
        children.append(node)
        you = keystore_wallet("you")
        first_start = not (STATE_DIR / "wallets" / ".funded").exists()
        fund(brownie.accounts, token, you["address"], ether=100, tokens=100_000)
        ticker.step("starting three provider agents and the arbiter")
        agents = start_agents(port, brownie.accounts, token)
        children += [child for _, child in agents]
        params = proj.ProtocolParams.at(record["contracts"]["ProtocolParams"]["address"])
        arbiter = start_arbiter(port, params.arbiter())
        if arbiter:
            children.append(arbiter[1])
        ticker.step("waiting for the providers to register and stake")
        if not wait_for_providers(registry, [a["address"] for a, _ in agents], children):
            die(f"the provider agents did not register; see {STATE_DIR}/provider-*.log")
        devnet = write_devnet(record, port, you, agents, arbiter, node)
        if first_start:
            ticker.step("posting the example jobs (hash chain, prime sieve, matrix multiply) as you")
            post_examples(port, you)
            (STATE_DIR / "wallets" / ".funded").write_text("")
        ticker.stop = True
        print()
        print(f"Agora market running: RPC http://127.0.0.1:{port}  chain {record['chainId']}  ({record['profile']})")
        print(f"  market   {record['contracts']['JobMarket']['address']}")
        print(f"  registry {record['contracts']['ProviderRegistry']['address']}")
        print(f"  governor {record['contracts']['AgoraGovernor']['address']}")
        print(f"  node     indexer, matchmaker and keeper, into {_database_label()}; blobs at {blob_url(port)}")
        for n, (info, _child) in enumerate(agents, start=1):
            print(f"  provider {info['address']}  ({PROVIDERS[n - 1]['AGORA_AGENT_REGION'] or 'any region'}; "
                  f"log {info['log']})")
        if arbiter:
            print(f"  arbiter  {arbiter[0]['address']}  (log {arbiter[0]['log']})")
        print(f"  you      {you['address']}: 100 ETH, 100,000 tokens (keystore {you['keystore']})")
        print(f"           logs in {STATE_DIR}; where everything is: {devnet}")
        print("Try: ./dev shell, then agora job list, agora job post examples/jobs/sieve.wat INPUT, "
              "agora provider status ADDRESS, agora gov params")
        print(f"Ctrl-C stops it; the chain's state is kept in {STATE_DIR} for the next start.", flush=True)
        while not stopping and chain.poll() is None and all(c.poll() is None for c in children):
            time.sleep(0.5)
        if chain.poll() is not None and not stopping:
            die(f"anvil stopped unexpectedly; see {STATE_DIR / 'anvil.log'}")
        for child in children:
            if child.poll() is not None and not stopping:
                die(f"`{' '.join(child.args[3:])}` stopped (exit {child.returncode}); see the logs in {STATE_DIR}")
    finally:
        ticker.stop = True
        (STATE_DIR / "devnet.json").unlink(missing_ok=True)
        stop_all(children)
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
