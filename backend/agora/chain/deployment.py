"""The deployment file: where a chain's Agora contracts live, as the deploy script wrote it.

`deployments/<chain id>.json` names each contract's address and the build artifact that
holds its ABI, the block the deployment started at (where indexers begin), the profile
and the governance settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agora.errors import AgoraError

CONTRACTS = ("AgoraToken", "TimelockController", "AgoraGovernor", "ProtocolParams", "ProviderRegistry", "JobMarket")


class DeploymentNotFound(AgoraError, FileNotFoundError):
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

    def abi(self, name: str, root: Path | None = None) -> list:
        path = Path(self.abi_paths[name])
        if not path.is_absolute() and root is not None:
            path = root / path
        return json.loads(path.read_text())["abi"]


def deployment_path(directory: Path, chain_id: int) -> Path:
    return Path(directory) / f"{chain_id}.json"


def load(directory: Path, chain_id: int) -> Deployment:
    path = deployment_path(directory, chain_id)
    if not path.exists():
        raise DeploymentNotFound(f"no Agora deployment for chain {chain_id} at {path}: run the deploy script first")
    data = json.loads(path.read_text())
    return Deployment(
        chain_id=data["chainId"],
        deploy_block=data["deployBlock"],
        profile=data["profile"],
        addresses={name: c["address"] for name, c in data["contracts"].items()},
        abi_paths={name: c["abi"] for name, c in data["contracts"].items()},
        raw=data,
    )


def write(directory: Path, data: dict) -> Path:
    path = deployment_path(directory, data["chainId"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
