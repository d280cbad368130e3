// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Deployment-fixed bounds on the timelock's delay
/// @notice The delay between queueing and executing a proposal has a minimum and a maximum
///         fixed for the life of a deployment: no vote can shorten it to nothing or stretch
///         it so far that nothing ever executes.
interface IAgoraTimelock {
    /// @notice The delay is outside its bounds.
    error TimelockDelayOutOfBounds(uint256 delay, uint256 min, uint256 max);
    /// @notice Deployment bounds are inverted or beyond what the code allows.
    error InvalidTimelockDelayBounds(uint256 min, uint256 max, uint256 ceiling);

    /// @notice The delay's bounds for the life of this deployment.
    /// @return min The shortest delay governance may set.
    /// @return max The longest delay governance may set.
    function delayBounds() external view returns (uint256 min, uint256 max);
}
