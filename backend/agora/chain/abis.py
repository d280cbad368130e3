"""The ABIs of the deployed contracts, packaged inside `agora` (chain/abi/<Contract>.json),
so services need neither brownie nor its build folder at run time.

`tools/export-abis` writes them from `build/contracts` after `brownie compile`;
tests/backend/chain/test_abis.py fails when one differs from the compiled artifact.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from agora.errors import DeploymentError

# Artifact names of the deployed contracts.
CONTRACTS = ("AgoraToken", "AgoraTimelock", "AgoraGovernor", "ProtocolParams", "ProviderRegistry", "JobMarket")
# The deployment file names a contract by its role where that differs from its artifact.
ARTIFACT_OF = {"TimelockController": "AgoraTimelock"}


def artifact_name(name: str) -> str:
    """The artifact (and packaged ABI) name of a contract as the deployment file names it."""
    return ARTIFACT_OF.get(name, name)


@lru_cache
def _load(artifact: str) -> tuple:
    resource = resources.files("agora.chain").joinpath("abi", f"{artifact}.json")
    try:
        return tuple(json.loads(resource.read_text()))
    except FileNotFoundError:
        raise DeploymentError(f"the packaged ABI of {artifact} is missing (agora/chain/abi/{artifact}.json): "
                              f"reinstall agora, or in a checkout run tools/export-abis") from None
    except (OSError, ValueError, TypeError) as exc:
        raise DeploymentError(f"the packaged ABI of {artifact} is unreadable ({exc!r}): reinstall agora, or in a "
                              f"checkout run tools/export-abis") from None


def abi(name: str) -> list:
    """The packaged ABI of a contract, by artifact name or deployment-file name (a fresh list)."""
    return [dict(item) for item in _load(artifact_name(name))]
