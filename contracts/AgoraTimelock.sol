// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IAgoraTimelock} from "./interfaces/IAgoraTimelock.sol";

/// @title AgoraTimelock
/// @notice OpenZeppelin's TimelockController whose delay stays within bounds fixed at
///         deployment. It executes passed proposals, holds every privilege of the protocol
///         and is its treasury.
/// @dev TimelockController keeps its delay in a private slot written only by its external
///      `updateDelay`, so this contract keeps the delay in a slot of its own, read through
///      {getMinDelay} (which scheduling uses), and replaces `updateDelay`. The base slot keeps
///      the starting delay and is never read.
contract AgoraTimelock is TimelockController, IAgoraTimelock {
    /// @dev The longest any deployment may allow: a longer delay would hold every change,
    ///      and every payment from the treasury, for a season.
    uint256 private constant CEILING_DELAY = 90 days;

    uint256 private immutable delayMin;
    uint256 private immutable delayMax;

    uint256 private _delay;

    /// @param initialDelay The starting delay, in seconds; within the bounds.
    /// @param minDelay The shortest delay governance may set, for the life of this deployment.
    /// @param maxDelay The longest delay governance may set, for the life of this deployment.
    /// @param proposers Accounts granted the proposer and canceller roles.
    /// @param executors Accounts granted the executor role (the zero address: anyone).
    /// @param admin An optional admin for the initial setup (zero for none); it should renounce.
    constructor(
        uint256 initialDelay,
        uint256 minDelay,
        uint256 maxDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(initialDelay, proposers, executors, admin) {
        if (minDelay > maxDelay || maxDelay > CEILING_DELAY) {
            revert InvalidTimelockDelayBounds(minDelay, maxDelay, CEILING_DELAY);
        }
        delayMin = minDelay;
        delayMax = maxDelay;
        _checkDelay(initialDelay);
        _delay = initialDelay;
    }

    /// @inheritdoc IAgoraTimelock
    function delayBounds() external view returns (uint256 min, uint256 max) {
        return (delayMin, delayMax);
    }

    /// @notice The delay, in seconds, an operation waits between being scheduled and executed.
    function getMinDelay() public view override returns (uint256) {
        return _delay;
    }

    /// @notice Changes the delay of future operations; only through an operation of this timelock.
    /// @dev Reverts with `TimelockUnauthorizedCaller` for any other caller and with
    ///      {TimelockDelayOutOfBounds} outside the bounds. Emits `MinDelayChange(old, new)`.
    /// @param newDelay The new delay, in seconds.
    function updateDelay(uint256 newDelay) external override {
        address sender = _msgSender();
        if (sender != address(this)) revert TimelockUnauthorizedCaller(sender);
        _checkDelay(newDelay);
        emit MinDelayChange(_delay, newDelay);
        _delay = newDelay;
    }

    function _checkDelay(uint256 delay) private view {
        if (delay < delayMin || delay > delayMax) revert TimelockDelayOutOfBounds(delay, delayMin, delayMax);
    }
}
