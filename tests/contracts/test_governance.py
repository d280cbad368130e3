"""Token-holder governance on the deployed system: the whole proposal path, its failure
modes, votes bought after the snapshot, and a deployer left with no power."""

from __future__ import annotations

import pytest
from brownie import chain
from deploy import deploy  # noqa: E402
from eth_utils import keccak
from marketkit import CAPACITY, ENDPOINT, PRICES, make_terms, plain, price_of, reverts

from agora.market.protocol import PROFILES, TOKEN
from agora.market.terms import quote

DEVNET = PROFILES["devnet"]
G = DEVNET.governance
# ProposalState
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
AGAINST, FOR, ABSTAIN = 0, 1, 2
ZERO = "0x" + "0" * 40
# Supply 1B, quorum 4% = 40M votes.
HOLDINGS = {"whale": 60_000_000, "dolphin": 30_000_000, "minnow": 5_000_000, "buyer": 1_000_000, "provider": 1_000_000}


@pytest.fixture(scope="module")
def holders(accounts):
    return dict(zip(HOLDINGS, accounts[11:16], strict=False))


@pytest.fixture(scope="module")
def system(AgoraToken, AgoraTimelock, AgoraGovernor, ProtocolParams, ProviderRegistry, JobMarket,
           accounts, holders, tmp_path_factory):
    containers = type("Containers", (), {
        "AgoraToken": AgoraToken, "AgoraTimelock": AgoraTimelock, "AgoraGovernor": AgoraGovernor,
        "ProtocolParams": ProtocolParams, "ProviderRegistry": ProviderRegistry, "JobMarket": JobMarket,
    })
    record = deploy(
        containers, accounts[0], profile=DEVNET,
        distribution={str(holders[name].address): amount * TOKEN for name, amount in HOLDINGS.items()},
        arbiter=str(accounts[10].address), directory=tmp_path_factory.mktemp("deployments"), quiet=True,
    )
    at = {name: c["address"] for name, c in record["contracts"].items()}
    return type("System", (), {
        "token": AgoraToken.at(at["AgoraToken"]),
        "timelock": AgoraTimelock.at(at["TimelockController"]),
        "governor": AgoraGovernor.at(at["AgoraGovernor"]),
        "params": ProtocolParams.at(at["ProtocolParams"]),
        "registry": ProviderRegistry.at(at["ProviderRegistry"]),
        "market": JobMarket.at(at["JobMarket"]),
        "record": record,
    })


@pytest.fixture
def delegated(system, holders):
    for who in holders.values():
        system.token.delegate(who, {"from": who})
    chain.mine()
    return holders


def proposal(system, *calls, description="Agora proposal"):
    targets = [c[0] for c in calls]
    datas = [c[1] for c in calls]
    return targets, [0] * len(calls), datas, description


def propose(system, proposer, *calls, description="Agora proposal"):
    targets, values, datas, desc = proposal(system, *calls, description=description)
    tx = system.governor.propose(targets, values, datas, desc, {"from": proposer})
    return tx.return_value, (targets, values, datas, keccak(text=desc))


def to_voting(system, proposal_id):
    snapshot = system.governor.proposalSnapshot(proposal_id)
    chain.sleep(max(0, snapshot - chain[-1].timestamp) + 1)
    chain.mine()


def to_end_of_vote(system, proposal_id):
    deadline = system.governor.proposalDeadline(proposal_id)
    chain.sleep(max(0, deadline - chain[-1].timestamp) + 1)
    chain.mine()


def pass_and_queue(system, voters, proposal_id, args):
    to_voting(system, proposal_id)
    for who in voters:
        system.governor.castVote(proposal_id, FOR, {"from": who})
    to_end_of_vote(system, proposal_id)
    system.governor.queue(*args, {"from": voters[0]})


def operation_id(system, args) -> bytes:
    """The timelock operation of a queued proposal: the governor salts it with its address."""
    targets, values, datas, description_hash = args
    salt = bytes(a ^ b for a, b in zip(bytes.fromhex(str(system.governor.address)[2:]).ljust(32, b"\0"), description_hash, strict=False))
    return system.timelock.hashOperationBatch(targets, values, datas, bytes(32), salt)


def expected_states(*states) -> bytes:
    return sum(1 << s for s in states).to_bytes(32, "big")


class TestWholePath:
    def test_ProposalChangesParametersArbiterAndGovernorSettings(self, system, delegated, accounts, stranger):
        h = delegated
        calls = [
            (system.params, system.params.setProtocolFeeBps.encode_input(200)),
            (system.params, system.params.setArbiter.encode_input(stranger)),
            (system.governor, system.governor.setVotingPeriod.encode_input(10 * 60)),
        ]
        proposal_id, args = propose(system, h["minnow"], *calls)
        assert system.governor.state(proposal_id) == PENDING
        to_voting(system, proposal_id)
        assert system.governor.state(proposal_id) == ACTIVE
        system.governor.castVote(proposal_id, FOR, {"from": h["whale"]})
        system.governor.castVote(proposal_id, AGAINST, {"from": h["dolphin"]})
        system.governor.castVote(proposal_id, ABSTAIN, {"from": h["minnow"]})
        against, for_, abstain = system.governor.proposalVotes(proposal_id)
        assert (against, for_, abstain) == (30_000_000 * TOKEN, 60_000_000 * TOKEN, 5_000_000 * TOKEN)
        to_end_of_vote(system, proposal_id)
        assert system.governor.state(proposal_id) == SUCCEEDED

        system.governor.queue(*args, {"from": stranger})
        assert system.governor.state(proposal_id) == QUEUED
        operation = operation_id(system, args)
        with reverts("TimelockUnexpectedOperationState", operation, expected_states(2)):  # Ready
            system.governor.execute(*args, {"from": stranger})

        chain.sleep(G.timelock_delay_seconds)
        system.governor.execute(*args, {"from": stranger})  # anyone executes
        assert system.governor.state(proposal_id) == EXECUTED
        assert system.params.protocolFeeBps() == 200
        assert system.params.arbiter() == stranger
        assert system.governor.votingPeriod() == 600

    def test_NewFeeIsInForceForTheNextJob(self, system, delegated, accounts):
        h = delegated
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(250)))
        pass_and_queue(system, [h["whale"]], proposal_id, args)
        chain.sleep(G.timelock_delay_seconds)
        system.governor.execute(*args, {"from": h["whale"]})

        buyer, provider, matchmaker = h["buyer"], h["provider"], accounts[17]
        system.token.approve(system.market, 2**256 - 1, {"from": buyer})
        system.token.approve(system.registry, 2**256 - 1, {"from": provider})
        system.registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 5_000 * TOKEN, {"from": provider})
        terms = make_terms(buyer, chain[-1].timestamp, 1)
        system.market.post(terms.as_tuple(), {"from": buyer})
        system.market.matchJob(terms.as_tuple(), provider, price_of(terms), {"from": matchmaker})
        system.market.accept(terms.job_id, {"from": provider})
        system.market.submitResult(terms.job_id, b"\x11" * 32, {"from": provider})
        tx = system.market.confirm(terms.as_tuple(), {"from": buyer})
        price = quote(terms.resources, terms.duration_seconds, PRICES)
        assert tx.events["JobCompleted"]["protocolFee"] == price * 250 // 10_000
        assert system.market.creditOf(system.timelock) == price * 250 // 10_000


class TestFailures:
    def test_QuorumNotMet(self, system, delegated):
        h = delegated
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(200)))
        to_voting(system, proposal_id)
        system.governor.castVote(proposal_id, FOR, {"from": h["dolphin"]})  # 30M < 40M quorum
        to_end_of_vote(system, proposal_id)
        assert system.governor.state(proposal_id) == DEFEATED
        assert system.governor.quorum(system.governor.proposalSnapshot(proposal_id)) == 40_000_000 * TOKEN
        with reverts("GovernorUnexpectedProposalState", proposal_id, DEFEATED, expected_states(SUCCEEDED)):
            system.governor.queue(*args, {"from": h["dolphin"]})

    def test_VoteDefeated(self, system, delegated):
        h = delegated
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(200)))
        to_voting(system, proposal_id)
        system.governor.castVote(proposal_id, AGAINST, {"from": h["whale"]})
        system.governor.castVote(proposal_id, FOR, {"from": h["dolphin"]})
        to_end_of_vote(system, proposal_id)
        assert system.governor.state(proposal_id) == DEFEATED
        assert system.params.protocolFeeBps() == DEVNET.params.initial.protocol_fee_bps

    def test_RevertIf_ExecutedBeforeTheDelay(self, system, delegated):
        h = delegated
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(200)))
        pass_and_queue(system, [h["whale"]], proposal_id, args)
        chain.sleep(G.timelock_delay_seconds - 10)
        operation = operation_id(system, args)
        with reverts("TimelockUnexpectedOperationState", operation, expected_states(2)):
            system.governor.execute(*args, {"from": h["whale"]})

    def test_RevertIf_PassedValueIsOutOfBounds(self, system, delegated):
        h = delegated
        too_high = DEVNET.params.maxs.protocol_fee_bps + 1
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(too_high)))
        pass_and_queue(system, [h["whale"]], proposal_id, args)
        chain.sleep(G.timelock_delay_seconds)
        with reverts("ParameterOutOfBounds", 9, too_high, DEVNET.params.mins.protocol_fee_bps, DEVNET.params.maxs.protocol_fee_bps):
            system.governor.execute(*args, {"from": h["whale"]})
        assert system.governor.state(proposal_id) == QUEUED
        assert system.params.protocolFeeBps() == DEVNET.params.initial.protocol_fee_bps

    def test_RevertIf_ExecutedTwice(self, system, delegated):
        h = delegated
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(200)))
        pass_and_queue(system, [h["whale"]], proposal_id, args)
        chain.sleep(G.timelock_delay_seconds)
        system.governor.execute(*args, {"from": h["whale"]})
        with reverts("GovernorUnexpectedProposalState", proposal_id, EXECUTED, expected_states(SUCCEEDED, QUEUED)):
            system.governor.execute(*args, {"from": h["whale"]})


DAY = 86_400
# IGovernorSettingsBounds.Setting
VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, QUORUM_NUMERATOR = range(4)


def execute_passed(system, holders, *calls):
    """Proposes `calls`, passes and queues them, waits out the delay; returns the execute arguments."""
    proposal_id, args = propose(system, holders["minnow"], *calls)
    pass_and_queue(system, [holders["whale"]], proposal_id, args)
    chain.sleep(system.timelock.getMinDelay())
    return proposal_id, args


class TestGovernanceSettingsBounds:
    """The governor's own settings and the timelock's delay move only within the profile's bounds."""

    OUT_OF_BOUNDS = [
        ("setVotingDelay", VOTING_DELAY, G.voting_delay_bounds.min - 1, G.voting_delay_bounds),
        ("setVotingDelay", VOTING_DELAY, G.voting_delay_bounds.max + 1, G.voting_delay_bounds),
        ("setVotingPeriod", VOTING_PERIOD, G.voting_period_bounds.min - 1, G.voting_period_bounds),
        ("setVotingPeriod", VOTING_PERIOD, G.voting_period_bounds.max + 1, G.voting_period_bounds),
        ("setProposalThreshold", PROPOSAL_THRESHOLD, G.proposal_threshold_bounds.max + 1, G.proposal_threshold_bounds),
        ("updateQuorumNumerator", QUORUM_NUMERATOR, G.quorum_percent_bounds.min - 1, G.quorum_percent_bounds),
        ("updateQuorumNumerator", QUORUM_NUMERATOR, G.quorum_percent_bounds.max + 1, G.quorum_percent_bounds),
    ]

    def test_DevnetBoundsAreTheProfiles(self, system):
        assert G.proposal_threshold_bounds.min == 0  # so no threshold below the minimum exists on devnet
        for setting, bound in enumerate((G.voting_delay_bounds, G.voting_period_bounds, G.proposal_threshold_bounds,
                                         G.quorum_percent_bounds)):
            assert plain(system.governor.settingBounds(setting)) == bound.as_tuple()
        assert plain(system.timelock.delayBounds()) == G.timelock_delay_bounds.as_tuple()

    @pytest.mark.parametrize("setter, setting, value, bound", OUT_OF_BOUNDS,
                             ids=[f"{c[0]}({c[2]})" for c in OUT_OF_BOUNDS])
    def test_RevertIf_GovernorSettingOutOfBoundsAtExecute(self, system, delegated, setter, setting, value, bound):
        before = (system.governor.votingDelay(), system.governor.votingPeriod(), system.governor.proposalThreshold(),
                  system.governor.quorumNumerator())
        fn = getattr(system.governor, setter)
        proposal_id, args = execute_passed(system, delegated, (system.governor, fn.encode_input(value)))
        with reverts("GovernorSettingOutOfBounds", setting, value, bound.min, bound.max):
            system.governor.execute(*args, {"from": delegated["whale"]})
        assert system.governor.state(proposal_id) == QUEUED
        assert (system.governor.votingDelay(), system.governor.votingPeriod(), system.governor.proposalThreshold(),
                system.governor.quorumNumerator()) == before

    @pytest.mark.parametrize("value", [G.timelock_delay_bounds.min - 1, G.timelock_delay_bounds.max + 1])
    def test_RevertIf_TimelockDelayOutOfBoundsAtExecute(self, system, delegated, value):
        bound = G.timelock_delay_bounds
        proposal_id, args = execute_passed(system, delegated,
                                           (system.timelock, system.timelock.updateDelay.encode_input(value)))
        with reverts("TimelockDelayOutOfBounds", value, bound.min, bound.max):
            system.governor.execute(*args, {"from": delegated["whale"]})
        assert system.governor.state(proposal_id) == QUEUED
        assert system.timelock.getMinDelay() == G.timelock_delay_seconds

    def test_EverySettingMovesToItsUpperOrLowerEdge(self, system, delegated):
        g, t = system.governor, system.timelock
        calls = [
            (g, g.setVotingDelay.encode_input(G.voting_delay_bounds.max)),
            (g, g.setVotingPeriod.encode_input(G.voting_period_bounds.min)),
            (g, g.setProposalThreshold.encode_input(G.proposal_threshold_bounds.max)),
            (g, g.updateQuorumNumerator.encode_input(G.quorum_percent_bounds.min)),
            (t, t.updateDelay.encode_input(G.timelock_delay_bounds.max)),
        ]
        proposal_id, args = execute_passed(system, delegated, *calls)
        tx = g.execute(*args, {"from": delegated["whale"]})
        assert g.state(proposal_id) == EXECUTED
        assert (g.votingDelay(), g.votingPeriod(), g.proposalThreshold(), g.quorumNumerator(), t.getMinDelay()) == (
            G.voting_delay_bounds.max, G.voting_period_bounds.min, G.proposal_threshold_bounds.max,
            G.quorum_percent_bounds.min, G.timelock_delay_bounds.max)
        e = tx.events
        assert (e["VotingDelaySet"]["oldVotingDelay"], e["VotingDelaySet"]["newVotingDelay"]) == (
            G.voting_delay_seconds, G.voting_delay_bounds.max)
        assert (e["VotingPeriodSet"]["oldVotingPeriod"], e["VotingPeriodSet"]["newVotingPeriod"]) == (
            G.voting_period_seconds, G.voting_period_bounds.min)
        assert (e["ProposalThresholdSet"]["oldProposalThreshold"], e["ProposalThresholdSet"]["newProposalThreshold"]) == (
            G.proposal_threshold, G.proposal_threshold_bounds.max)
        assert (e["QuorumNumeratorUpdated"]["oldQuorumNumerator"], e["QuorumNumeratorUpdated"]["newQuorumNumerator"]) == (
            G.quorum_percent, G.quorum_percent_bounds.min)
        assert (e["MinDelayChange"]["oldDuration"], e["MinDelayChange"]["newDuration"]) == (
            G.timelock_delay_seconds, G.timelock_delay_bounds.max)

        # The next proposal runs on the new settings, the timelock's new delay included.
        tx = g.propose([system.params], [0], [system.params.setProtocolFeeBps.encode_input(3)], "next",
                       {"from": delegated["whale"]})
        next_id = tx.return_value
        assert g.proposalSnapshot(next_id) == tx.timestamp + G.voting_delay_bounds.max
        to_voting(system, next_id)
        g.castVote(next_id, FOR, {"from": delegated["dolphin"]})  # 30M of the 1% (10M) quorum
        to_end_of_vote(system, next_id)
        queued = g.queue([system.params], [0], [system.params.setProtocolFeeBps.encode_input(3)], keccak(text="next"),
                         {"from": delegated["dolphin"]})
        assert g.proposalEta(next_id) == queued.timestamp + G.timelock_delay_bounds.max

    def test_EverySettingMovesToItsOtherEdge(self, system, delegated):
        g, t = system.governor, system.timelock
        calls = [
            (g, g.setVotingDelay.encode_input(G.voting_delay_bounds.min)),
            (g, g.setVotingPeriod.encode_input(G.voting_period_bounds.max)),
            (g, g.setProposalThreshold.encode_input(G.proposal_threshold_bounds.min)),
            (g, g.updateQuorumNumerator.encode_input(G.quorum_percent_bounds.max)),
            (t, t.updateDelay.encode_input(G.timelock_delay_bounds.min)),
        ]
        proposal_id, args = execute_passed(system, delegated, *calls)
        g.execute(*args, {"from": delegated["whale"]})
        assert g.state(proposal_id) == EXECUTED
        assert (g.votingDelay(), g.votingPeriod(), g.proposalThreshold(), g.quorumNumerator(), t.getMinDelay()) == (
            G.voting_delay_bounds.min, G.voting_period_bounds.max, G.proposal_threshold_bounds.min,
            G.quorum_percent_bounds.max, G.timelock_delay_bounds.min)


class TestVotesAtSnapshot:
    def test_TokensBoughtAfterTheSnapshotDoNotCount(self, system, delegated, accounts):
        h = delegated
        latecomer = accounts[18]
        proposal_id, args = propose(system, h["minnow"], (system.params, system.params.setProtocolFeeBps.encode_input(200)))
        to_voting(system, proposal_id)
        # A flash loan in effect: the whale's tokens move to a fresh account that delegates
        # and votes, all after the snapshot.
        system.token.transfer(latecomer, 60_000_000 * TOKEN, {"from": h["whale"]})
        system.token.delegate(latecomer, {"from": latecomer})
        assert system.token.getVotes(latecomer) == 60_000_000 * TOKEN
        tx = system.governor.castVote(proposal_id, FOR, {"from": latecomer})
        assert tx.events["VoteCast"]["weight"] == 0
        # The whale still votes with what it held at the snapshot.
        system.governor.castVote(proposal_id, AGAINST, {"from": h["whale"]})
        assert plain(system.governor.proposalVotes(proposal_id)) == (60_000_000 * TOKEN, 0, 0)
        to_end_of_vote(system, proposal_id)
        assert system.governor.state(proposal_id) == DEFEATED

    def test_SnapshotIsTakenAfterTheVotingDelay(self, system, delegated):
        h = delegated
        tx = system.governor.propose([system.params], [0], [system.params.setProtocolFeeBps.encode_input(1)], "x",
                                     {"from": h["minnow"]})
        assert system.governor.proposalSnapshot(tx.return_value) == tx.timestamp + G.voting_delay_seconds


class TestNoPowerOutsideTheTimelock:
    """Every privileged function of every contract refuses the deployer and any other account."""

    @pytest.fixture
    def outsiders(self, accounts, holders):
        return [accounts[0], accounts[19], holders["whale"]]

    def test_DeployerHoldsNoTokensAndNoRoles(self, system, accounts):
        deployer = accounts[0]
        assert system.token.balanceOf(deployer) == 0
        for role in ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE"):
            assert not system.timelock.hasRole(getattr(system.timelock, role)(), deployer), role
        assert system.timelock.hasRole(system.timelock.PROPOSER_ROLE(), system.governor)
        assert system.timelock.hasRole(system.timelock.CANCELLER_ROLE(), system.governor)
        assert system.timelock.hasRole(system.timelock.EXECUTOR_ROLE(), ZERO)  # anyone executes
        assert system.timelock.hasRole(system.timelock.DEFAULT_ADMIN_ROLE(), system.timelock)  # self-administered
        assert system.params.governance() == system.timelock
        assert system.market.treasury() == system.timelock
        assert system.governor.timelock() == system.timelock
        assert system.params.arbiter() != deployer

    def test_ParamSettersRefuseEveryoneButTheTimelock(self, system, outsiders):
        setters = [f["name"] for f in system.params.abi
                   if f["type"] == "function" and f["stateMutability"] == "nonpayable"]
        assert all(name.startswith("set") for name in setters) and len(setters) == 15
        for who in outsiders:
            for name in setters:
                arg = who if name == "setArbiter" else 1
                with reverts("NotGovernance", who):
                    getattr(system.params, name)(arg, {"from": who})

    def test_GovernorSettingsRefuseEveryoneButTheTimelock(self, system, outsiders):
        g = system.governor
        for who in outsiders:
            for fn, arg in ((g.setVotingDelay, 1), (g.setVotingPeriod, 100), (g.setProposalThreshold, 0),
                            (g.updateQuorumNumerator, 1), (g.updateTimelock, who)):
                with reverts("GovernorOnlyExecutor", who):
                    fn(arg, {"from": who})
            with reverts("GovernorOnlyExecutor", who):
                g.relay(system.params, 0, system.params.setProtocolFeeBps.encode_input(0), {"from": who})

    def test_TimelockRefusesEveryoneButItselfAndTheGovernor(self, system, outsiders):
        t = system.timelock
        for who in outsiders:
            with reverts("AccessControlUnauthorizedAccount", who, t.PROPOSER_ROLE()):
                t.schedule(system.params, 0, system.params.setProtocolFeeBps.encode_input(0), bytes(32), bytes(32),
                           G.timelock_delay_seconds, {"from": who})
            with reverts("AccessControlUnauthorizedAccount", who, t.CANCELLER_ROLE()):
                t.cancel(bytes(32), {"from": who})
            with reverts("AccessControlUnauthorizedAccount", who, t.DEFAULT_ADMIN_ROLE()):
                t.grantRole(t.PROPOSER_ROLE(), who, {"from": who})
            with reverts("TimelockUnauthorizedCaller", who):
                t.updateDelay(0, {"from": who})

    def test_MarketAndRegistryPrivilegesRefuseOutsiders(self, system, outsiders, holders, accounts):
        buyer, provider = holders["buyer"], holders["provider"]
        system.token.approve(system.market, 2**256 - 1, {"from": buyer})
        system.token.approve(system.registry, 2**256 - 1, {"from": provider})
        system.registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), ENDPOINT, 5_000 * TOKEN, {"from": provider})
        terms = make_terms(buyer, chain[-1].timestamp, 7)
        system.market.post(terms.as_tuple(), {"from": buyer})
        system.market.take(terms.as_tuple(), price_of(terms), {"from": provider})
        system.market.submitResult(terms.job_id, b"\x11" * 32, {"from": provider})
        system.market.dispute(terms.as_tuple(), {"from": buyer})
        arbiter = system.params.arbiter()
        for who in outsiders + [buyer, provider]:
            with reverts("NotArbiter", who, arbiter):
                system.market.resolveDispute(terms.as_tuple(), False, {"from": who})
            with reverts("NotMarket", who):
                system.registry.release(who, CAPACITY.as_tuple(), 0, True, {"from": who})
            with reverts("NotMarket", who):
                system.registry.reserve(who, CAPACITY.as_tuple(), 1, 0, 0, 0, {"from": who})
            with reverts("NotMarket", who):
                system.registry.slash(who, CAPACITY.as_tuple(), 0, 0, 0, {"from": who})
        system.market.resolveDispute(terms.as_tuple(), False, {"from": accounts[10]})

    def test_TokenHasNoPrivilegedFunction(self, system):
        names = {f["name"] for f in system.token.abi if f["type"] == "function"}
        assert not names & {"mint", "burn", "pause", "owner", "transferOwnership", "grantRole", "setClock"}
