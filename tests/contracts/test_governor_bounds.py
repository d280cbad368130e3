"""AgoraGovernor's and AgoraTimelock's deployment-fixed bounds: construction checks and views.

Changes through governance (in bounds, out of bounds) are in test_governance.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from agora.market.protocol import PROFILES, Range
from conftest import SUPPLY
from marketkit import plain, reverts

G = PROFILES["mainnet"].governance
DAY = 86_400
ZERO = "0x" + "0" * 40
# IGovernorSettingsBounds.Setting
VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD, QUORUM_NUMERATOR = range(4)
# The ceilings written in GovernorSettingsBounds and AgoraTimelock.
CEILINGS = {VOTING_DELAY: 30 * DAY, VOTING_PERIOD: 90 * DAY, PROPOSAL_THRESHOLD: SUPPLY, QUORUM_NUMERATOR: 100}
TIMELOCK_CEILING = 90 * DAY
# Setting -> (GovernanceSettings field of the starting value, field of its bounds)
FIELDS = {
    VOTING_DELAY: ("voting_delay_seconds", "voting_delay_bounds"),
    VOTING_PERIOD: ("voting_period_seconds", "voting_period_bounds"),
    PROPOSAL_THRESHOLD: ("proposal_threshold", "proposal_threshold_bounds"),
    QUORUM_NUMERATOR: ("quorum_percent", "quorum_percent_bounds"),
}


@pytest.fixture(scope="module")
def timelock(AgoraTimelock, deployer):
    return AgoraTimelock.deploy(G.timelock_delay_seconds, *G.timelock_delay_bounds.as_tuple(), [], [ZERO], deployer,
                                {"from": deployer})


def deploy_governor(AgoraGovernor, token, timelock, deployer, g=G):
    return AgoraGovernor.deploy(token, timelock, g.voting_delay_seconds, g.voting_period_seconds, g.proposal_threshold,
                                g.quorum_percent, g.governor_bounds(), {"from": deployer})


class TestGovernorConstructor:
    def test_BoundsAreReadable(self, AgoraGovernor, token, timelock, deployer):
        governor = deploy_governor(AgoraGovernor, token, timelock, deployer)
        for setting, (_, bounds) in FIELDS.items():
            assert plain(governor.settingBounds(setting)) == getattr(G, bounds).as_tuple()
        assert (governor.votingDelay(), governor.votingPeriod(), governor.proposalThreshold(), governor.quorumNumerator()) \
            == (G.voting_delay_seconds, G.voting_period_seconds, G.proposal_threshold, G.quorum_percent)

    def test_BoundsMayReachTheCeilings(self, AgoraGovernor, token, timelock, deployer):
        g = dataclasses.replace(G, **{FIELDS[s][1]: Range(0 if s != VOTING_PERIOD else 1, c) for s, c in CEILINGS.items()})
        governor = deploy_governor(AgoraGovernor, token, timelock, deployer, g)
        assert plain(governor.settingBounds(PROPOSAL_THRESHOLD)) == (0, SUPPLY)

    @pytest.mark.parametrize("setting", list(FIELDS))
    def test_RevertIf_MaxAboveCeiling(self, AgoraGovernor, token, timelock, deployer, setting):
        field = FIELDS[setting][1]
        low = getattr(G, field).min
        g = dataclasses.replace(G, **{field: Range(low, CEILINGS[setting] + 1)})
        with reverts("InvalidGovernorSettingBounds", setting, low, CEILINGS[setting] + 1, CEILINGS[setting]):
            deploy_governor(AgoraGovernor, token, timelock, deployer, g)

    @pytest.mark.parametrize("setting", list(FIELDS))
    def test_RevertIf_BoundsInverted(self, AgoraGovernor, token, timelock, deployer, setting):
        field = FIELDS[setting][1]
        high = getattr(G, field).max
        g = dataclasses.replace(G, **{field: Range(high + 1, high)})
        with reverts("InvalidGovernorSettingBounds", setting, high + 1, high, CEILINGS[setting]):
            deploy_governor(AgoraGovernor, token, timelock, deployer, g)

    @pytest.mark.parametrize("setting", list(FIELDS))
    def test_RevertIf_StartingValueAboveMax(self, AgoraGovernor, token, timelock, deployer, setting):
        value_field, bounds_field = FIELDS[setting]
        bound = getattr(G, bounds_field)
        g = dataclasses.replace(G, **{value_field: bound.max + 1})
        with reverts("GovernorSettingOutOfBounds", setting, bound.max + 1, bound.min, bound.max):
            deploy_governor(AgoraGovernor, token, timelock, deployer, g)

    @pytest.mark.parametrize("setting", list(FIELDS))
    def test_RevertIf_StartingValueBelowMin(self, AgoraGovernor, token, timelock, deployer, setting):
        value_field, bounds_field = FIELDS[setting]
        bound = Range(10, getattr(G, bounds_field).max)  # the threshold's minimum is 0: raise every minimum to 10
        g = dataclasses.replace(G, **{value_field: 9, bounds_field: bound})
        with reverts("GovernorSettingOutOfBounds", setting, 9, bound.min, bound.max):
            deploy_governor(AgoraGovernor, token, timelock, deployer, g)


class TestTimelockConstructor:
    def test_BoundsAndDelayAreReadable(self, timelock):
        assert plain(timelock.delayBounds()) == G.timelock_delay_bounds.as_tuple()
        assert timelock.getMinDelay() == G.timelock_delay_seconds

    def test_StartingDelayIsEmittedAsAChange(self, AgoraTimelock, deployer):
        timelock = AgoraTimelock.deploy(5, 1, 10, [], [ZERO], deployer, {"from": deployer})
        assert timelock.tx.events["MinDelayChange"]["oldDuration"] == 0
        assert timelock.tx.events["MinDelayChange"]["newDuration"] == 5

    def test_BoundsMayReachTheCeiling(self, AgoraTimelock, deployer):
        timelock = AgoraTimelock.deploy(TIMELOCK_CEILING, 0, TIMELOCK_CEILING, [], [ZERO], deployer, {"from": deployer})
        assert plain(timelock.delayBounds()) == (0, TIMELOCK_CEILING)

    def test_RevertIf_MaxAboveCeiling(self, AgoraTimelock, deployer):
        with reverts("InvalidTimelockDelayBounds", DAY, TIMELOCK_CEILING + 1, TIMELOCK_CEILING):
            AgoraTimelock.deploy(2 * DAY, DAY, TIMELOCK_CEILING + 1, [], [ZERO], deployer, {"from": deployer})

    def test_RevertIf_BoundsInverted(self, AgoraTimelock, deployer):
        with reverts("InvalidTimelockDelayBounds", 3 * DAY, 2 * DAY, TIMELOCK_CEILING):
            AgoraTimelock.deploy(2 * DAY, 3 * DAY, 2 * DAY, [], [ZERO], deployer, {"from": deployer})

    @pytest.mark.parametrize("delay", [DAY - 1, 30 * DAY + 1])
    def test_RevertIf_StartingDelayOutOfBounds(self, AgoraTimelock, deployer, delay):
        with reverts("TimelockDelayOutOfBounds", delay, DAY, 30 * DAY):
            AgoraTimelock.deploy(delay, DAY, 30 * DAY, [], [ZERO], deployer, {"from": deployer})
