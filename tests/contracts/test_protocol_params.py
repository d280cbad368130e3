"""ProtocolParams: bounded, governance-only parameters whose changes carry old and new values, and
the numbered versions of the parameters jobs settle under."""

import brownie
import pytest

from agora.market.protocol import PUBLIC, TOKEN
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
    ("setMinJobCollateral", "minJobCollateral", "MinJobCollateralSet", 12, "min_job_collateral"),
    ("setArbitrationWindowSeconds", "arbitrationWindowSeconds", "ArbitrationWindowSecondsSet", 13,
     "arbitration_window_seconds"),
]
IDS = [p[1] for p in PARAMETERS]
# The parameters a job settles under: each change publishes a new version.
UNVERSIONED = {"minProviderStake", "unbondingPeriodSeconds", "acceptWindowSeconds"}
VERSIONED = [p for p in PARAMETERS if p[1] not in UNVERSIONED]
# IProtocolParams.SettlementParams and DisputeParams, field by field.
SETTLEMENT_FIELDS = (
    "minJobCollateral", "collateralRatioBps", "protocolFeeBps", "matchmakerFeeBps", "challengeWindowSeconds",
    "arbitrationWindowSeconds", "missedDeadlineSlashBps", "buyerShareBps", "reporterShareBps",
)
DISPUTE_FIELDS = ("faultSlashBps", "disputeBond")
CEILINGS = {0: 2**96 - 1, 11: 2**96 - 1, 12: 2**96 - 1, 1: 2**32 - 1, 2: 2**32 - 1, 3: 2**32 - 1, 13: 2**32 - 1,
            4: 50_000, 9: 5_000}


def settlement_of(params, version):
    return dict(zip(SETTLEMENT_FIELDS, plain(params.settlementParams(version))))


def dispute_of(params, version):
    return dict(zip(DISPUTE_FIELDS, plain(params.disputeParams(version))))


def expected_settlement(values):
    return {
        "minJobCollateral": values.min_job_collateral, "collateralRatioBps": values.collateral_ratio_bps,
        "protocolFeeBps": values.protocol_fee_bps, "matchmakerFeeBps": values.matchmaker_fee_bps,
        "challengeWindowSeconds": values.challenge_window_seconds,
        "arbitrationWindowSeconds": values.arbitration_window_seconds,
        "missedDeadlineSlashBps": values.missed_deadline_slash_bps, "buyerShareBps": values.buyer_share_bps,
        "reporterShareBps": values.reporter_share_bps,
    }


def with_(values, **changes):
    return values.__class__(**{**values.__dict__, **changes})


def a_new_value(getter, field):
    """A value within bounds that the cross-checks accept (the challenge window at most the
    unbonding period, the two slash shares together at most 100%), unlike the starting one."""
    low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
    return {
        "challengeWindowSeconds": 2 * 86_400,
        "unbondingPeriodSeconds": 30 * 86_400,
        "buyerShareBps": 9_000,
        "reporterShareBps": 1_000,
    }.get(getter, (low + high) // 2)


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
        assert events[0].name == "ParamsVersionSet"
        assert plain(events["ParamsVersionSet"].values()) == (0, 1)
        for _setter, getter, event, _index, field in PARAMETERS:
            assert plain(events[event].values()) == (0, getattr(PUBLIC.initial, field)), getter
        assert plain(events["ArbiterSet"].values()) == (ZERO, params.arbiter())

    def test_StartingValuesAreVersionOne(self, params):
        i = PUBLIC.initial
        assert params.version() == 1
        assert plain(params.matchParams()) == (1, i.accept_window_seconds, i.min_provider_stake)
        assert settlement_of(params, 1) == expected_settlement(i)
        assert dispute_of(params, 1) == {"faultSlashBps": i.fault_slash_bps, "disputeBond": i.dispute_bond}

    def test_VersionsNeverPublishedAreZeros(self, params):
        for version in (0, 2, 2**24 - 1):
            assert set(settlement_of(params, version).values()) == {0}
            assert set(dispute_of(params, version).values()) == {0}

    def test_RevertIf_GovernanceIsZero(self, ProtocolParams, deployer, arbiter):
        with reverts("ZeroGovernance"):
            deploy(ProtocolParams, deployer, ZERO, arbiter)

    def test_RevertIf_ArbiterIsZero(self, ProtocolParams, deployer, governance):
        with reverts("ZeroArbiter"):
            deploy(ProtocolParams, deployer, governance, ZERO)

    @pytest.mark.parametrize(
        "changes,args",
        [
            ({"min_job_collateral": 99}, (99, 1_000, 1_000)),
            ({"min_job_collateral": 0}, (0, 1_000, 1_000)),
            ({"missed_deadline_slash_bps": 0}, (TOKEN, 0, 1_000)),
            ({"buyer_share_bps": 0}, (TOKEN, 1_000, 0)),
            ({"min_job_collateral": 1_000, "missed_deadline_slash_bps": 1}, (1_000, 1, 1_000)),
        ],
        ids=["collateral-99-wei", "collateral-0", "slash-0", "buyer-share-0", "slash-1bps"],
    )
    def test_RevertIf_MissedDeadlineCanCostNothing(self, ProtocolParams, deployer, governance, arbiter, changes, args):
        """The lowest collateral times the lowest slash rate times the lowest buyer share must be a wei."""
        with reverts("MissedDeadlineCanCostNothing", *args):
            deploy(ProtocolParams, deployer, governance, arbiter, mins=with_(PUBLIC.mins, **changes))

    def test_LeastBuyerShareOfOneWeiDeploys(self, ProtocolParams, deployer, governance, arbiter):
        # 100 wei * 10% = 10 wei of slash, * 10% = 1 wei to the buyer.
        params = deploy(ProtocolParams, deployer, governance, arbiter, mins=with_(PUBLIC.mins, min_job_collateral=100))
        assert plain(params.bounds(12)) == (100, PUBLIC.maxs.min_job_collateral)

    @pytest.mark.parametrize("index,field", [(p[3], p[4]) for p in PARAMETERS], ids=IDS)
    def test_RevertIf_BoundsInverted(self, ProtocolParams, deployer, governance, arbiter, index, field):
        low, high = getattr(PUBLIC.mins, field), getattr(PUBLIC.maxs, field)
        mins = PUBLIC.mins.__class__(**{**PUBLIC.mins.__dict__, field: high + 1})
        with reverts("InvalidBounds", index, high + 1, high, CEILINGS.get(index, 10_000)):
            deploy(ProtocolParams, deployer, governance, arbiter, mins=mins)
        assert low <= high

    @pytest.mark.parametrize(
        "field,index,ceiling",
        [
            ("collateral_ratio_bps", 4, 50_000),
            ("buyer_share_bps", 7, 10_000),
            ("missed_deadline_slash_bps", 5, 10_000),
            ("protocol_fee_bps", 9, 5_000),
            ("matchmaker_fee_bps", 10, 10_000),
            ("dispute_bond", 11, 2**96 - 1),
            ("min_job_collateral", 12, 2**96 - 1),
            ("arbitration_window_seconds", 13, 2**32 - 1),
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
        old = getattr(params, getter)()
        new = a_new_value(getter, field)
        assert new != old
        tx = getattr(params, setter)(new, {"from": governance})
        assert getattr(params, getter)() == new
        assert plain(tx.events[event].values()) == (old, new)
        if getter in UNVERSIONED:
            # Applies at the moment it is used: no new version.
            assert [e.name for e in tx.events] == [event]
            assert params.version() == 1
        else:
            # A new version first, then the change itself.
            assert [e.name for e in tx.events] == ["ParamsVersionSet", event]
            assert plain(tx.events["ParamsVersionSet"].values()) == (1, 2)
            assert params.version() == 2
            assert params.matchParams()[0] == 2

    def test_AcceptsBothBounds(self, params, governance, setter, getter, event, index, field):
        if getter in ("challengeWindowSeconds", "buyerShareBps", "reporterShareBps"):
            params.setUnbondingPeriodSeconds(PUBLIC.maxs.unbonding_period_seconds, {"from": governance})
            params.setReporterShareBps(PUBLIC.mins.reporter_share_bps, {"from": governance})
            params.setBuyerShareBps(PUBLIC.mins.buyer_share_bps, {"from": governance})
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

    def test_RevertIf_ZeroArbiter(self, params, governance, arbiter):
        with reverts("ZeroArbiter"):
            params.setArbiter(ZERO, {"from": governance})
        assert params.arbiter() == arbiter

    def test_ArbiterIsNotVersioned(self, params, governance, stranger):
        tx = params.setArbiter(stranger, {"from": governance})
        assert [e.name for e in tx.events] == ["ArbiterSet"]
        assert params.version() == 1

    def test_RevertIf_NotGovernance(self, params, arbiter, stranger):
        with reverts("NotGovernance", arbiter):
            params.setArbiter(stranger, {"from": arbiter})


def test_BoundsHaveNoSetter(params):
    """No function can change a bound: the ABI has no setter for them."""
    names = {item["name"] for item in params.abi if item["type"] == "function"}
    assert not any("bound" in n.lower() and n != "bounds" for n in names)
    assert not any(
        n.lower().startswith(("setmin", "setmax")) and n not in ("setMinProviderStake", "setMinJobCollateral")
        for n in names
    )
    assert brownie is not None and TOKEN


class TestVersions:
    @pytest.mark.parametrize("setter,getter,event,index,field", VERSIONED, ids=[p[1] for p in VERSIONED])
    def test_OldVersionUnchangedAfterAChange(self, params, governance, setter, getter, event, index, field):
        settlement, dispute = settlement_of(params, 1), dispute_of(params, 1)
        new = a_new_value(getter, field)
        getattr(params, setter)(new, {"from": governance})
        assert (settlement_of(params, 1), dispute_of(params, 1)) == (settlement, dispute)
        if getter in SETTLEMENT_FIELDS:
            assert settlement_of(params, 2) == {**settlement, getter: new}
            assert dispute_of(params, 2) == dispute
        else:
            assert settlement_of(params, 2) == settlement
            assert dispute_of(params, 2) == {**dispute, getter: new}

    def test_EachChangePublishesTheNextVersion(self, params, governance):
        first = params.setProtocolFeeBps(500, {"from": governance})
        second = params.setDisputeBond(7 * TOKEN, {"from": governance})
        assert plain(first.events["ParamsVersionSet"].values()) == (1, 2)
        assert plain(second.events["ParamsVersionSet"].values()) == (2, 3)
        assert params.version() == 3
        assert (settlement_of(params, 1)["protocolFeeBps"], dispute_of(params, 1)["disputeBond"]) == (
            PUBLIC.initial.protocol_fee_bps, PUBLIC.initial.dispute_bond
        )
        assert (settlement_of(params, 2)["protocolFeeBps"], dispute_of(params, 2)["disputeBond"]) == (
            500, PUBLIC.initial.dispute_bond
        )
        assert (settlement_of(params, 3)["protocolFeeBps"], dispute_of(params, 3)["disputeBond"]) == (500, 7 * TOKEN)

    def test_SettingTheSameValueStillPublishesAVersion(self, params, governance):
        tx = params.setCollateralRatioBps(PUBLIC.initial.collateral_ratio_bps, {"from": governance})
        assert plain(tx.events["ParamsVersionSet"].values()) == (1, 2)
        assert settlement_of(params, 2) == settlement_of(params, 1)

    def test_UnversionedChangesShowInMatchParams(self, params, governance):
        params.setAcceptWindowSeconds(600, {"from": governance})
        params.setMinProviderStake(2_000 * TOKEN, {"from": governance})
        params.setMatchmakerFeeBps(2_000, {"from": governance})
        assert plain(params.matchParams()) == (2, 600, 2_000 * TOKEN)

    def test_RejectedChangePublishesNothing(self, params, governance):
        high = PUBLIC.maxs.min_job_collateral
        with reverts("ParameterOutOfBounds", 12, high + 1, PUBLIC.mins.min_job_collateral, high):
            params.setMinJobCollateral(high + 1, {"from": governance})
        assert params.version() == 1
        assert set(settlement_of(params, 2).values()) == {0}
