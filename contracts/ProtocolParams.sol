// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";

/// @title ProtocolParams
/// @notice Holds every governed parameter of the market within bounds fixed at deployment,
///         and keeps every version of the parameters jobs are priced under.
/// @dev Bounds are immutables chosen by the deploy script and checked against ceilings
///      written here, so a local market can run with second-long windows while a public
///      deployment pins the bounds of DESIGN.md. No function changes a bound.
contract ProtocolParams is IProtocolParams {
    using BasisPoints for uint256;

    /// @dev The widest any deployment may set a bound: storage widths, and the shares of a
    ///      whole (the protocol fee is capped at half the price).
    uint256 private constant CEILING_AMOUNT = type(uint96).max;
    uint256 private constant CEILING_SECONDS = type(uint32).max;
    uint256 private constant CEILING_COLLATERAL_BPS = 50_000;
    uint256 private constant CEILING_SHARE_BPS = BasisPoints.WHOLE;
    uint256 private constant CEILING_FEE_BPS = BasisPoints.WHOLE / 2;

    /// @inheritdoc IProtocolParams
    address public immutable governance;

    uint256 private immutable minProviderStakeMin;
    uint256 private immutable minProviderStakeMax;
    uint256 private immutable unbondingPeriodMin;
    uint256 private immutable unbondingPeriodMax;
    uint256 private immutable acceptWindowMin;
    uint256 private immutable acceptWindowMax;
    uint256 private immutable challengeWindowMin;
    uint256 private immutable challengeWindowMax;
    uint256 private immutable collateralRatioMin;
    uint256 private immutable collateralRatioMax;
    uint256 private immutable missedDeadlineSlashMin;
    uint256 private immutable missedDeadlineSlashMax;
    uint256 private immutable faultSlashMin;
    uint256 private immutable faultSlashMax;
    uint256 private immutable buyerShareMin;
    uint256 private immutable buyerShareMax;
    uint256 private immutable reporterShareMin;
    uint256 private immutable reporterShareMax;
    uint256 private immutable protocolFeeMin;
    uint256 private immutable protocolFeeMax;
    uint256 private immutable matchmakerFeeMin;
    uint256 private immutable matchmakerFeeMax;
    uint256 private immutable disputeBondMin;
    uint256 private immutable disputeBondMax;
    uint256 private immutable minJobCollateralMin;
    uint256 private immutable minJobCollateralMax;
    uint256 private immutable arbitrationWindowMin;
    uint256 private immutable arbitrationWindowMax;

    /// @dev The parameters read on every match and take, in one slot:
    ///      version (24) | acceptWindowSeconds (32) | unbondingPeriodSeconds (32)
    ///      | minProviderStake (96) = 184 bits.
    struct Globals {
        uint24 version;
        uint32 acceptWindowSeconds;
        uint32 unbondingPeriodSeconds;
        uint96 minProviderStake;
    }

    Globals private _globals;
    /// @inheritdoc IProtocolParams
    address public arbiter;
    /// @dev Published versions never change: only the version after the current one is
    ///      ever written, by {_publishNextVersion}.
    mapping(uint24 version => SettlementParams) private _settlement;
    mapping(uint24 version => DisputeParams) private _dispute;

    /// @param governance_ The only account that may change parameters (the timelock).
    /// @param mins The lowest value of each parameter for the life of this deployment.
    /// @param maxs The highest value of each parameter for the life of this deployment.
    /// @param initial The starting values (version 1); each must be within its bounds.
    /// @param arbiter_ The first arbiter. Never zero: the market must always have someone
    ///        to judge the work it takes; governance may replace it, never remove it.
    constructor(address governance_, Values memory mins, Values memory maxs, Values memory initial, address arbiter_) {
        if (governance_ == address(0)) revert ZeroGovernance();
        if (arbiter_ == address(0)) revert ZeroArbiter();
        governance = governance_;

        _checkBounds(Parameter.MinProviderStake, mins.minProviderStake, maxs.minProviderStake, CEILING_AMOUNT);
        _checkBounds(Parameter.UnbondingPeriodSeconds, mins.unbondingPeriodSeconds, maxs.unbondingPeriodSeconds, CEILING_SECONDS);
        _checkBounds(Parameter.AcceptWindowSeconds, mins.acceptWindowSeconds, maxs.acceptWindowSeconds, CEILING_SECONDS);
        _checkBounds(Parameter.ChallengeWindowSeconds, mins.challengeWindowSeconds, maxs.challengeWindowSeconds, CEILING_SECONDS);
        _checkBounds(Parameter.CollateralRatioBps, mins.collateralRatioBps, maxs.collateralRatioBps, CEILING_COLLATERAL_BPS);
        _checkBounds(Parameter.MissedDeadlineSlashBps, mins.missedDeadlineSlashBps, maxs.missedDeadlineSlashBps, CEILING_SHARE_BPS);
        _checkBounds(Parameter.FaultSlashBps, mins.faultSlashBps, maxs.faultSlashBps, CEILING_SHARE_BPS);
        _checkBounds(Parameter.BuyerShareBps, mins.buyerShareBps, maxs.buyerShareBps, CEILING_SHARE_BPS);
        _checkBounds(Parameter.ReporterShareBps, mins.reporterShareBps, maxs.reporterShareBps, CEILING_SHARE_BPS);
        _checkBounds(Parameter.ProtocolFeeBps, mins.protocolFeeBps, maxs.protocolFeeBps, CEILING_FEE_BPS);
        _checkBounds(Parameter.MatchmakerFeeBps, mins.matchmakerFeeBps, maxs.matchmakerFeeBps, CEILING_SHARE_BPS);
        _checkBounds(Parameter.DisputeBond, mins.disputeBond, maxs.disputeBond, CEILING_AMOUNT);
        _checkBounds(Parameter.MinJobCollateral, mins.minJobCollateral, maxs.minJobCollateral, CEILING_AMOUNT);
        _checkBounds(
            Parameter.ArbitrationWindowSeconds, mins.arbitrationWindowSeconds, maxs.arbitrationWindowSeconds, CEILING_SECONDS
        );
        // Whatever governance votes, a missed deadline must cost the provider something and
        // pay the buyer something: otherwise a provider with the minimum stake can take jobs
        // and let them lapse for free, again and again.
        uint256 leastBuyerShare = mins.minJobCollateral.mulBps(mins.missedDeadlineSlashBps).mulBps(mins.buyerShareBps);
        if (leastBuyerShare == 0) {
            revert MissedDeadlineCanCostNothing(mins.minJobCollateral, mins.missedDeadlineSlashBps, mins.buyerShareBps);
        }

        minProviderStakeMin = mins.minProviderStake;
        minProviderStakeMax = maxs.minProviderStake;
        unbondingPeriodMin = mins.unbondingPeriodSeconds;
        unbondingPeriodMax = maxs.unbondingPeriodSeconds;
        acceptWindowMin = mins.acceptWindowSeconds;
        acceptWindowMax = maxs.acceptWindowSeconds;
        challengeWindowMin = mins.challengeWindowSeconds;
        challengeWindowMax = maxs.challengeWindowSeconds;
        collateralRatioMin = mins.collateralRatioBps;
        collateralRatioMax = maxs.collateralRatioBps;
        missedDeadlineSlashMin = mins.missedDeadlineSlashBps;
        missedDeadlineSlashMax = maxs.missedDeadlineSlashBps;
        faultSlashMin = mins.faultSlashBps;
        faultSlashMax = maxs.faultSlashBps;
        buyerShareMin = mins.buyerShareBps;
        buyerShareMax = maxs.buyerShareBps;
        reporterShareMin = mins.reporterShareBps;
        reporterShareMax = maxs.reporterShareBps;
        protocolFeeMin = mins.protocolFeeBps;
        protocolFeeMax = maxs.protocolFeeBps;
        matchmakerFeeMin = mins.matchmakerFeeBps;
        matchmakerFeeMax = maxs.matchmakerFeeBps;
        disputeBondMin = mins.disputeBond;
        disputeBondMax = maxs.disputeBond;
        minJobCollateralMin = mins.minJobCollateral;
        minJobCollateralMax = maxs.minJobCollateral;
        arbitrationWindowMin = mins.arbitrationWindowSeconds;
        arbitrationWindowMax = maxs.arbitrationWindowSeconds;

        // The starting values are version 1. Set the challenge window before the unbonding
        // period: the unbonding setter checks against it. Each setter emits its
        // 0 -> initial change for indexers.
        emit ParamsVersionSet(0, 1);
        _globals.version = 1;
        _setChallengeWindowSeconds(initial.challengeWindowSeconds);
        _setUnbondingPeriodSeconds(initial.unbondingPeriodSeconds);
        _setMinProviderStake(initial.minProviderStake);
        _setAcceptWindowSeconds(initial.acceptWindowSeconds);
        _setCollateralRatioBps(initial.collateralRatioBps);
        _setMissedDeadlineSlashBps(initial.missedDeadlineSlashBps);
        _setFaultSlashBps(initial.faultSlashBps);
        _setBuyerShareBps(initial.buyerShareBps);
        _setReporterShareBps(initial.reporterShareBps);
        _setProtocolFeeBps(initial.protocolFeeBps);
        _setMatchmakerFeeBps(initial.matchmakerFeeBps);
        _setDisputeBond(initial.disputeBond);
        _setMinJobCollateral(initial.minJobCollateral);
        _setArbitrationWindowSeconds(initial.arbitrationWindowSeconds);
        _setArbiter(arbiter_);
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _;
    }

    /// @dev For a change to a job's terms: publishes the next version as a copy of the
    ///      current one, for the setter to change.
    modifier newVersion() {
        _publishNextVersion();
        _;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProtocolParams
    function treasury() external view returns (address) {
        return governance;
    }

    /// @inheritdoc IProtocolParams
    function bounds(Parameter parameter) public view returns (uint256 min, uint256 max) {
        if (parameter == Parameter.MinProviderStake) return (minProviderStakeMin, minProviderStakeMax);
        if (parameter == Parameter.UnbondingPeriodSeconds) return (unbondingPeriodMin, unbondingPeriodMax);
        if (parameter == Parameter.AcceptWindowSeconds) return (acceptWindowMin, acceptWindowMax);
        if (parameter == Parameter.ChallengeWindowSeconds) return (challengeWindowMin, challengeWindowMax);
        if (parameter == Parameter.CollateralRatioBps) return (collateralRatioMin, collateralRatioMax);
        if (parameter == Parameter.MissedDeadlineSlashBps) return (missedDeadlineSlashMin, missedDeadlineSlashMax);
        if (parameter == Parameter.FaultSlashBps) return (faultSlashMin, faultSlashMax);
        if (parameter == Parameter.BuyerShareBps) return (buyerShareMin, buyerShareMax);
        if (parameter == Parameter.ReporterShareBps) return (reporterShareMin, reporterShareMax);
        if (parameter == Parameter.ProtocolFeeBps) return (protocolFeeMin, protocolFeeMax);
        if (parameter == Parameter.MatchmakerFeeBps) return (matchmakerFeeMin, matchmakerFeeMax);
        if (parameter == Parameter.DisputeBond) return (disputeBondMin, disputeBondMax);
        if (parameter == Parameter.MinJobCollateral) return (minJobCollateralMin, minJobCollateralMax);
        return (arbitrationWindowMin, arbitrationWindowMax);
    }

    /// @inheritdoc IProtocolParams
    function version() external view returns (uint256) {
        return _globals.version;
    }

    /// @inheritdoc IProtocolParams
    function matchParams() external view returns (MatchParams memory m) {
        Globals memory g = _globals;
        m.version = g.version;
        m.acceptWindowSeconds = g.acceptWindowSeconds;
        m.minProviderStake = g.minProviderStake;
    }

    /// @inheritdoc IProtocolParams
    function settlementParams(uint24 version_) external view returns (SettlementParams memory) {
        return _settlement[version_];
    }

    /// @inheritdoc IProtocolParams
    function disputeParams(uint24 version_) external view returns (DisputeParams memory) {
        return _dispute[version_];
    }

    /// @inheritdoc IProtocolParams
    function minProviderStake() external view returns (uint256) {
        return _globals.minProviderStake;
    }

    /// @inheritdoc IProtocolParams
    function unbondingPeriodSeconds() external view returns (uint256) {
        return _globals.unbondingPeriodSeconds;
    }

    /// @inheritdoc IProtocolParams
    function acceptWindowSeconds() external view returns (uint256) {
        return _globals.acceptWindowSeconds;
    }

    /// @inheritdoc IProtocolParams
    function challengeWindowSeconds() external view returns (uint256) {
        return _current().challengeWindowSeconds;
    }

    /// @inheritdoc IProtocolParams
    function collateralRatioBps() external view returns (uint256) {
        return _current().collateralRatioBps;
    }

    /// @inheritdoc IProtocolParams
    function missedDeadlineSlashBps() external view returns (uint256) {
        return _current().missedDeadlineSlashBps;
    }

    /// @inheritdoc IProtocolParams
    function faultSlashBps() external view returns (uint256) {
        return _dispute[_globals.version].faultSlashBps;
    }

    /// @inheritdoc IProtocolParams
    function buyerShareBps() external view returns (uint256) {
        return _current().buyerShareBps;
    }

    /// @inheritdoc IProtocolParams
    function reporterShareBps() external view returns (uint256) {
        return _current().reporterShareBps;
    }

    /// @inheritdoc IProtocolParams
    function protocolFeeBps() external view returns (uint256) {
        return _current().protocolFeeBps;
    }

    /// @inheritdoc IProtocolParams
    function matchmakerFeeBps() external view returns (uint256) {
        return _current().matchmakerFeeBps;
    }

    /// @inheritdoc IProtocolParams
    function disputeBond() external view returns (uint256) {
        return _dispute[_globals.version].disputeBond;
    }

    /// @inheritdoc IProtocolParams
    function minJobCollateral() external view returns (uint256) {
        return _current().minJobCollateral;
    }

    /// @inheritdoc IProtocolParams
    function arbitrationWindowSeconds() external view returns (uint256) {
        return _current().arbitrationWindowSeconds;
    }

    // ---------------------------------------------------------------- governance setters

    /// @inheritdoc IProtocolParams
    function setMinProviderStake(uint256 newMinProviderStake) external onlyGovernance {
        _setMinProviderStake(newMinProviderStake);
    }

    /// @inheritdoc IProtocolParams
    function setUnbondingPeriodSeconds(uint256 newUnbondingPeriodSeconds) external onlyGovernance {
        _setUnbondingPeriodSeconds(newUnbondingPeriodSeconds);
    }

    /// @inheritdoc IProtocolParams
    function setAcceptWindowSeconds(uint256 newAcceptWindowSeconds) external onlyGovernance {
        _setAcceptWindowSeconds(newAcceptWindowSeconds);
    }

    /// @inheritdoc IProtocolParams
    function setChallengeWindowSeconds(uint256 newChallengeWindowSeconds) external onlyGovernance newVersion {
        _setChallengeWindowSeconds(newChallengeWindowSeconds);
    }

    /// @inheritdoc IProtocolParams
    function setCollateralRatioBps(uint256 newCollateralRatioBps) external onlyGovernance newVersion {
        _setCollateralRatioBps(newCollateralRatioBps);
    }

    /// @inheritdoc IProtocolParams
    function setMissedDeadlineSlashBps(uint256 newMissedDeadlineSlashBps) external onlyGovernance newVersion {
        _setMissedDeadlineSlashBps(newMissedDeadlineSlashBps);
    }

    /// @inheritdoc IProtocolParams
    function setFaultSlashBps(uint256 newFaultSlashBps) external onlyGovernance newVersion {
        _setFaultSlashBps(newFaultSlashBps);
    }

    /// @inheritdoc IProtocolParams
    function setBuyerShareBps(uint256 newBuyerShareBps) external onlyGovernance newVersion {
        _setBuyerShareBps(newBuyerShareBps);
    }

    /// @inheritdoc IProtocolParams
    function setReporterShareBps(uint256 newReporterShareBps) external onlyGovernance newVersion {
        _setReporterShareBps(newReporterShareBps);
    }

    /// @inheritdoc IProtocolParams
    function setProtocolFeeBps(uint256 newProtocolFeeBps) external onlyGovernance newVersion {
        _setProtocolFeeBps(newProtocolFeeBps);
    }

    /// @inheritdoc IProtocolParams
    function setMatchmakerFeeBps(uint256 newMatchmakerFeeBps) external onlyGovernance newVersion {
        _setMatchmakerFeeBps(newMatchmakerFeeBps);
    }

    /// @inheritdoc IProtocolParams
    function setDisputeBond(uint256 newDisputeBond) external onlyGovernance newVersion {
        _setDisputeBond(newDisputeBond);
    }

    /// @inheritdoc IProtocolParams
    function setMinJobCollateral(uint256 newMinJobCollateral) external onlyGovernance newVersion {
        _setMinJobCollateral(newMinJobCollateral);
    }

    /// @inheritdoc IProtocolParams
    function setArbitrationWindowSeconds(uint256 newArbitrationWindowSeconds) external onlyGovernance newVersion {
        _setArbitrationWindowSeconds(newArbitrationWindowSeconds);
    }

    /// @inheritdoc IProtocolParams
    function setArbiter(address newArbiter) external onlyGovernance {
        if (newArbiter == address(0)) revert ZeroArbiter();
        _setArbiter(newArbiter);
    }

    // ---------------------------------------------------------------- internal setters
    // Each checks its bounds before narrowing: the bounds are within the field's width
    // (checked against the ceilings at construction), so every cast below is lossless.
    // The versioned ones write the current version, which {newVersion} has just published
    // as a copy of the previous one (or, in the constructor, version 1).

    function _setMinProviderStake(uint256 value) internal {
        _checkValue(Parameter.MinProviderStake, value);
        emit MinProviderStakeSet(_globals.minProviderStake, value);
        _globals.minProviderStake = uint96(value);
    }

    function _setUnbondingPeriodSeconds(uint256 value) internal {
        _checkValue(Parameter.UnbondingPeriodSeconds, value);
        uint256 challenge = _current().challengeWindowSeconds;
        if (value < challenge) revert UnbondingPeriodBelowChallengeWindow(value, challenge);
        emit UnbondingPeriodSecondsSet(_globals.unbondingPeriodSeconds, value);
        _globals.unbondingPeriodSeconds = uint32(value);
    }

    function _setAcceptWindowSeconds(uint256 value) internal {
        _checkValue(Parameter.AcceptWindowSeconds, value);
        emit AcceptWindowSecondsSet(_globals.acceptWindowSeconds, value);
        _globals.acceptWindowSeconds = uint32(value);
    }

    function _setChallengeWindowSeconds(uint256 value) internal {
        _checkValue(Parameter.ChallengeWindowSeconds, value);
        uint256 unbonding = _globals.unbondingPeriodSeconds;
        // During construction the unbonding period is not set yet; it is checked right after.
        if (unbonding != 0 && unbonding < value) revert UnbondingPeriodBelowChallengeWindow(unbonding, value);
        SettlementParams storage s = _current();
        emit ChallengeWindowSecondsSet(s.challengeWindowSeconds, value);
        s.challengeWindowSeconds = uint32(value);
    }

    function _setCollateralRatioBps(uint256 value) internal {
        _checkValue(Parameter.CollateralRatioBps, value);
        SettlementParams storage s = _current();
        emit CollateralRatioBpsSet(s.collateralRatioBps, value);
        s.collateralRatioBps = uint16(value);
    }

    function _setMissedDeadlineSlashBps(uint256 value) internal {
        _checkValue(Parameter.MissedDeadlineSlashBps, value);
        SettlementParams storage s = _current();
        emit MissedDeadlineSlashBpsSet(s.missedDeadlineSlashBps, value);
        s.missedDeadlineSlashBps = uint16(value);
    }

    function _setFaultSlashBps(uint256 value) internal {
        _checkValue(Parameter.FaultSlashBps, value);
        DisputeParams storage d = _dispute[_globals.version];
        emit FaultSlashBpsSet(d.faultSlashBps, value);
        d.faultSlashBps = uint16(value);
    }

    function _setBuyerShareBps(uint256 value) internal {
        _checkValue(Parameter.BuyerShareBps, value);
        SettlementParams storage s = _current();
        uint256 reporter = s.reporterShareBps;
        if (value + reporter > BasisPoints.WHOLE) revert SlashSharesExceedWhole(value, reporter);
        emit BuyerShareBpsSet(s.buyerShareBps, value);
        s.buyerShareBps = uint16(value);
    }

    function _setReporterShareBps(uint256 value) internal {
        _checkValue(Parameter.ReporterShareBps, value);
        SettlementParams storage s = _current();
        uint256 buyer = s.buyerShareBps;
        if (buyer + value > BasisPoints.WHOLE) revert SlashSharesExceedWhole(buyer, value);
        emit ReporterShareBpsSet(s.reporterShareBps, value);
        s.reporterShareBps = uint16(value);
    }

    function _setProtocolFeeBps(uint256 value) internal {
        _checkValue(Parameter.ProtocolFeeBps, value);
        SettlementParams storage s = _current();
        emit ProtocolFeeBpsSet(s.protocolFeeBps, value);
        s.protocolFeeBps = uint16(value);
    }

    function _setMatchmakerFeeBps(uint256 value) internal {
        _checkValue(Parameter.MatchmakerFeeBps, value);
        SettlementParams storage s = _current();
        emit MatchmakerFeeBpsSet(s.matchmakerFeeBps, value);
        s.matchmakerFeeBps = uint16(value);
    }

    function _setDisputeBond(uint256 value) internal {
        _checkValue(Parameter.DisputeBond, value);
        DisputeParams storage d = _dispute[_globals.version];
        emit DisputeBondSet(d.disputeBond, value);
        d.disputeBond = uint96(value);
    }

    function _setMinJobCollateral(uint256 value) internal {
        _checkValue(Parameter.MinJobCollateral, value);
        SettlementParams storage s = _current();
        emit MinJobCollateralSet(s.minJobCollateral, value);
        s.minJobCollateral = uint96(value);
    }

    function _setArbitrationWindowSeconds(uint256 value) internal {
        _checkValue(Parameter.ArbitrationWindowSeconds, value);
        SettlementParams storage s = _current();
        emit ArbitrationWindowSecondsSet(s.arbitrationWindowSeconds, value);
        s.arbitrationWindowSeconds = uint32(value);
    }

    function _setArbiter(address value) internal {
        emit ArbiterSet(arbiter, value);
        arbiter = value;
    }

    function _current() private view returns (SettlementParams storage) {
        return _settlement[_globals.version];
    }

    function _publishNextVersion() private {
        uint24 current = _globals.version;
        // One version per governance change of a job's terms: 16.7 million of them is more
        // than votes taking days each can ever reach, but say so rather than panic.
        if (current == type(uint24).max) revert ParamsVersionsExhausted();
        uint24 next = current + 1;
        _settlement[next] = _settlement[current];
        _dispute[next] = _dispute[current];
        _globals.version = next;
        emit ParamsVersionSet(current, next);
    }

    function _checkValue(Parameter parameter, uint256 value) private view {
        (uint256 min, uint256 max) = bounds(parameter);
        if (value < min || value > max) revert ParameterOutOfBounds(parameter, value, min, max);
    }

    function _checkBounds(Parameter parameter, uint256 min, uint256 max, uint256 ceiling) private pure {
        if (min > max || max > ceiling) revert InvalidBounds(parameter, min, max, ceiling);
    }
}
