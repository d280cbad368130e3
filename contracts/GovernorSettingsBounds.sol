// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGovernorSettingsBounds} from "./interfaces/IGovernorSettingsBounds.sol";

/// @title GovernorSettingsBounds
/// @notice Holds the bounds of a governor's own settings, fixed at deployment, and checks
///         values against them.
/// @dev Bounds are immutables chosen by the deploy script and checked against ceilings
///      written here. A governor lists this contract before GovernorSettings and
///      GovernorVotesQuorumFraction among its bases, so this constructor runs first and the
///      bounds are in place when theirs set the starting values through the bounded setters.
abstract contract GovernorSettingsBounds is IGovernorSettingsBounds {
    /// @dev The widest any deployment may set a bound. A longer delay or vote would stall
    ///      governance for months; the quorum is a share of GovernorVotesQuorumFraction's
    ///      default denominator (100). The proposal threshold's ceiling is the token's supply,
    ///      passed in by the governor.
    uint256 private constant CEILING_VOTING_DELAY = 30 days;
    uint256 private constant CEILING_VOTING_PERIOD = 90 days;
    uint256 private constant CEILING_QUORUM_NUMERATOR = 100;

    uint256 private immutable votingDelayMin;
    uint256 private immutable votingDelayMax;
    uint256 private immutable votingPeriodMin;
    uint256 private immutable votingPeriodMax;
    uint256 private immutable proposalThresholdMin;
    uint256 private immutable proposalThresholdMax;
    uint256 private immutable quorumNumeratorMin;
    uint256 private immutable quorumNumeratorMax;

    /// @param bounds The lowest and highest value of each setting for the life of this deployment.
    /// @param proposalThresholdCeiling The highest the threshold's maximum may be (the token's supply).
    constructor(Bounds memory bounds, uint256 proposalThresholdCeiling) {
        _checkBounds(Setting.VotingDelay, bounds.votingDelay, CEILING_VOTING_DELAY);
        _checkBounds(Setting.VotingPeriod, bounds.votingPeriod, CEILING_VOTING_PERIOD);
        _checkBounds(Setting.ProposalThreshold, bounds.proposalThreshold, proposalThresholdCeiling);
        _checkBounds(Setting.QuorumNumerator, bounds.quorumNumerator, CEILING_QUORUM_NUMERATOR);

        votingDelayMin = bounds.votingDelay.min;
        votingDelayMax = bounds.votingDelay.max;
        votingPeriodMin = bounds.votingPeriod.min;
        votingPeriodMax = bounds.votingPeriod.max;
        proposalThresholdMin = bounds.proposalThreshold.min;
        proposalThresholdMax = bounds.proposalThreshold.max;
        quorumNumeratorMin = bounds.quorumNumerator.min;
        quorumNumeratorMax = bounds.quorumNumerator.max;
    }

    /// @inheritdoc IGovernorSettingsBounds
    function settingBounds(Setting setting) public view returns (uint256 min, uint256 max) {
        if (setting == Setting.VotingDelay) return (votingDelayMin, votingDelayMax);
        if (setting == Setting.VotingPeriod) return (votingPeriodMin, votingPeriodMax);
        if (setting == Setting.ProposalThreshold) return (proposalThresholdMin, proposalThresholdMax);
        return (quorumNumeratorMin, quorumNumeratorMax);
    }

    /// @dev Reverts with {GovernorSettingOutOfBounds} unless `value` is within `setting`'s bounds.
    function _checkSetting(Setting setting, uint256 value) internal view {
        (uint256 min, uint256 max) = settingBounds(setting);
        if (value < min || value > max) revert GovernorSettingOutOfBounds(setting, value, min, max);
    }

    function _checkBounds(Setting setting, Bound memory bound, uint256 ceiling) private pure {
        if (bound.min > bound.max || bound.max > ceiling) {
            revert InvalidGovernorSettingBounds(setting, bound.min, bound.max, ceiling);
        }
    }
}
