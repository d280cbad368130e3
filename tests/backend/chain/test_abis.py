"""The ABIs packaged in agora are those of the compiled contracts, and ship with the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from agora.chain import abis
from agora.chain.deployment import CONTRACTS as DEPLOYED
from agora.errors import DeploymentError

BUILD = Path(__file__).resolve().parents[3] / "build" / "contracts"


@pytest.mark.parametrize("name", abis.CONTRACTS)
def test_APackagedAbiIsTheCompiledOne(name):
    artifact = BUILD / f"{name}.json"
    assert artifact.exists(), f"{artifact} is missing: compile the contracts (brownie compile)"
    if abis.abi(name) != json.loads(artifact.read_text())["abi"]:
        pytest.fail(f"the packaged ABI of {name} differs from {artifact}: run tools/export-abis", pytrace=False)


def test_TheAbisAreResourcesOfThePackage():
    folder = resources.files("agora.chain").joinpath("abi")
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".json")) == sorted(
        f"{n}.json" for n in abis.CONTRACTS)


def test_EveryDeployedContractHasAPackagedAbi():
    for name in DEPLOYED:
        assert any(item.get("type") == "function" for item in abis.abi(name)), name
    assert abis.abi("TimelockController") == abis.abi("AgoraTimelock")


def test_AMissingPackagedAbiIsOneClearLine():
    with pytest.raises(DeploymentError) as raised:
        abis.abi("NoSuchContract")
    message = str(raised.value)
    assert "\n" not in message and "packaged ABI of NoSuchContract is missing" in message
    assert "tools/export-abis" in message
