// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Deployment-fixed bounds on a governor's own settings
/// @notice Voting delay, voting period, proposal threshold and quorum numerator each have a
///         minimum and a maximum fixed for the life of a deployment, like every protocol
///         parameter: no vote can set a one-second vote, a threshold nobody holds or a
///         quorum nobody reaches. A proposal that tries passes the vote and fails at
///         execution with {GovernorSettingOutOfBounds}.
interface IGovernorSettingsBounds {
    /// @notice The bounded settings.
    enum Setting {
        VotingDelay,
        VotingPeriod,
        ProposalThreshold,
        QuorumNumerator
    }

    /// @notice The lowest and highest value a setting may take.
    struct Bound {
        uint256 min;
        uint256 max;
    }

    /// @notice The bounds of every setting, in the order of {Setting}.
    struct Bounds {
        Bound votingDelay;
        Bound votingPeriod;
        Bound proposalThreshold;
        Bound quorumNumerator;
    }

    /// @notice The value is outside the setting's bounds.
    error GovernorSettingOutOfBounds(Setting setting, uint256 value, uint256 min, uint256 max);
    /// @notice Deployment bounds are inverted or beyond what the code allows.
    error InvalidGovernorSettingBounds(Setting setting, uint256 min, uint256 max, uint256 ceiling);

    /// @notice The bounds of `setting` for the life of this deployment.
    /// @param setting The setting.
    /// @return min The lowest value the setting may take.
    /// @return max The highest value the setting may take.
    function settingBounds(Setting setting) external view returns (uint256 min, uint256 max);
}
