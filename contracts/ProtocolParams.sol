// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";

/// @title ProtocolParams
/// @notice Holds every governed parameter of the market within bounds fixed at deployment.
/// @dev Bounds are immutables chosen by the deploy script and checked against ceilings
///      written here, so a local market can run with second-long windows while a public
///      deployment pins the bounds of DESIGN.md. No function changes a bound.
contract ProtocolParams is IProtocolParams {
    /// @dev The widest any deployment may set a bound: storage widths, and the shares of a
    ///      whole (fees are capped at half each so that fees together never exceed a price).
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

    /// @dev One slot, read by the market on match, accept and submit.
    MarketParams private _market;
    /// @dev One slot: faultSlashBps (16) | buyerShareBps (16) | reporterShareBps (16) | disputeBond (96).
    SlashParams private _slash;
    /// @inheritdoc IProtocolParams
    address public arbiter;

    /// @param governance_ The only account that may change parameters (the timelock).
    /// @param mins The lowest value of each parameter for the life of this deployment.
    /// @param maxs The highest value of each parameter for the life of this deployment.
    /// @param initial The starting values; each must be within its bounds.
    /// @param arbiter_ The starting arbiter (zero for none).
    constructor(address governance_, Values memory mins, Values memory maxs, Values memory initial, address arbiter_) {
        if (governance_ == address(0)) revert ZeroGovernance();
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
        _checkBounds(Parameter.MatchmakerFeeBps, mins.matchmakerFeeBps, maxs.matchmakerFeeBps, CEILING_FEE_BPS);
        _checkBounds(Parameter.DisputeBond, mins.disputeBond, maxs.disputeBond, CEILING_AMOUNT);

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

        // Set the challenge window before the unbonding period: the unbonding setter checks
        // against it. Each setter emits its 0 -> initial change for indexers.
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
        _setArbiter(arbiter_);
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
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
        return (disputeBondMin, disputeBondMax);
    }

    /// @inheritdoc IProtocolParams
    function marketParams() external view returns (MarketParams memory) {
        return _market;
    }

    /// @inheritdoc IProtocolParams
    function slashParams() external view returns (SlashParams memory) {
        return _slash;
    }

    /// @inheritdoc IProtocolParams
    function minProviderStake() external view returns (uint256) {
        return _market.minProviderStake;
    }

    /// @inheritdoc IProtocolParams
    function unbondingPeriodSeconds() external view returns (uint256) {
        return _market.unbondingPeriodSeconds;
    }

    /// @inheritdoc IProtocolParams
    function acceptWindowSeconds() external view returns (uint256) {
        return _market.acceptWindowSeconds;
    }

    /// @inheritdoc IProtocolParams
    function challengeWindowSeconds() external view returns (uint256) {
        return _market.challengeWindowSeconds;
    }

    /// @inheritdoc IProtocolParams
    function collateralRatioBps() external view returns (uint256) {
        return _market.collateralRatioBps;
    }

    /// @inheritdoc IProtocolParams
    function missedDeadlineSlashBps() external view returns (uint256) {
        return _market.missedDeadlineSlashBps;
    }

    /// @inheritdoc IProtocolParams
    function faultSlashBps() external view returns (uint256) {
        return _slash.faultSlashBps;
    }

    /// @inheritdoc IProtocolParams
    function buyerShareBps() external view returns (uint256) {
        return _slash.buyerShareBps;
    }

    /// @inheritdoc IProtocolParams
    function reporterShareBps() external view returns (uint256) {
        return _slash.reporterShareBps;
    }

    /// @inheritdoc IProtocolParams
    function protocolFeeBps() external view returns (uint256) {
        return _market.protocolFeeBps;
    }

    /// @inheritdoc IProtocolParams
    function matchmakerFeeBps() external view returns (uint256) {
        return _market.matchmakerFeeBps;
    }

    /// @inheritdoc IProtocolParams
    function disputeBond() external view returns (uint256) {
        return _slash.disputeBond;
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
    function setChallengeWindowSeconds(uint256 newChallengeWindowSeconds) external onlyGovernance {
        _setChallengeWindowSeconds(newChallengeWindowSeconds);
    }

    /// @inheritdoc IProtocolParams
    function setCollateralRatioBps(uint256 newCollateralRatioBps) external onlyGovernance {
        _setCollateralRatioBps(newCollateralRatioBps);
    }

    /// @inheritdoc IProtocolParams
    function setMissedDeadlineSlashBps(uint256 newMissedDeadlineSlashBps) external onlyGovernance {
        _setMissedDeadlineSlashBps(newMissedDeadlineSlashBps);
    }

    /// @inheritdoc IProtocolParams
    function setFaultSlashBps(uint256 newFaultSlashBps) external onlyGovernance {
        _setFaultSlashBps(newFaultSlashBps);
    }

    /// @inheritdoc IProtocolParams
    function setBuyerShareBps(uint256 newBuyerShareBps) external onlyGovernance {
        _setBuyerShareBps(newBuyerShareBps);
    }

    /// @inheritdoc IProtocolParams
    function setReporterShareBps(uint256 newReporterShareBps) external onlyGovernance {
        _setReporterShareBps(newReporterShareBps);
    }

    /// @inheritdoc IProtocolParams
    function setProtocolFeeBps(uint256 newProtocolFeeBps) external onlyGovernance {
        _setProtocolFeeBps(newProtocolFeeBps);
    }

    /// @inheritdoc IProtocolParams
    function setMatchmakerFeeBps(uint256 newMatchmakerFeeBps) external onlyGovernance {
        _setMatchmakerFeeBps(newMatchmakerFeeBps);
    }

    /// @inheritdoc IProtocolParams
    function setDisputeBond(uint256 newDisputeBond) external onlyGovernance {
        _setDisputeBond(newDisputeBond);
    }

    /// @inheritdoc IProtocolParams
    function setArbiter(address newArbiter) external onlyGovernance {
        _setArbiter(newArbiter);
    }

    // ---------------------------------------------------------------- internal setters
    // Each checks its bounds before narrowing: the bounds are within the field's width
    // (checked against the ceilings at construction), so every cast below is lossless.

    function _setMinProviderStake(uint256 value) internal {
        _checkValue(Parameter.MinProviderStake, value);
        emit MinProviderStakeSet(_market.minProviderStake, value);
        _market.minProviderStake = uint96(value);
    }

    function _setUnbondingPeriodSeconds(uint256 value) internal {
        _checkValue(Parameter.UnbondingPeriodSeconds, value);
        uint256 challenge = _market.challengeWindowSeconds;
        if (value < challenge) revert UnbondingPeriodBelowChallengeWindow(value, challenge);
        emit UnbondingPeriodSecondsSet(_market.unbondingPeriodSeconds, value);
        _market.unbondingPeriodSeconds = uint32(value);
    }

    function _setAcceptWindowSeconds(uint256 value) internal {
        _checkValue(Parameter.AcceptWindowSeconds, value);
        emit AcceptWindowSecondsSet(_market.acceptWindowSeconds, value);
        _market.acceptWindowSeconds = uint32(value);
    }

    function _setChallengeWindowSeconds(uint256 value) internal {
        _checkValue(Parameter.ChallengeWindowSeconds, value);
        uint256 unbonding = _market.unbondingPeriodSeconds;
        // During construction the unbonding period is not set yet; it is checked right after.
        if (unbonding != 0 && unbonding < value) revert UnbondingPeriodBelowChallengeWindow(unbonding, value);
        emit ChallengeWindowSecondsSet(_market.challengeWindowSeconds, value);
        _market.challengeWindowSeconds = uint32(value);
    }

    function _setCollateralRatioBps(uint256 value) internal {
        _checkValue(Parameter.CollateralRatioBps, value);
        emit CollateralRatioBpsSet(_market.collateralRatioBps, value);
        _market.collateralRatioBps = uint16(value);
    }

    function _setMissedDeadlineSlashBps(uint256 value) internal {
        _checkValue(Parameter.MissedDeadlineSlashBps, value);
        emit MissedDeadlineSlashBpsSet(_market.missedDeadlineSlashBps, value);
        _market.missedDeadlineSlashBps = uint16(value);
    }

    function _setFaultSlashBps(uint256 value) internal {
        _checkValue(Parameter.FaultSlashBps, value);
        emit FaultSlashBpsSet(_slash.faultSlashBps, value);
        _slash.faultSlashBps = uint16(value);
    }

    function _setBuyerShareBps(uint256 value) internal {
        _checkValue(Parameter.BuyerShareBps, value);
        uint256 reporter = _slash.reporterShareBps;
        if (value + reporter > BasisPoints.WHOLE) revert SlashSharesExceedWhole(value, reporter);
        emit BuyerShareBpsSet(_slash.buyerShareBps, value);
        _slash.buyerShareBps = uint16(value);
    }

    function _setReporterShareBps(uint256 value) internal {
        _checkValue(Parameter.ReporterShareBps, value);
        uint256 buyer = _slash.buyerShareBps;
        if (buyer + value > BasisPoints.WHOLE) revert SlashSharesExceedWhole(buyer, value);
        emit ReporterShareBpsSet(_slash.reporterShareBps, value);
        _slash.reporterShareBps = uint16(value);
    }

    function _setProtocolFeeBps(uint256 value) internal {
        _checkValue(Parameter.ProtocolFeeBps, value);
        emit ProtocolFeeBpsSet(_market.protocolFeeBps, value);
        _market.protocolFeeBps = uint16(value);
    }

    function _setMatchmakerFeeBps(uint256 value) internal {
        _checkValue(Parameter.MatchmakerFeeBps, value);
        emit MatchmakerFeeBpsSet(_market.matchmakerFeeBps, value);
        _market.matchmakerFeeBps = uint16(value);
    }

    function _setDisputeBond(uint256 value) internal {
        _checkValue(Parameter.DisputeBond, value);
        emit DisputeBondSet(_slash.disputeBond, value);
        _slash.disputeBond = uint96(value);
    }

    function _setArbiter(address value) internal {
        emit ArbiterSet(arbiter, value);
        arbiter = value;
    }

    function _checkValue(Parameter parameter, uint256 value) private view {
        (uint256 min, uint256 max) = bounds(parameter);
        if (value < min || value > max) revert ParameterOutOfBounds(parameter, value, min, max);
    }

    function _checkBounds(Parameter parameter, uint256 min, uint256 max, uint256 ceiling) private pure {
        if (min > max || max > ceiling) revert InvalidBounds(parameter, min, max, ceiling);
    }
}
