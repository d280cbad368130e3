"""A whole market in processes, as people run it: a node (`agora node`, with its blob
service), a second blob node (`agora blobs serve`), provider agents (`agora provider run`),
the arbiter (`agora arbiter run`) and a buyer typing `agora job ...` commands. Every part
is a real process talking JSON-RPC and HTTP on 127.0.0.1; only the setup (funding the
actors) uses brownie."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from market import ROOT, Service, node_env

from agora.market.protocol import TOKEN

EXAMPLES = ROOT / "examples" / "jobs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class FullMarket:
    """Where the parts of one market are, and the processes running them."""

    rpc_url: str
    deployments: Path
    work: Path
    contracts: object
    accounts: object
    node_url: str = ""
    second_url: str = ""
    services: dict[str, Service] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # name -> private key
    addresses: dict[str, str] = field(default_factory=dict)

    def base_env(self, name: str, key: str, **extra: str) -> dict[str, str]:
        return node_env(self.rpc_url, self.deployments, f"sqlite:///{self.work / (name + '.db')}", key,
                        self.work / f"state-{name}", **{"AGORA_BLOBS_DIR": str(self.work / f"blobs-{name}"), **extra})

    def wallet(self, name: str, ether: int = 10, tokens: int = 0) -> str:
        account = Account.create()
        self.accounts[0].transfer(account.address, ether * 10**18)
        if tokens:
            from brownie import Contract

            token = Contract.from_abi("AgoraToken", self.contracts.token.address, self.contracts.token.abi)
            token.transfer(account.address, tokens * TOKEN, {"from": self.accounts[1]})
        self.keys[name], self.addresses[name] = account.key.hex(), account.address
        return account.address

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        self.services[name] = Service(name, args, env, self.work)
        return self.services[name]

    def start_node(self, blob_peers: list[str]) -> Service:
        self.node_url = f"http://127.0.0.1:{free_port()}"
        self.wallet("node")
        env = self.base_env("node", self.keys["node"], AGORA_BLOBS_PORT=self.node_url.rsplit(":", 1)[1],
                            AGORA_BLOBS_PEERS=",".join(blob_peers), AGORA_MATCHMAKER_STAGGER_SECONDS="0")
        return self.start("node", ["node", "--progress", "5"], env)

    def start_second_blob_node(self, peers: list[str]) -> Service:
        port = int(self.second_url.rsplit(":", 1)[1]) if self.second_url else free_port()
        self.second_url = f"http://127.0.0.1:{port}"
        env = self.base_env("blobs2", "", AGORA_BLOBS_PORT=str(port), AGORA_BLOBS_PEERS=",".join(peers))
        env.pop("AGORA_WALLET_PRIVATE_KEY")
        return self.start("blobs2", ["blobs", "serve"], env)

    def start_agent(self, name: str, peers: list[str], **settings: str) -> Service:
        if name not in self.keys:
            self.wallet(name, tokens=3_000)
        env = self.base_env(name, self.keys[name], AGORA_BLOBS_PEERS=",".join(peers),
                            AGORA_AGENT_INTERVAL_SECONDS="0.3", **settings)
        return self.start(name, ["provider", "run"], env)

    def start_arbiter(self, key: str, peers: list[str]) -> Service:
        self.keys["arbiter"] = key
        env = self.base_env("arbiter", key, AGORA_BLOBS_PEERS=",".join(peers), AGORA_ARBITER_INTERVAL_SECONDS="0.3")
        return self.start("arbiter", ["arbiter", "run"], env)

    def buyer_env(self, peers: list[str]) -> dict[str, str]:
        if "buyer" not in self.keys:
            self.wallet("buyer", tokens=100_000)
        return self.base_env("buyer", self.keys["buyer"], AGORA_BLOBS_PEERS=",".join(peers))

    def cli(self, args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
        run = subprocess.run([sys.executable, "-m", "agora.cli", *args], env=env, capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
        if check and run.returncode != 0:
            raise AssertionError(f"agora {' '.join(args)} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
        return run

    def cli_json(self, args: list[str], env: dict[str, str]):
        return json.loads(self.cli([*args, "--json"], env).stdout)

    def stop_all(self) -> None:
        for service in reversed(list(self.services.values())):
            if not service.out.closed:
                service.stop()

    def tails(self) -> str:
        return "\n".join(s.tail() for s in self.services.values())
