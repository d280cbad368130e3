// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The governed parameters of the Agora market
/// @notice Every parameter has a minimum and a maximum fixed for the life of a deployment,
///         so no vote can set a 100% fee or a one-second unbonding period. Only the
///         governance address (the timelock) changes values; every change emits the old and
///         the new value.
/// @dev The parameters a job is priced under (collateral, fees, windows, slash rates and
///      shares, the dispute bond) are kept in numbered, never-changing versions: every change
///      to one of them publishes a new version, and the market records on each job the
///      version in force when it was matched, so a vote never changes the terms of a job
///      already matched. The other parameters (minimum stake, accept window, unbonding
///      period, arbiter) apply at the moment they are used and are not versioned.
interface IProtocolParams {
    /// @notice The governed parameters, in the order of their bounds.
    enum Parameter {
        MinProviderStake,
        UnbondingPeriodSeconds,
        AcceptWindowSeconds,
        ChallengeWindowSeconds,
        CollateralRatioBps,
        MissedDeadlineSlashBps,
        FaultSlashBps,
        BuyerShareBps,
        ReporterShareBps,
        ProtocolFeeBps,
        MatchmakerFeeBps,
        DisputeBond,
        MinJobCollateral,
        ArbitrationWindowSeconds
    }

    /// @notice Every numeric parameter's value (and, with {Bounds}, every parameter's bounds).
    struct Values {
        uint256 minProviderStake;
        uint256 unbondingPeriodSeconds;
        uint256 acceptWindowSeconds;
        uint256 challengeWindowSeconds;
        uint256 collateralRatioBps;
        uint256 missedDeadlineSlashBps;
        uint256 faultSlashBps;
        uint256 buyerShareBps;
        uint256 reporterShareBps;
        uint256 protocolFeeBps;
        uint256 matchmakerFeeBps;
        uint256 disputeBond;
        uint256 minJobCollateral;
        uint256 arbitrationWindowSeconds;
    }

    /// @notice One version of the parameters a job settles under, in one storage slot:
    ///         read when a job is matched, completed or slashed for a missed deadline or a
    ///         lapsed match.
    struct SettlementParams {
        // Least collateral locked per job (token wei), whatever its price.
        uint96 minJobCollateral;
        // Collateral locked per job in bps of its price, when that is above the minimum.
        uint16 collateralRatioBps;
        // Protocol fee, bps of the price.
        uint16 protocolFeeBps;
        // Matchmaker fee, bps of what the buyer saves below its ceiling (maxPrice - price).
        uint16 matchmakerFeeBps;
        uint32 challengeWindowSeconds;
        uint32 arbitrationWindowSeconds;
        // Slash for a missed deadline, a declined or a lapsed match, bps of the collateral.
        uint16 missedDeadlineSlashBps;
        // The harmed buyer's and the reporter's shares of any slash; the treasury takes the rest.
        uint16 buyerShareBps;
        uint16 reporterShareBps;
    }

    /// @notice One version of the parameters read only when a job is disputed, in one slot.
    struct DisputeParams {
        // Slash for a fault proven in a dispute, bps of the collateral.
        uint16 faultSlashBps;
        uint96 disputeBond;
    }

    /// @notice What the market reads on a match or a take, in one slot: the version the
    ///         job will settle under, the accept window and the minimum stake.
    struct MatchParams {
        uint24 version;
        uint32 acceptWindowSeconds;
        uint96 minProviderStake;
    }

    /// @notice The caller is not the governance address.
    error NotGovernance(address caller);
    /// @notice The value is outside the parameter's bounds.
    error ParameterOutOfBounds(Parameter parameter, uint256 value, uint256 min, uint256 max);
    /// @notice Deployment bounds are inverted or beyond what the code allows.
    error InvalidBounds(Parameter parameter, uint256 min, uint256 max, uint256 ceiling);
    /// @notice Unbonding must last at least as long as the challenge window, so a provider
    ///         cannot leave with stake that a pending dispute may still claim.
    error UnbondingPeriodBelowChallengeWindow(uint256 unbondingPeriodSeconds, uint256 challengeWindowSeconds);
    /// @notice The buyer's and reporter's shares of a slash together exceed the slash.
    error SlashSharesExceedWhole(uint256 buyerShareBps, uint256 reporterShareBps);
    /// @notice The deployment's lowest bounds would let a missed deadline cost the provider
    ///         nothing or pay the buyer nothing: the smallest collateral times the smallest
    ///         slash rate times the smallest buyer share must be at least one token wei.
    error MissedDeadlineCanCostNothing(uint256 minJobCollateral, uint256 missedDeadlineSlashBps, uint256 buyerShareBps);
    /// @notice Every one of the 2^24 - 1 parameter versions has been published.
    error ParamsVersionsExhausted();
    /// @notice The governance address cannot be zero.
    error ZeroGovernance();
    /// @notice The arbiter cannot be zero, at deployment or after: the market must always
    ///         have someone to judge the work it takes.
    error ZeroArbiter();

    /// @notice Emitted when the minimum provider stake changes (token wei).
    event MinProviderStakeSet(uint256 oldMinProviderStake, uint256 newMinProviderStake);
    /// @notice Emitted when the unbonding period changes.
    event UnbondingPeriodSecondsSet(uint256 oldUnbondingPeriodSeconds, uint256 newUnbondingPeriodSeconds);
    /// @notice Emitted when the accept window changes.
    event AcceptWindowSecondsSet(uint256 oldAcceptWindowSeconds, uint256 newAcceptWindowSeconds);
    /// @notice Emitted when the challenge window changes.
    event ChallengeWindowSecondsSet(uint256 oldChallengeWindowSeconds, uint256 newChallengeWindowSeconds);
    /// @notice Emitted when the collateral locked per job (in bps of its price) changes.
    event CollateralRatioBpsSet(uint256 oldCollateralRatioBps, uint256 newCollateralRatioBps);
    /// @notice Emitted when the slash for a missed deadline (bps of collateral) changes.
    event MissedDeadlineSlashBpsSet(uint256 oldMissedDeadlineSlashBps, uint256 newMissedDeadlineSlashBps);
    /// @notice Emitted when the slash for a proven fault (bps of collateral) changes.
    event FaultSlashBpsSet(uint256 oldFaultSlashBps, uint256 newFaultSlashBps);
    /// @notice Emitted when the buyer's share of a slash changes.
    event BuyerShareBpsSet(uint256 oldBuyerShareBps, uint256 newBuyerShareBps);
    /// @notice Emitted when the reporter's share of a slash changes.
    event ReporterShareBpsSet(uint256 oldReporterShareBps, uint256 newReporterShareBps);
    /// @notice Emitted when the protocol fee (bps of a job's price) changes.
    event ProtocolFeeBpsSet(uint256 oldProtocolFeeBps, uint256 newProtocolFeeBps);
    /// @notice Emitted when the matchmaker fee (bps of the buyer's saving) changes.
    event MatchmakerFeeBpsSet(uint256 oldMatchmakerFeeBps, uint256 newMatchmakerFeeBps);
    /// @notice Emitted when the dispute bond (token wei) changes.
    event DisputeBondSet(uint256 oldDisputeBond, uint256 newDisputeBond);
    /// @notice Emitted when the least collateral per job (token wei) changes.
    event MinJobCollateralSet(uint256 oldMinJobCollateral, uint256 newMinJobCollateral);
    /// @notice Emitted when the arbitration window changes.
    event ArbitrationWindowSecondsSet(uint256 oldArbitrationWindowSeconds, uint256 newArbitrationWindowSeconds);
    /// @notice Emitted when governance picks a new arbiter.
    event ArbiterSet(address oldArbiter, address newArbiter);
    /// @notice Emitted when a change to a job's terms publishes a new parameter version; the
    ///         change itself follows in its own event.
    event ParamsVersionSet(uint256 oldVersion, uint256 newVersion);

    /// @notice The only account that can change parameters: the timelock.
    function governance() external view returns (address);
    /// @notice Where protocol fees and the rest of slashes are credited: the timelock.
    function treasury() external view returns (address);
    /// @notice The bounds a parameter is held to for the life of this deployment.
    function bounds(Parameter parameter) external view returns (uint256 min, uint256 max);
    /// @notice The version of the settlement and dispute parameters now in force (from 1).
    function version() external view returns (uint256);
    /// @notice What a match or take made now is checked against, in one read.
    function matchParams() external view returns (MatchParams memory);
    /// @notice The settlement parameters of `version_` (zeros for a version never published).
    function settlementParams(uint24 version_) external view returns (SettlementParams memory);
    /// @notice The dispute parameters of `version_` (zeros for a version never published).
    function disputeParams(uint24 version_) external view returns (DisputeParams memory);

    /// @notice Least stake (token wei) a provider needs, beyond its locked collateral, to be matched.
    function minProviderStake() external view returns (uint256);
    /// @notice Seconds between a request to unbond stake and its withdrawal.
    function unbondingPeriodSeconds() external view returns (uint256);
    /// @notice Seconds a matched provider has to accept or decline.
    function acceptWindowSeconds() external view returns (uint256);
    /// @notice Seconds a buyer has to dispute a submitted result (current version).
    function challengeWindowSeconds() external view returns (uint256);
    /// @notice Collateral locked per job, in bps of its price (current version).
    function collateralRatioBps() external view returns (uint256);
    /// @notice Slash for a missed deadline or a declined or lapsed match, in bps of the
    ///         job's collateral (current version).
    function missedDeadlineSlashBps() external view returns (uint256);
    /// @notice Slash for a fault proven in a dispute, in bps of the job's collateral (current version).
    function faultSlashBps() external view returns (uint256);
    /// @notice The harmed buyer's share of a slash, in bps (current version).
    function buyerShareBps() external view returns (uint256);
    /// @notice The reporter's share of a slash, in bps (current version).
    function reporterShareBps() external view returns (uint256);
    /// @notice Protocol fee, in bps of a completed job's price (current version).
    function protocolFeeBps() external view returns (uint256);
    /// @notice Matchmaker fee, in bps of what a completed job's buyer saves below its
    ///         ceiling (current version).
    function matchmakerFeeBps() external view returns (uint256);
    /// @notice Bond (token wei) a buyer posts to dispute a result (current version).
    function disputeBond() external view returns (uint256);
    /// @notice Least collateral (token wei) locked per job whatever its price (current version).
    function minJobCollateral() external view returns (uint256);
    /// @notice Seconds the arbiter has to rule on a dispute (current version).
    function arbitrationWindowSeconds() external view returns (uint256);
    /// @notice The account that resolves disputes: set at deployment and never zero, so no
    ///         work is ever taken that nobody could judge.
    function arbiter() external view returns (address);

    /// @notice Sets the minimum provider stake. Only governance; within bounds.
    function setMinProviderStake(uint256 newMinProviderStake) external;
    /// @notice Sets the unbonding period. Only governance; within bounds and not below the
    ///         challenge window.
    function setUnbondingPeriodSeconds(uint256 newUnbondingPeriodSeconds) external;
    /// @notice Sets the accept window. Only governance; within bounds.
    function setAcceptWindowSeconds(uint256 newAcceptWindowSeconds) external;
    /// @notice Sets the challenge window (new version). Only governance; within bounds and
    ///         not above the unbonding period.
    function setChallengeWindowSeconds(uint256 newChallengeWindowSeconds) external;
    /// @notice Sets the collateral ratio (new version). Only governance; within bounds.
    function setCollateralRatioBps(uint256 newCollateralRatioBps) external;
    /// @notice Sets the missed-deadline slash (new version). Only governance; within bounds.
    function setMissedDeadlineSlashBps(uint256 newMissedDeadlineSlashBps) external;
    /// @notice Sets the proven-fault slash (new version). Only governance; within bounds.
    function setFaultSlashBps(uint256 newFaultSlashBps) external;
    /// @notice Sets the buyer's share of slashes (new version). Only governance; within
    ///         bounds, and with the reporter's share at most 100%.
    function setBuyerShareBps(uint256 newBuyerShareBps) external;
    /// @notice Sets the reporter's share of slashes (new version). Only governance; within
    ///         bounds, and with the buyer's share at most 100%.
    function setReporterShareBps(uint256 newReporterShareBps) external;
    /// @notice Sets the protocol fee (new version). Only governance; within bounds.
    function setProtocolFeeBps(uint256 newProtocolFeeBps) external;
    /// @notice Sets the matchmaker fee (new version). Only governance; within bounds.
    function setMatchmakerFeeBps(uint256 newMatchmakerFeeBps) external;
    /// @notice Sets the dispute bond (new version). Only governance; within bounds.
    function setDisputeBond(uint256 newDisputeBond) external;
    /// @notice Sets the least collateral per job (new version). Only governance; within bounds.
    function setMinJobCollateral(uint256 newMinJobCollateral) external;
    /// @notice Sets the arbitration window (new version). Only governance; within bounds.
    function setArbitrationWindowSeconds(uint256 newArbitrationWindowSeconds) external;
    /// @notice Picks the arbiter of disputes. Only governance; never zero.
    function setArbiter(address newArbiter) external;
}
