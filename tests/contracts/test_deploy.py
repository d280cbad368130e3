"""scripts/deploy.py: wiring, the deployment file, re-runs, and bad configuration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from brownie import chain, web3
from marketkit import make_terms

from agora.chain.addresses import create_address
from agora.chain.deployment import CONTRACTS, DeploymentNotFound, load
from agora.market.protocol import PROFILES, TOKEN

ROOT = Path(__file__).resolve().parents[2]
from deploy import ARTIFACTS, STEPS, DeployError, config_from_env, deploy  # noqa: E402

ZERO = "0x" + "0" * 40
MAINNET = PROFILES["mainnet"]

# Above the devnet quorum (4% of 1B = 40M) and threshold (0): a governable distribution.
SHARE = 50_000_000 * TOKEN


@pytest.fixture(scope="module")
def containers(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket):
    return type("Containers", (), {n: c for n, c in zip(
        ARTIFACTS.values(), (AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket), strict=False)})


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
        assert deployment.abi(name) == json.loads(artifact.read_text())["abi"]
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


@pytest.mark.parametrize("spelling", [str, str.lower, lambda a: "0x" + a[2:].upper()], ids=["checksum", "lower", "upper"])
def test_RevertIf_ArbiterIsTheDeployer(containers, accounts, directory, spelling):
    nonce = accounts[0].nonce
    with pytest.raises(DeployError) as refused:
        run(containers, accounts, directory, arbiter=spelling(str(accounts[0].address)))
    assert str(refused.value) == "the arbiter must not be the deployer: no power may stay with the deployer"
    assert accounts[0].nonce == nonce and not directory.exists()  # nothing sent, nothing written


def test_LowercaseArbiterIsAcceptedAndRecordedChecksummed(containers, accounts, directory, ProtocolParams):
    record = run(containers, accounts, directory, arbiter=str(accounts[9].address).lower())
    assert record["arbiter"] == str(accounts[9].address)
    assert ProtocolParams.at(record["contracts"]["ProtocolParams"]["address"]).arbiter() == accounts[9]


def _bad_checksum(address: str) -> str:
    """`address` with the case of its first letter flipped: mixed case, wrong checksum."""
    i = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:i] + address[i].swapcase() + address[i + 1:]


@pytest.mark.parametrize("arbiter, message", [
    ("0x1234", "the arbiter '0x1234' is not an address: expected 0x and 40 hex digits"),
    ("0x" + "g" * 40, f"the arbiter '0x{'g' * 40}' is not an address: expected 0x and 40 hex digits"),
    ("ab" * 20, f"the arbiter '{'ab' * 20}' is not an address: expected 0x and 40 hex digits"),
    ("0x" + "ab" * 20 + "00", f"the arbiter '0x{'ab' * 20}00' is not an address: expected 0x and 40 hex digits"),
    (None, "the arbiter None is not an address: expected 0x and 40 hex digits"),
])
def test_RevertIf_ArbiterIsMalformed(containers, accounts, directory, arbiter, message):
    with pytest.raises(DeployError) as refused:
        run(containers, accounts, directory, arbiter=arbiter)
    assert str(refused.value) == message


def test_RevertIf_ArbiterHasABadChecksum(containers, accounts, directory):
    good = str(accounts[9].address)
    with pytest.raises(DeployError) as refused:
        run(containers, accounts, directory, arbiter=_bad_checksum(good))
    assert str(refused.value) == (f"the arbiter {_bad_checksum(good)} has mixed case that does not match its EIP-55 "
                                  f"checksum ({good}); check the address")


def test_RevertIf_DistributionNamesTheDeployerZeroOrAnAddressTwice(containers, accounts, directory):
    deployer, holder = str(accounts[0].address), str(accounts[3].address)
    cases = [
        ({deployer.lower(): SHARE}, f"the distribution names the deployer {deployer}: no tokens may stay with the deployer"),
        ({ZERO: SHARE}, "the distribution names the zero address, which cannot receive tokens"),
        ({holder: SHARE, holder.lower(): 1},
         f"the distribution names {holder} twice (addresses compare without regard to case)"),
        ({"0xabc": SHARE}, "distribution address '0xabc' is not an address: expected 0x and 40 hex digits"),
        ({holder: -1}, f"the distribution gives {holder} -1: amounts are whole token wei, not negative"),
    ]
    for distribution, message in cases:
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory, distribution=distribution)
        assert str(refused.value) == message


class TestGovernableDistribution:
    """A distribution must let holders reach the quorum and one holder the proposal threshold."""

    def test_RevertIf_MainnetWithNoDistribution(self, containers, accounts, directory):
        nonce = accounts[0].nonce
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory, profile=MAINNET, distribution={}, arbiter=ZERO)
        assert str(refused.value) == (
            "nobody could govern this deployment (mainnet profile): it hands out 0 tokens and the rest stays in the "
            "timelock, below the 4% quorum of 40,000,000; no holder gets the 100,000-token proposal threshold "
            "(largest share: 0); set AGORA_DISTRIBUTION")
        assert accounts[0].nonce == nonce and not directory.exists()

    def test_RevertIf_HoldersCannotReachTheQuorum(self, containers, accounts, directory):
        quorum = 40_000_000 * TOKEN
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory, distribution={str(accounts[3].address): quorum - 1})
        assert str(refused.value) == (
            "nobody could govern this deployment (devnet profile): it hands out 39,999,999.999999999999999999 tokens "
            "and the rest stays in the timelock, below the 4% quorum of 40,000,000; set AGORA_DISTRIBUTION")

    def test_RevertIf_NoSingleHolderReachesTheThreshold(self, containers, accounts, directory):
        # 500 holders of just under 100,000 tokens: together 50M, over the quorum, but nobody can propose.
        below = 100_000 * TOKEN - 1
        distribution = {"0x" + f"{i:040x}": below for i in range(1, 501)}
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory, profile=MAINNET, distribution=distribution, arbiter=ZERO)
        assert str(refused.value) == (
            "nobody could govern this deployment (mainnet profile): no holder gets the 100,000-token proposal "
            "threshold (largest share: 99,999.999999999999999999); set AGORA_DISTRIBUTION")

    def test_QuorumAndThresholdReachedExactlyIsGovernable(self, containers, accounts, directory, AgoraToken):
        threshold, quorum = 100_000 * TOKEN, 40_000_000 * TOKEN
        distribution = {str(accounts[3].address): threshold, str(accounts[4].address): quorum - threshold}
        record = run(containers, accounts, directory, profile=MAINNET, distribution=distribution,
                     arbiter=str(accounts[9].address))
        token = AgoraToken.at(record["contracts"]["AgoraToken"]["address"])
        assert token.balanceOf(accounts[3]) == threshold
        assert token.balanceOf(record["treasury"]) == MAINNET.token_supply - quorum


def test_RevertIf_ProfileSettingOutsideItsBounds(containers, accounts, directory):
    devnet = PROFILES["devnet"]
    profile = dataclasses.replace(devnet, governance=dataclasses.replace(devnet.governance, voting_delay_seconds=0,
                                                                         timelock_delay_seconds=31 * 86_400))
    with pytest.raises(DeployError) as refused:
        run(containers, accounts, directory, profile=profile)
    assert str(refused.value) == ("the devnet profile's governance settings are outside their bounds: voting delay 0 "
                                  "is outside 1..604800; timelock delay 2678400 is outside 1..2592000")


def test_BoundsAreDeployedAndRecorded(containers, accounts, directory, AgoraGovernor, AgoraTimelock):
    g = PROFILES["devnet"].governance
    record = run(containers, accounts, directory)
    bounds = record["governance"]["bounds"]
    assert bounds == {
        "votingDelaySeconds": {"min": 1, "max": 7 * 86_400},
        "votingPeriodSeconds": {"min": 10, "max": 30 * 86_400},
        "proposalThreshold": {"min": "0", "max": str(10_000_000 * TOKEN)},
        "quorumPercent": {"min": 1, "max": 50},
        "timelockDelaySeconds": {"min": 1, "max": 30 * 86_400},
    }
    governor = AgoraGovernor.at(record["contracts"]["AgoraGovernor"]["address"])
    for setting, bound in enumerate(g.governor_bounds()):
        assert tuple(int(v) for v in governor.settingBounds(setting)) == bound
    timelock = AgoraTimelock.at(record["contracts"]["TimelockController"]["address"])
    assert tuple(int(v) for v in timelock.delayBounds()) == g.timelock_delay_bounds.as_tuple()
    assert json.loads((directory / f"{chain.id}.json").read_text())["governance"]["bounds"] == bounds


class Stop(Exception):
    """Stands in for whatever stops a deployment half-way (a node gone, gas run out, Ctrl-C)."""


def stop_after(step):
    def hook(name):
        if name == step:
            raise Stop(step)

    return hook


def assert_deployer_has_no_power(record, deployer, AgoraToken, AgoraTimelock, ProtocolParams):
    token = AgoraToken.at(record["contracts"]["AgoraToken"]["address"])
    timelock = AgoraTimelock.at(record["contracts"]["TimelockController"]["address"])
    governor = record["contracts"]["AgoraGovernor"]["address"]
    assert token.balanceOf(deployer) == 0
    for role in ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        assert not timelock.hasRole(getattr(timelock, role)(), deployer), role
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), governor)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), ZERO)
    assert ProtocolParams.at(record["contracts"]["ProtocolParams"]["address"]).governance() == timelock


class TestHalfWayFailure:
    """A deploy that stops half-way resumes where it stopped and ends with the deployer powerless."""

    @pytest.fixture
    def partial(self, directory):
        return directory / f"{chain.id}.partial.json"

    @pytest.mark.parametrize("step", STEPS)
    def test_RerunFinishesTheDeploymentAndLeavesTheDeployerNoPower(
        self, containers, accounts, directory, partial, step, AgoraToken, AgoraTimelock, ProtocolParams
    ):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after(step))
        progress = json.loads(partial.read_text())
        assert progress["done"] == list(STEPS[: STEPS.index(step) + 1])
        assert not (directory / f"{chain.id}.json").exists()  # no deployment file the services would use
        created = progress["contracts"]

        record = run(containers, accounts, directory)

        assert not partial.exists()
        assert load(directory, chain.id).address("JobMarket") == record["contracts"]["JobMarket"]["address"]
        for name, address in created.items():  # what was made before the stop is what the deployment uses
            assert record["contracts"][name]["address"] == address
        assert record["deployBlock"] == progress["deployBlock"]
        assert_deployer_has_no_power(record, accounts[0], AgoraToken, AgoraTimelock, ProtocolParams)
        token = AgoraToken.at(record["contracts"]["AgoraToken"]["address"])
        assert token.balanceOf(accounts[3]) == SHARE  # handed out once, whichever run sent it
        assert token.balanceOf(record["treasury"]) == token.totalSupply() - SHARE

    def test_StoppedAfterTheGovernorTheDeployerStillHoldsPowerUntilTheRerun(
        self, containers, accounts, directory, AgoraToken, AgoraTimelock, ProtocolParams
    ):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after("governor"))
        nonce = accounts[0].nonce
        record = run(containers, accounts, directory)
        # Resumed: token, timelock and governor are not made again (3 contracts instead of 6).
        sent = accounts[0].nonce - nonce
        assert sent == 3 + 2 + 1 + 1 + 1  # params, registry, market; two grants; one transfer; treasury; renounce
        assert_deployer_has_no_power(record, accounts[0], AgoraToken, AgoraTimelock, ProtocolParams)

    def test_ContractCreatedButNotRecordedIsAdopted(self, containers, accounts, directory, partial, AgoraGovernor):
        class CrashingGovernor:
            """The governor's creation is mined, then the script dies before recording it."""

            @staticmethod
            def deploy(*args):
                AgoraGovernor.deploy(*args)
                raise Stop("governor")

        crashing = type("Crashing", (containers,), {"AgoraGovernor": CrashingGovernor})
        with pytest.raises(Stop):
            run(crashing, accounts, directory)
        progress = json.loads(partial.read_text())
        assert progress["done"] == ["token", "timelock"]
        created_at = create_address(str(accounts[0].address), progress["pending"]["nonce"])
        assert progress["pending"]["step"] == "governor" and len(web3.eth.get_code(created_at)) > 0

        record = run(containers, accounts, directory)
        assert record["contracts"]["AgoraGovernor"]["address"] == created_at

    def test_RegistryWithoutItsMarketIsMadeAgain(self, containers, accounts, directory, partial, JobMarket,
                                                 ProviderRegistry):
        class FailingMarket:
            @staticmethod
            def deploy(*args):
                raise Stop("market")

        with pytest.raises(Stop):
            run(type("Failing", (containers,), {"JobMarket": FailingMarket}), accounts, directory)
        nonce = json.loads(partial.read_text())["pending"]["nonce"]
        orphan = ProviderRegistry.at(create_address(str(accounts[0].address), nonce))

        record = run(containers, accounts, directory)
        market = JobMarket.at(record["contracts"]["JobMarket"]["address"])
        assert market.registry() == record["contracts"]["ProviderRegistry"]["address"] != orphan.address
        assert ProviderRegistry.at(market.registry()).market() == market
        # The orphan's "market" address went to the new registry, which never calls a registry:
        # only its market could use the orphan, so nothing can.
        assert orphan.market() == market.registry()

    def test_TransferSentButNotRecordedIsNotSentTwice(self, containers, accounts, directory, AgoraToken):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after("canceller"))
        token = AgoraToken.at(json.loads((directory / f"{chain.id}.partial.json").read_text())["contracts"]["AgoraToken"])
        token.transfer(accounts[3], SHARE, {"from": accounts[0]})  # as the stopped run did before dying

        record = run(containers, accounts, directory)
        assert token.balanceOf(accounts[3]) == SHARE
        assert token.balanceOf(record["treasury"]) == token.totalSupply() - SHARE

    def test_RevertIf_ResumedWithOtherSettings(self, containers, accounts, directory, partial):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after("params"))
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory, arbiter=str(accounts[8].address),
                distribution={str(accounts[4].address): SHARE})
        assert str(refused.value) == (f"{partial} records an unfinished deployment started with other settings "
                                      "(arbiter, distribution differ): rerun with the same settings to finish it")

    def test_PartialDeploymentOfAResetChainStartsAfresh(self, containers, accounts, directory, partial):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after("timelock"))
        progress = json.loads(partial.read_text())
        # As if the node had been reset: nothing is at the recorded addresses.
        progress["contracts"] = {name: "0x" + f"{i + 1:040x}" for i, name in enumerate(progress["contracts"])}
        partial.write_text(json.dumps(progress))
        record = run(containers, accounts, directory)
        assert record["contracts"]["AgoraToken"]["address"] != "0x" + f"{1:040x}"
        assert json.loads((directory / f"{chain.id}.partial.stale.json").read_text()) == progress

    def test_RevertIf_PartialDeploymentNamesContractsPartlyMissing(self, containers, accounts, directory, partial):
        with pytest.raises(Stop):
            run(containers, accounts, directory, on_step=stop_after("timelock"))
        progress = json.loads(partial.read_text())
        progress["contracts"]["TimelockController"] = "0x" + f"{7:040x}"
        partial.write_text(json.dumps(progress))
        with pytest.raises(DeployError) as refused:
            run(containers, accounts, directory)
        assert str(refused.value) == (f"{partial} records TimelockController but this chain holds no code there; "
                                      "is this the node the deployment started on?")


def test_MissingDeploymentHasAClearError(directory):
    with pytest.raises(DeploymentNotFound, match="run the deploy script first"):
        load(directory, 999)


def test_RevertIf_NoArbiterNamed(containers, accounts, directory):
    """The market must always have someone to judge its work: a deploy names the first arbiter."""
    nonce = accounts[0].nonce
    with pytest.raises(DeployError) as refused:
        run(containers, accounts, directory, arbiter=ZERO)
    assert str(refused.value) == (
        "no arbiter named: set AGORA_ARBITER to the first arbiter (the market takes no work nobody could judge; "
        "governance can replace the arbiter, never remove it)")
    assert accounts[0].nonce == nonce and not directory.exists()


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
