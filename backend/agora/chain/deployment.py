"""The deployment file: where a chain's Agora contracts live, as the deploy script wrote it.

`deployments/<chain id>.json` names each contract's address (and the build artifact its
ABI came from; the ABIs themselves are packaged in agora, see `abis.py`), the block the
deployment started at (where indexers begin), the profile and the governance settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agora.chain.abis import abi as packaged_abi
from agora.errors import DeploymentError

CONTRACTS = ("AgoraToken", "TimelockController", "AgoraGovernor", "ProtocolParams", "ProviderRegistry", "JobMarket")


REDEPLOY = "deploy again (brownie run scripts/deploy.py), or point AGORA_RPC_URL at the chain it describes"


class DeploymentNotFound(DeploymentError, FileNotFoundError):
    """No deployment file for this chain."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    deploy_block: int
    profile: str
    addresses: dict[str, str]
    abi_paths: dict[str, str]
    raw: dict

    def address(self, name: str) -> str:
        return self.addresses[name]

    def abi(self, name: str) -> list:
        """The ABI of a contract the deployment names, from the ABIs packaged in agora (the
        file's `abi` entries, paths into brownie's build, are kept only for compatibility)."""
        if name not in self.addresses:
            raise DeploymentError(f"the deployment file names no {name} (it names {', '.join(self.addresses)}): "
                                  f"{REDEPLOY}")
        return packaged_abi(name)

    def check_on_chain(self, rpc, path: Path | str = "the deployment file") -> None:
        """Refuses a deployment the chain does not hold: its deploy block above the head, or
        no code at one of its addresses (a chain restarted without its state, or reset)."""
        head = rpc.block_number()
        if self.deploy_block > head:
            raise DeploymentError(f"{path} says the contracts were deployed at block {self.deploy_block}, but the "
                                  f"chain's head is block {head} (the chain was reset?): {REDEPLOY}")
        for name, address in self.addresses.items():
            if rpc.code(address) in ("0x", "0x0", "", None):
                raise DeploymentError(f"{path} names {name} at {address}, but chain {self.chain_id} has no code "
                                      f"there (restarted without its state, or reset?): {REDEPLOY}")


def deployment_path(directory: Path, chain_id: int) -> Path:
    return Path(directory) / f"{chain_id}.json"


def load(directory: Path, chain_id: int) -> Deployment:
    path = deployment_path(directory, chain_id)
    if not path.exists():
        raise DeploymentNotFound(f"no Agora deployment for chain {chain_id} at {path}: run the deploy script first")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise DeploymentError(f"cannot read {path} ({exc}): restore it, or {REDEPLOY}") from None
    except ValueError as exc:
        raise DeploymentError(f"{path} is not valid JSON ({exc}): restore it, or {REDEPLOY}") from None
    try:
        deployment = Deployment(
            chain_id=_integer(data["chainId"]),
            deploy_block=_integer(data["deployBlock"]),
            profile=data["profile"],
            addresses={name: c["address"] for name, c in data["contracts"].items()},
            abi_paths={name: c["abi"] for name, c in data["contracts"].items()},
            raw=data,
        )
    except KeyError as exc:
        raise DeploymentError(f"{path} is incomplete (no {exc.args[0]!r}): restore it, or {REDEPLOY}") from None
    except (TypeError, AttributeError, ValueError) as exc:
        raise DeploymentError(f"{path} is malformed ({exc}): restore it, or {REDEPLOY}") from None
    if deployment.chain_id != chain_id:
        raise DeploymentError(f"{path} is for chain {deployment.chain_id}, not {chain_id}: {REDEPLOY}")
    return deployment


def _integer(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{value!r} is not a whole number")
    return value


def write(directory: Path, data: dict) -> Path:
    path = deployment_path(directory, data["chainId"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
