// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {GovernorSettingsBounds} from "./GovernorSettingsBounds.sol";

/// @title AgoraGovernor
/// @notice Token holders propose and vote on every change to the protocol; passed
///         proposals run through the timelock, which is the only account allowed to change
///         ProtocolParams (the arbiter included) and this governor's own settings.
/// @dev Votes are counted at the proposal's snapshot on the token's timestamp clock, so
///      tokens bought or borrowed after a proposal is made carry no weight on it. Delay
///      and period are in seconds (ERC-6372 `mode=timestamp`). Its own settings stay within
///      bounds fixed at deployment ({GovernorSettingsBounds}): a proposal setting one outside
///      them fails at execution with `GovernorSettingOutOfBounds(setting, value, min, max)`.
///      GovernorSettingsBounds precedes GovernorSettings and GovernorVotesQuorumFraction
///      among the bases so the bounds exist when those constructors set the starting values.
contract AgoraGovernor is
    Governor,
    GovernorSettingsBounds,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @param token The votes token (AgoraToken).
    /// @param timelock Executes passed proposals after its delay.
    /// @param votingDelaySeconds Time between proposing and the start of voting (the snapshot).
    /// @param votingPeriodSeconds How long voting lasts.
    /// @param proposalThresholdVotes Votes an account needs to propose.
    /// @param quorumPercent Share of the supply at the snapshot that must vote for or abstain.
    /// @param bounds The lowest and highest value of each of these four settings for the life
    ///        of this deployment; the starting values must be within them. The threshold's
    ///        maximum may not exceed the token's supply.
    constructor(
        IVotes token,
        TimelockController timelock,
        uint48 votingDelaySeconds,
        uint32 votingPeriodSeconds,
        uint256 proposalThresholdVotes,
        uint256 quorumPercent,
        Bounds memory bounds
    )
        Governor("Agora Governor")
        GovernorSettingsBounds(bounds, IERC20(address(token)).totalSupply())
        GovernorSettings(votingDelaySeconds, votingPeriodSeconds, proposalThresholdVotes)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
    {}

    // The setters of the governor's own settings: each checks its bounds, then defers to
    // OpenZeppelin (which emits the old and the new value).

    function _setVotingDelay(uint48 newVotingDelay) internal override {
        _checkSetting(Setting.VotingDelay, newVotingDelay);
        super._setVotingDelay(newVotingDelay);
    }

    function _setVotingPeriod(uint32 newVotingPeriod) internal override {
        _checkSetting(Setting.VotingPeriod, newVotingPeriod);
        super._setVotingPeriod(newVotingPeriod);
    }

    function _setProposalThreshold(uint256 newProposalThreshold) internal override {
        _checkSetting(Setting.ProposalThreshold, newProposalThreshold);
        super._setProposalThreshold(newProposalThreshold);
    }

    function _updateQuorumNumerator(uint256 newQuorumNumerator) internal override {
        _checkSetting(Setting.QuorumNumerator, newQuorumNumerator);
        super._updateQuorumNumerator(newQuorumNumerator);
    }

    // The overrides below only resolve the multiple inheritance; each defers to OpenZeppelin.

    /// @inheritdoc Governor
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @inheritdoc Governor
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    /// @inheritdoc Governor
    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    /// @inheritdoc Governor
    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
