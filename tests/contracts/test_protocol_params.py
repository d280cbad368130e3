"""ProtocolParams: bounded, governance-only parameters whose changes carry old and new values."""

import brownie
import pytest

from agora.chain.protocol import PUBLIC, TOKEN
from marketkit import plain, reverts

ZERO = "0x0000000000000000000000000000000000000000"

# (setter, getter, event, enum index in IProtocolParams.Parameter, field of ParamValues)
PARAMETERS = [
    ("setMinProviderStake", "minProviderStake", "MinProviderStakeSet", 0, "min_provider_stake"),
    ("setUnbondingPeriodSeconds", "unbondingPeriodSeconds", "UnbondingPeriodSecondsSet", 1, "unbonding_period_seconds"),
    ("setAcceptWindowSeconds", "acceptWindowSeconds", "AcceptWindowSecondsSet", 2, "accept_window_seconds"),
    ("setChallengeWindowSeconds", "challengeWindowSeconds", "ChallengeWindowSecondsSet", 3, "challenge_window_seconds"),
    ("setCollateralRatioBps", "collateralRatioBps", "CollateralRatioBpsSet", 4, "collateral_ratio_bps"),
    ("setMissedDeadlineSlashBps", "missedDeadlineSlashBps", "MissedDeadlineSlashBpsSet", 5, "missed_deadline_slash_bps"),
    ("setFaultSlashBps", "faultSlashBps", "FaultSlashBpsSet", 6, "fault_slash_bps"),
    ("setBuyerShareBps", "buyerShareBps", "BuyerShareBpsSet", 7, "buyer_share_bps"),
    ("setReporterShareBps", "reporterShareBps", "ReporterShareBpsSet", 8, "reporter_share_bps"),
    ("setProtocolFeeBps", "protocolFeeBps", "ProtocolFeeBpsSet", 9, "protocol_fee_bps"),
    ("setMatchmakerFeeBps", "matchmakerFeeBps", "MatchmakerFeeBpsSet", 10, "matchmaker_fee_bps"),
    ("setDisputeBond", "disputeBond", "DisputeBondSet", 11, "dispute_bond"),
]
IDS = [p[1] for p in PARAMETERS]


def deploy(ProtocolParams, deployer, governance, arbiter, mins=PUBLIC.mins, maxs=PUBLIC.maxs, initial=PUBLIC.initial):
    return ProtocolParams.deploy(
        governance, mins.as_tuple(), maxs.as_tuple(), initial.as_tuple(), arbiter, {"from": deployer}
    )


class TestConstructor:
    def test_StoresGovernanceValuesBoundsAndArbiter(self, params, governance, arbiter):
        assert params.governance() == governance
        assert params.treasury() == governance
        assert params.arbiter() == arbiter
        for _setter, getter, _event, index, field in PARAMETERS:
            assert getattr(params, getter)() == getattr(PUBLIC.initial, field)
            assert plain(params.bounds(index)) == (getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field))

    def test_EmitsEveryStartingValueFromZero(self, params):
        events = params.tx.events
        for _setter, getter, event, _index, field in PARAMETERS:
            assert plain(events[event].values()) == (0, getattr(PUBLIC.initial, field)), getter
        assert plain(events["ArbiterSet"].values()) == (ZERO, params.arbiter())

    def test_PacksHotParametersIntoViews(self, params):
        i = PUBLIC.initial
        assert plain(params.marketParams()) == (
            i.min_provider_stake, i.accept_window_seconds, i.challenge_window_seconds, i.unbonding_period_seconds,
            i.collateral_ratio_bps, i.protocol_fee_bps, i.matchmaker_fee_bps, i.missed_deadline_slash_bps,
        )
        assert plain(params.slashParams()) == (i.fault_slash_bps, i.buyer_share_bps, i.reporter_share_bps, i.dispute_bond)

    def test_RevertIf_GovernanceIsZero(self, ProtocolParams, deployer, arbiter):
        with reverts("ZeroGovernance"):
            deploy(ProtocolParams, deployer, ZERO, arbiter)

    @pytest.mark.parametrize("index,field", [(p[3], p[4]) for p in PARAMETERS], ids=IDS)
    def test_RevertIf_BoundsInverted(self, ProtocolParams, deployer, governance, arbiter, index, field):
        low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
        mins = PUBLIC.mins.__class__(**{**PUBLIC.mins.__dict__, field: high + 1})
        ceiling = {0: 2**96 - 1, 11: 2**96 - 1, 1: 2**32 - 1, 2: 2**32 - 1, 3: 2**32 - 1, 4: 50_000, 9: 5_000, 10: 5_000}
        with reverts("InvalidBounds", index, high + 1, high, ceiling.get(index, 10_000)):
            deploy(ProtocolParams, deployer, governance, arbiter, mins=mins)
        assert low <= high

    @pytest.mark.parametrize(
        "field,index,ceiling",
        [
            ("collateral_ratio_bps", 4, 50_000),
            ("buyer_share_bps", 7, 10_000),
            ("protocol_fee_bps", 9, 5_000),
            ("matchmaker_fee_bps", 10, 5_000),
            ("dispute_bond", 11, 2**96 - 1),
        ],
    )
    def test_RevertIf_BoundAboveCodeCeiling(self, ProtocolParams, deployer, governance, arbiter, field, index, ceiling):
        maxs = PUBLIC.maxs.__class__(**{**PUBLIC.maxs.__dict__, field: ceiling + 1})
        with reverts("InvalidBounds", index, getattr(PUBLIC.mins, field), ceiling + 1, ceiling):
            deploy(ProtocolParams, deployer, governance, arbiter, maxs=maxs)

    def test_RevertIf_InitialValueOutOfBounds(self, ProtocolParams, deployer, governance, arbiter):
        initial = PUBLIC.initial.__class__(**{**PUBLIC.initial.__dict__, "protocol_fee_bps": 1_001})
        with reverts("ParameterOutOfBounds", 9, 1_001, 0, 1_000):
            deploy(ProtocolParams, deployer, governance, arbiter, initial=initial)

    def test_RevertIf_InitialUnbondingBelowChallengeWindow(self, ProtocolParams, deployer, governance, arbiter):
        initial = PUBLIC.initial.__class__(
            **{**PUBLIC.initial.__dict__, "unbonding_period_seconds": 2 * 86_400, "challenge_window_seconds": 3 * 86_400}
        )
        with reverts("UnbondingPeriodBelowChallengeWindow", 2 * 86_400, 3 * 86_400):
            deploy(ProtocolParams, deployer, governance, arbiter, initial=initial)

    def test_RevertIf_InitialSlashSharesExceedWhole(self, ProtocolParams, deployer, governance, arbiter):
        initial = PUBLIC.initial.__class__(**{**PUBLIC.initial.__dict__, "buyer_share_bps": 9_600, "reporter_share_bps": 500})
        with reverts("SlashSharesExceedWhole", 9_600, 500):
            deploy(ProtocolParams, deployer, governance, arbiter, initial=initial)


@pytest.mark.parametrize("setter,getter,event,index,field", PARAMETERS, ids=IDS)
class TestSetters:
    def test_SetsValueAndEmitsOldAndNew(self, params, governance, setter, getter, event, index, field):
        low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
        old = getattr(params, getter)()
        # A value the cross-checks accept: the challenge window must stay below the
        # unbonding period, and the two slash shares together below 100%.
        new = {
            "challengeWindowSeconds": 2 * 86_400,
            "unbondingPeriodSeconds": 30 * 86_400,
            "buyerShareBps": 9_000,
            "reporterShareBps": 1_000,
        }.get(getter, (low + high) // 2)
        tx = getattr(params, setter)(new, {"from": governance})
        assert getattr(params, getter)() == new
        assert plain(tx.events[event].values()) == (old, new)

    def test_AcceptsBothBounds(self, params, governance, setter, getter, event, index, field):
        if getter in ("challengeWindowSeconds", "buyerShareBps", "reporterShareBps"):
            params.setUnbondingPeriodSeconds(PUBLIC.maxs.unbonding_period_seconds, {"from": governance})
            params.setReporterShareBps(0, {"from": governance})
            params.setBuyerShareBps(0, {"from": governance})
        if getter == "unbondingPeriodSeconds":
            params.setChallengeWindowSeconds(PUBLIC.mins.challenge_window_seconds, {"from": governance})
        for value in (getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)):
            getattr(params, setter)(value, {"from": governance})
            assert getattr(params, getter)() == value

    def test_RevertIf_NotGovernance(self, params, deployer, stranger, setter, getter, event, index, field):
        for caller in (deployer, stranger):
            with reverts("NotGovernance", caller):
                getattr(params, setter)(getattr(PUBLIC.initial, field), {"from": caller})

    def test_RevertIf_AboveMax(self, params, governance, setter, getter, event, index, field):
        low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
        with reverts("ParameterOutOfBounds", index, high + 1, low, high):
            getattr(params, setter)(high + 1, {"from": governance})

    def test_RevertIf_FarAboveFieldWidth(self, params, governance, setter, getter, event, index, field):
        low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
        with reverts("ParameterOutOfBounds", index, 2**256 - 1, low, high):
            getattr(params, setter)(2**256 - 1, {"from": governance})

WITH_NONZERO_MIN = [p for p in PARAMETERS if getattr(PUBLIC.mins, p[4]) > 0]


@pytest.mark.parametrize("setter,getter,event,index,field", WITH_NONZERO_MIN, ids=[p[1] for p in WITH_NONZERO_MIN])
def test_RevertIf_BelowMin(params, governance, setter, getter, event, index, field):
    low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
    with reverts("ParameterOutOfBounds", index, low - 1, low, high):
        getattr(params, setter)(low - 1, {"from": governance})


class TestCrossChecks:
    def test_RevertIf_UnbondingSetBelowChallengeWindow(self, params, governance):
        params.setChallengeWindowSeconds(5 * 86_400, {"from": governance})
        with reverts("UnbondingPeriodBelowChallengeWindow", 4 * 86_400, 5 * 86_400):
            params.setUnbondingPeriodSeconds(4 * 86_400, {"from": governance})

    def test_RevertIf_ChallengeWindowSetAboveUnbonding(self, params, governance):
        with reverts("UnbondingPeriodBelowChallengeWindow", 7 * 86_400, 8 * 86_400):
            params.setChallengeWindowSeconds(8 * 86_400, {"from": governance})

    def test_UnbondingMayEqualChallengeWindow(self, params, governance):
        params.setChallengeWindowSeconds(7 * 86_400, {"from": governance})
        assert params.challengeWindowSeconds() == params.unbondingPeriodSeconds()

    def test_RevertIf_BuyerShareMakesSharesExceedWhole(self, params, governance):
        with reverts("SlashSharesExceedWhole", 9_501, 500):
            params.setBuyerShareBps(9_501, {"from": governance})

    def test_RevertIf_ReporterShareMakesSharesExceedWhole(self, params, governance):
        params.setBuyerShareBps(9_000, {"from": governance})
        with reverts("SlashSharesExceedWhole", 9_000, 1_001):
            params.setReporterShareBps(1_001, {"from": governance})

    def test_SharesMayFillTheWhole(self, params, governance):
        params.setBuyerShareBps(9_500, {"from": governance})
        assert params.buyerShareBps() + params.reporterShareBps() == 10_000


class TestArbiter:
    def test_SetsArbiterAndEmitsOldAndNew(self, params, governance, arbiter, stranger):
        tx = params.setArbiter(stranger, {"from": governance})
        assert params.arbiter() == stranger
        assert plain(tx.events["ArbiterSet"].values()) == (arbiter, stranger)

    def test_ZeroArbiterAllowed(self, params, governance):
        params.setArbiter(ZERO, {"from": governance})
        assert params.arbiter() == ZERO

    def test_RevertIf_NotGovernance(self, params, arbiter, stranger):
        with reverts("NotGovernance", arbiter):
            params.setArbiter(stranger, {"from": arbiter})


def test_BoundsHaveNoSetter(params):
    """No function can change a bound: the ABI has no setter for them."""
    names = {item["name"] for item in params.abi if item["type"] == "function"}
    assert not any("bound" in n.lower() and n != "bounds" for n in names)
    assert not any(n.lower().startswith(("setmin", "setmax")) and n != "setMinProviderStake" for n in names)
    assert brownie is not None and TOKEN
