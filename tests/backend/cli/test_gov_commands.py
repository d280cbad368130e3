"""`agora gov`: a parameter change from delegation to execution, each step through the CLI;
proposals outside the rules are refused before anything is sent."""

from __future__ import annotations

import brownie
from clikit import TOKEN, nonce

from agora.market.protocol import DEVNET


def to(timestamp: int) -> None:
    """Moves the chain's clock past `timestamp` and mines."""
    brownie.chain.sleep(max(0, timestamp - brownie.chain[-1].timestamp) + 1)
    brownie.chain.mine()


def test_AParameterChangeGoesFromProposalToExecution(agora, person, system, accounts, contracts):
    system.token.transfer(person.address, 50_000_000 * TOKEN, {"from": accounts[1]})  # above the 4% quorum
    delegated = agora("gov", "delegate")
    assert delegated.code == 0, delegated.err
    assert delegated.out == (f"{person.address} delegated its votes to {person.address}, whose voting power is now "
                             f"50,001,000.0000 tokens\n")
    brownie.chain.mine()

    proposed = agora("gov", "propose", "--set", "collateral_ratio_bps=200%", "--set", "dispute_bond=12.5",
                     "--set", "challenge_window_seconds=45", "--description", "Safer collateral", "--json")
    assert proposed.code == 0, proposed.err
    made = proposed.json()
    proposal_id = made["proposal_id"]
    assert made["changes"] == [
        {"parameter": "collateral_ratio_bps", "old": 15_000, "new": 20_000},
        {"parameter": "dispute_bond", "old": str(10 * TOKEN), "new": str(12_500_000_000_000_000_000)},
        {"parameter": "challenge_window_seconds", "old": 30, "new": 45}]
    assert made["targets"] == [contracts.params.address] * 3
    assert int(proposal_id) == contracts.governor.functions.hashProposal(
        made["targets"], [0, 0, 0], [bytes.fromhex(c[2:]) for c in made["calldatas"]],
        brownie.web3.keccak(text="Safer collateral")).call()

    pending = agora("gov", "status", proposal_id, "--json").json()
    assert pending["state"] == "Pending" and pending["description"] == "Safer collateral"
    assert pending["calls"] == ["ProtocolParams.setCollateralRatioBps(20000)",
                                "ProtocolParams.setDisputeBond(12500000000000000000)",
                                "ProtocolParams.setChallengeWindowSeconds(45)"]
    early = agora("gov", "vote", proposal_id, "for")
    assert early.code == 1
    assert early.line.startswith(f"agora: proposal {proposal_id} is Pending; castVote needs it Active "
                                 f"(GovernorUnexpectedProposalState(")

    to(pending["snapshot"])
    voted = agora("gov", "vote", proposal_id, "FOR", "--reason", "collateral should cover twice the price")
    assert voted.code == 0, voted.err
    assert voted.out == f"voted for on proposal {proposal_id} with 50,001,000.0000 votes\n"
    active = agora("gov", "status", proposal_id, "--json").json()
    assert active["state"] == "Active"
    assert active["votes"] == {"for_wei": str(50_001_000 * TOKEN), "against_wei": "0", "abstain_wei": "0"}
    assert active["quorum_wei"] == str(40_000_000 * TOKEN)
    assert agora("gov", "vote", proposal_id, "against").line == (
        f"agora: GovernorAlreadyCastVote(voter={person.address})")

    to(active["deadline"])
    queued = agora("gov", "queue", proposal_id, "--json")
    assert queued.code == 0, queued.err
    eta = queued.json()["eta"]
    assert eta == brownie.chain[-1].timestamp + 60  # the devnet's timelock delay
    too_early = agora("gov", "execute", proposal_id)
    assert too_early.code == 1
    assert too_early.line.startswith(f"agora: proposal {proposal_id} is queued; the timelock lets it execute from ")
    assert too_early.line.endswith(": try again then")

    to(eta)
    executed = agora("gov", "execute", proposal_id)
    assert executed.code == 0, executed.err
    assert executed.out.startswith(f"proposal {proposal_id} executed: ProtocolParams.setCollateralRatioBps(20000); ")
    assert agora("gov", "status", proposal_id, "--json").json()["state"] == "Executed"

    params = agora("gov", "params", "--json").json()
    assert params["version"] == contracts.params.functions.version().call() == 4  # one version per change
    assert params["parameters"]["collateral_ratio_bps"] == {"value": 20_000, "min": 0, "max": 50_000, "unit": "bps"}
    assert params["parameters"]["dispute_bond"] == {"value": "12500000000000000000", "min": "0",
                                                    "max": str(1_000_000 * TOKEN), "unit": "wei"}
    assert params["parameters"]["challenge_window_seconds"]["value"] == 45
    assert params["parameters"]["arbiter"] == {"value": str(accounts[9].address), "unit": "address"}
    table = agora("gov", "params").out
    assert "protocol parameters (version 4)" in table
    assert "│ collateral_ratio_bps       │ 20000 bps (200%)" in table
    assert "│ dispute_bond               │ 12.5 tokens" in table

    every = agora("gov", "status", "--json").json()["proposals"]
    assert [p["proposal_id"] for p in every] == [proposal_id]


def test_ParamsShowEveryParameterWithItsBounds(agora, system):
    data = agora("gov", "params", "--json").json()
    assert data["version"] == 1
    for name, value, low, high in zip(
            ("min_provider_stake", "unbonding_period_seconds", "accept_window_seconds", "challenge_window_seconds",
             "collateral_ratio_bps", "missed_deadline_slash_bps", "fault_slash_bps", "buyer_share_bps",
             "reporter_share_bps", "protocol_fee_bps", "matchmaker_fee_bps", "dispute_bond", "min_job_collateral",
             "arbitration_window_seconds"),
            DEVNET.initial.as_tuple(), DEVNET.mins.as_tuple(), DEVNET.maxs.as_tuple(), strict=True):
        entry = data["parameters"][name]
        as_json = str if entry["unit"] == "wei" else int
        assert (entry["value"], entry["min"], entry["max"]) == (as_json(value), as_json(low), as_json(high)), name
    assert data["governance"]["voting_delay_seconds"] == {"value": 1, "min": 1, "max": 7 * 86_400, "unit": "seconds"}
    assert data["governance"]["timelock_delay_seconds"]["value"] == 60
    assert data["governance"]["quorum_percent"]["value"] == 4


def test_ProposeRefusesWhatWouldFailBeforeSending(agora, person, system):
    sent = nonce(person.address)
    names = ("min_provider_stake, unbonding_period_seconds, accept_window_seconds, challenge_window_seconds, "
             "collateral_ratio_bps, missed_deadline_slash_bps, fault_slash_bps, buyer_share_bps, reporter_share_bps, "
             "protocol_fee_bps, matchmaker_fee_bps, dispute_bond, min_job_collateral, arbitration_window_seconds, "
             "arbiter")
    cases = [
        ("collateral_ratio=2", f"agora: no parameter is named 'collateral_ratio': the parameters are {names}"),
        ("collateral_ratio_bps=60000", "agora: collateral_ratio_bps = 60000 bps (600%) is outside its bounds, 0 bps "
                                       "(0%) to 50000 bps (500%), fixed at deployment: the proposal would pass its "
                                       "vote and fail at execution (ParameterOutOfBounds); choose a value within "
                                       "them"),
        ("min_job_collateral=0.5", "agora: min_job_collateral = 0.5 tokens is outside its bounds, 1 token to "
                                   "1,000,000 tokens, fixed at deployment: the proposal would pass its vote and fail "
                                   "at execution (ParameterOutOfBounds); choose a value within them"),
        ("challenge_window_seconds=2h", "agora: the unbonding period (60 s) would be shorter than the challenge "
                                        "window (7200 s), which ProtocolParams refuses "
                                        "(UnbondingPeriodBelowChallengeWindow): lengthen the unbonding period first "
                                        "(earlier in the same proposal)"),
        ("reporter_share_bps=2500", "agora: the buyer's share (8000 bps) and the reporter's (2500 bps) would exceed "
                                    "the whole slash (10000 bps), which ProtocolParams refuses "
                                    "(SlashSharesExceedWhole): lower the other share first (earlier in the same "
                                    "proposal)"),
        ("arbiter=0x0000000000000000000000000000000000000000", "agora: arbiter 0x0000000000000000000000000000000000000000"
                                                              " would leave disputes with nobody to judge them: "
                                                              "ProtocolParams refuses it (ZeroArbiter); name an "
                                                              "account"),
        ("protocol_fee_bps=1.5", "agora: protocol_fee_bps '1.5' is not a whole number of basis points (15000, or "
                                 "150%; 1 bps = 0.01%)"),
        ("dispute_bond", "agora: --set 'dispute_bond' is not NAME=VALUE (for example --set collateral_ratio_bps=20000)"),
    ]
    for setting, says in cases:
        ran = agora("gov", "propose", "--set", setting, "--description", "x")
        assert (ran.code, ran.out) == (1, ""), setting
        assert ran.line == says, setting
    twice = agora("gov", "propose", "--set", "protocol_fee_bps=200", "--set", "protocol_fee_bps=300",
                  "--description", "x")
    assert twice.line == "agora: protocol_fee_bps is set twice: set each parameter once per proposal"
    # In order, one change may make room for the next.
    assert agora("gov", "propose", "--set", "unbonding_period_seconds=3h", "--set", "challenge_window_seconds=2h",
                 "--description", "longer windows").code == 0
    assert nonce(person.address) == sent + 1
    assert agora("gov", "status").out.count("longer windows") == 1
    same = agora("gov", "propose", "--set", "unbonding_period_seconds=10800", "--set", "challenge_window_seconds=7200",
                 "--description", "longer windows")
    assert same.code == 1
    assert same.line.startswith("agora: proposal ") and " exists already (Pending): the same changes with the same " \
        "description; change the description to propose them again (GovernorUnexpectedProposalState(" in same.line
    assert nonce(person.address) == sent + 1


def test_StatusWithoutProposalsAndAnUnknownProposal(agora, system):
    assert agora("gov", "status").out == "no proposals yet (make one with `agora gov propose`)\n"
    ran = agora("gov", "status", "12345")
    assert ran.code == 1
    assert ran.line.startswith("agora: no proposal 12345 was made on the governor at ")
    assert agora("gov", "queue", "not-a-number").line == (
        "agora: 'not-a-number' is not a proposal id (a decimal number, as `agora gov status` prints it)")
