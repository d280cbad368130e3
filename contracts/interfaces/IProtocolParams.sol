// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The governed parameters of the Agora market
/// @notice Every parameter has a minimum and a maximum fixed for the life of a deployment,
///         so no vote can set a 100% fee or a one-second unbonding period. Only the
///         governance address (the timelock) changes values; every change emits the old and
///         the new value.
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
        DisputeBond
    }

    /// @notice The lowest and highest value a parameter may take.
    struct Bound {
        uint256 min;
        uint256 max;
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
    }

    /// @notice The parameters the market reads on its hot paths, in one storage slot.
    struct MarketParams {
        uint96 minProviderStake;
        uint32 acceptWindowSeconds;
        uint32 challengeWindowSeconds;
        uint32 unbondingPeriodSeconds;
        uint16 collateralRatioBps;
        uint16 protocolFeeBps;
        uint16 matchmakerFeeBps;
        uint16 missedDeadlineSlashBps;
    }

    /// @notice The parameters read only on the slashing and dispute paths, in one slot.
    struct SlashParams {
        uint16 faultSlashBps;
        uint16 buyerShareBps;
        uint16 reporterShareBps;
        uint96 disputeBond;
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
    /// @notice The governance address cannot be zero.
    error ZeroGovernance();

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
    /// @notice Emitted when the matchmaker fee (bps of a job's price) changes.
    event MatchmakerFeeBpsSet(uint256 oldMatchmakerFeeBps, uint256 newMatchmakerFeeBps);
    /// @notice Emitted when the dispute bond (token wei) changes.
    event DisputeBondSet(uint256 oldDisputeBond, uint256 newDisputeBond);
    /// @notice Emitted when governance picks a new arbiter.
    event ArbiterSet(address oldArbiter, address newArbiter);

    /// @notice The only account that can change parameters: the timelock.
    function governance() external view returns (address);
    /// @notice Where protocol fees and the rest of slashes are credited: the timelock.
    function treasury() external view returns (address);
    /// @notice The bounds a parameter is held to for the life of this deployment.
    function bounds(Parameter parameter) external view returns (uint256 min, uint256 max);
    /// @notice The hot-path parameters in one read.
    function marketParams() external view returns (MarketParams memory);
    /// @notice The slashing and dispute parameters in one read.
    function slashParams() external view returns (SlashParams memory);

    /// @notice Least stake (token wei) a provider needs, beyond its locked collateral, to be matched.
    function minProviderStake() external view returns (uint256);
    /// @notice Seconds between a request to unbond stake and its withdrawal.
    function unbondingPeriodSeconds() external view returns (uint256);
    /// @notice Seconds a matched provider has to accept.
    function acceptWindowSeconds() external view returns (uint256);
    /// @notice Seconds a buyer has to dispute a submitted result.
    function challengeWindowSeconds() external view returns (uint256);
    /// @notice Collateral locked per job, in bps of its price.
    function collateralRatioBps() external view returns (uint256);
    /// @notice Slash for a missed deadline, in bps of the job's collateral.
    function missedDeadlineSlashBps() external view returns (uint256);
    /// @notice Slash for a fault proven in a dispute, in bps of the job's collateral.
    function faultSlashBps() external view returns (uint256);
    /// @notice The harmed buyer's share of a slash, in bps.
    function buyerShareBps() external view returns (uint256);
    /// @notice The reporter's share of a slash, in bps.
    function reporterShareBps() external view returns (uint256);
    /// @notice Protocol fee, in bps of a completed job's price.
    function protocolFeeBps() external view returns (uint256);
    /// @notice Matchmaker fee, in bps of a completed job's price.
    function matchmakerFeeBps() external view returns (uint256);
    /// @notice Bond (token wei) a buyer posts to dispute a result.
    function disputeBond() external view returns (uint256);
    /// @notice The account that resolves disputes; zero while governance has picked none.
    function arbiter() external view returns (address);

    /// @notice Sets the minimum provider stake. Only governance; within bounds.
    function setMinProviderStake(uint256 newMinProviderStake) external;
    /// @notice Sets the unbonding period. Only governance; within bounds and not below the
    ///         challenge window.
    function setUnbondingPeriodSeconds(uint256 newUnbondingPeriodSeconds) external;
    /// @notice Sets the accept window. Only governance; within bounds.
    function setAcceptWindowSeconds(uint256 newAcceptWindowSeconds) external;
    /// @notice Sets the challenge window. Only governance; within bounds and not above the
    ///         unbonding period.
    function setChallengeWindowSeconds(uint256 newChallengeWindowSeconds) external;
    /// @notice Sets the collateral ratio. Only governance; within bounds.
    function setCollateralRatioBps(uint256 newCollateralRatioBps) external;
    /// @notice Sets the missed-deadline slash. Only governance; within bounds.
    function setMissedDeadlineSlashBps(uint256 newMissedDeadlineSlashBps) external;
    /// @notice Sets the proven-fault slash. Only governance; within bounds.
    function setFaultSlashBps(uint256 newFaultSlashBps) external;
    /// @notice Sets the buyer's share of slashes. Only governance; within bounds, and with
    ///         the reporter's share at most 100%.
    function setBuyerShareBps(uint256 newBuyerShareBps) external;
    /// @notice Sets the reporter's share of slashes. Only governance; within bounds, and
    ///         with the buyer's share at most 100%.
    function setReporterShareBps(uint256 newReporterShareBps) external;
    /// @notice Sets the protocol fee. Only governance; within bounds.
    function setProtocolFeeBps(uint256 newProtocolFeeBps) external;
    /// @notice Sets the matchmaker fee. Only governance; within bounds.
    function setMatchmakerFeeBps(uint256 newMatchmakerFeeBps) external;
    /// @notice Sets the dispute bond. Only governance; within bounds.
    function setDisputeBond(uint256 newDisputeBond) external;
    /// @notice Picks the arbiter of disputes. Only governance; zero disables new disputes.
    function setArbiter(address newArbiter) external;
}
