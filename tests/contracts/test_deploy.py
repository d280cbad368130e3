"""scripts/deploy.py: wiring, the deployment file, re-runs, and bad configuration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from brownie import chain, web3

from agora.chain.deployment import CONTRACTS, DeploymentNotFound, load
from agora.chain.protocol import PROFILES, TOKEN
from marketkit import make_terms

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from deploy import ARTIFACTS, DeployError, config_from_env, deploy  # noqa: E402

# Above the devnet quorum (4% of 1B = 40M) and threshold (0): a governable distribution.
SHARE = 50_000_000 * TOKEN


@pytest.fixture(scope="module")
def containers(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket):
    return type("Containers", (), {n: c for n, c in zip(
        ARTIFACTS.values(), (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket))})


@pytest.fixture
def directory(tmp_path):
    return tmp_path / "deployments"


def run(containers, accounts, directory, **changes):
    options = dict(profile=PROFILES["devnet"], distribution={str(accounts[3].address): SHARE},
                   arbiter=str(accounts[9].address), directory=directory, quiet=True)
    options.update(changes)
    return deploy(containers, accounts[0], **options)


def test_WritesAFileTheServicesCanLoad(containers, accounts, directory, JobMarket):
    record = run(containers, accounts, directory)
    deployment = load(directory, chain.id)
    assert deployment.chain_id == chain.id == record["chainId"]
    assert deployment.profile == "devnet"
    for name in CONTRACTS:
        assert len(web3.eth.get_code(deployment.address(name))) > 0, name
        artifact = ROOT / f"build/contracts/{ARTIFACTS[name]}.json"
        assert deployment.abi(name, root=ROOT) == json.loads(artifact.read_text())["abi"]
    token_created = web3.eth.get_transaction_receipt(JobMarket.at(deployment.address("JobMarket")).tx.txid)
    assert deployment.deploy_block <= token_created.blockNumber
    assert record["treasury"] == deployment.address("TimelockController")


def test_TokensGoAsConfiguredAndTheRestToTheTreasury(containers, accounts, directory, AgoraToken):
    record = run(containers, accounts, directory)
    token = AgoraToken.at(record["contracts"]["AgoraToken"]["address"])
    assert token.balanceOf(accounts[3]) == SHARE
    assert token.balanceOf(record["treasury"]) == token.totalSupply() - SHARE
    assert token.balanceOf(accounts[0]) == 0


def test_SecondRunLeavesTheFirstDeploymentAlone(containers, accounts, directory, JobMarket):
    first = run(containers, accounts, directory)
    nonce = accounts[0].nonce
    second = run(containers, accounts, directory)
    assert second == first
    assert accounts[0].nonce == nonce  # nothing sent
    market = JobMarket.at(first["contracts"]["JobMarket"]["address"])
    assert market.registry() == first["contracts"]["ProviderRegistry"]["address"]


def test_ForcedRedeployKeepsTheOldContractsWorking(containers, accounts, directory, JobMarket, AgoraToken):
    first = run(containers, accounts, directory)
    second = run(containers, accounts, directory, redeploy=True)
    assert second["contracts"]["JobMarket"]["address"] != first["contracts"]["JobMarket"]["address"]
    archived = list(directory.glob(f"{chain.id}.*.previous.json"))
    assert len(archived) == 1 and json.loads(archived[0].read_text()) == first
    # The first market still takes jobs.
    old_market = JobMarket.at(first["contracts"]["JobMarket"]["address"])
    old_token = AgoraToken.at(first["contracts"]["AgoraToken"]["address"])
    buyer = accounts[3]
    old_token.approve(old_market, 2**256 - 1, {"from": buyer})
    terms = make_terms(buyer, chain[-1].timestamp, 1)
    old_market.post(terms.as_tuple(), {"from": buyer})
    assert old_market.jobOf(terms.job_id)[1] == 1


def test_RevertIf_DistributionExceedsSupply(containers, accounts, directory):
    with pytest.raises(DeployError, match="hands out"):
        run(containers, accounts, directory, distribution={str(accounts[3].address): 2 * 10**9 * TOKEN})


def test_RevertIf_ArbiterIsTheDeployer(containers, accounts, directory):
    with pytest.raises(DeployError, match="arbiter must not be the deployer"):
        run(containers, accounts, directory, arbiter=str(accounts[0].address))


def test_MissingDeploymentHasAClearError(directory):
    with pytest.raises(DeploymentNotFound, match="run the deploy script first"):
        load(directory, 999)


def test_ConfigFromEnvironment(accounts, monkeypatch, tmp_path):
    monkeypatch.setenv("AGORA_PROFILE", "mainnet")
    monkeypatch.delenv("AGORA_ARBITER", raising=False)
    config = config_from_env(accounts)
    assert config["profile"] is PROFILES["mainnet"]
    assert config["distribution"] == {} and config["arbiter"] == "0x" + "0" * 40
    distribution = tmp_path / "d.json"
    distribution.write_text(json.dumps({str(accounts[5].address): 42}))
    monkeypatch.setenv("AGORA_DISTRIBUTION", str(distribution))
    assert config_from_env(accounts)["distribution"] == {str(accounts[5].address): 42 * TOKEN}
    monkeypatch.setenv("AGORA_PROFILE", "moon")
    with pytest.raises(DeployError, match="unknown AGORA_PROFILE 'moon'"):
        config_from_env(accounts)
    monkeypatch.setenv("AGORA_PROFILE", "devnet")
    monkeypatch.setenv("AGORA_DISTRIBUTION", str(tmp_path / "missing.json"))
    with pytest.raises(DeployError, match="cannot read AGORA_DISTRIBUTION"):
        config_from_env(accounts)
