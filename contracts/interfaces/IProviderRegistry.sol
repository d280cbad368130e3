// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Resources} from "../types/Job.sol";
import {HourlyPrices} from "../libraries/Pricing.sol";

/// @title The registry of compute providers: listings, stake, capacity and reputation
/// @notice Providers register a listing (capacity, region, GPU model, hourly prices,
///         endpoint) with stake, may pause and resume, add stake, and unbond it after the
///         unbonding period. The market reserves capacity and locks collateral when it
///         matches a job, and releases or slashes both when the job settles.
/// @dev Changes the market makes (capacity in use, locked collateral, completed jobs) are
///      not re-emitted here: the market's job events carry every value they follow from.
interface IProviderRegistry {
    /// @notice Where a provider stands.
    enum ProviderStatus {
        None, //   never registered
        Active, // may be matched
        Paused //  keeps running its jobs but takes no new ones
    }

    /// @notice Why a provider was slashed.
    enum SlashReason {
        MissedDeadline,
        ProvenFault,
        // Declined a match, or let it lapse unanswered.
        LapsedMatch
    }

    /// @notice The resources a capacity check is about, for errors.
    enum Resource {
        Cpu,
        Memory,
        Storage,
        Gpu
    }

    /// @notice A provider's whole record, for readers.
    struct ProviderView {
        ProviderStatus status;
        Resources capacity;
        Resources used;
        HourlyPrices prices;
        string endpoint;
        uint256 stake;
        uint256 lockedCollateral;
        uint256 unbonding;
        uint256 unbondingUnlocksAt;
        uint256 completedJobs;
        uint256 missedDeadlines;
        uint256 disputesLost;
        uint256 lapsedMatches;
        uint256 totalSlashed;
    }

    /// @notice The caller is not the market.
    error NotMarket(address caller);
    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The provider is registered already.
    error ProviderAlreadyRegistered(address provider);
    /// @notice The provider has never registered.
    error ProviderNotRegistered(address provider);
    /// @notice The provider is not in the status the call needs.
    error ProviderStatusMismatch(address provider, ProviderStatus status, ProviderStatus required);
    /// @notice A listing must offer some CPU and memory.
    error ZeroCapacity();
    /// @notice The endpoint is longer than the registry stores.
    error EndpointTooLong(uint256 length, uint256 maxLength);
    /// @notice A new listing would offer less of a resource than jobs already use.
    error CapacityBelowUsage(address provider, Resource resource, uint256 used, uint256 capacity);
    /// @notice The provider has too little of a resource free for the job.
    error InsufficientCapacity(address provider, Resource resource, uint256 free, uint256 needed);
    /// @notice The job asks for a region the provider is not in.
    error RegionMismatch(address provider, bytes16 providerRegion, bytes16 jobRegion);
    /// @notice The job asks for a GPU model the provider does not list.
    error GpuModelMismatch(address provider, bytes16 providerGpuModel, bytes16 jobGpuModel);
    /// @notice The provider's stake not locked as collateral is less than needed.
    error InsufficientFreeStake(address provider, uint256 freeStake, uint256 needed);
    /// @notice To be matched, a provider's free stake must cover the minimum stake plus the
    ///         job's collateral.
    error InsufficientStake(address provider, uint256 freeStake, uint256 required);
    /// @notice Amounts must be positive.
    error ZeroAmount();
    /// @notice There is no unbonded stake to withdraw.
    error NothingToWithdraw(address provider);
    /// @notice The unbonding period has not passed.
    error UnbondingNotElapsed(address provider, uint256 unlocksAt);

    /// @notice Emitted on registration with the whole starting listing and stake.
    event ProviderRegistered(
        address indexed provider, Resources capacity, HourlyPrices prices, string endpoint, uint256 stake
    );
    /// @notice Emitted when a provider replaces its listing.
    event ListingUpdated(address indexed provider, Resources capacity, HourlyPrices prices, string endpoint);
    /// @notice Emitted when a provider pauses or resumes.
    event ProviderStatusChanged(address indexed provider, ProviderStatus oldStatus, ProviderStatus newStatus);
    /// @notice Emitted when stake is added.
    event StakeAdded(address indexed provider, uint256 amount, uint256 newStake);
    /// @notice Emitted when stake starts unbonding. A new request adds to the amount
    ///         unbonding and restarts the period for all of it.
    event UnbondingRequested(
        address indexed provider, uint256 amount, uint256 newStake, uint256 newUnbonding, uint256 unlocksAt
    );
    /// @notice Emitted when unbonded stake is withdrawn.
    event UnbondedWithdrawn(address indexed provider, uint256 amount);
    /// @notice Emitted when the market slashes a provider; the tokens move to the market.
    event ProviderSlashed(address indexed provider, SlashReason reason, uint256 amount, uint256 newStake);

    // ------------------------------------------------------------------ providers

    /// @notice Registers the caller as a provider with a listing and an initial stake.
    /// @param capacity What the provider offers (its region and GPU model included).
    /// @param prices Hourly prices per resource, in gwei of the token.
    /// @param endpoint Where buyers and agents reach the provider (at most 256 bytes).
    /// @param stake Tokens to stake now; the caller must have approved them.
    function register(Resources calldata capacity, HourlyPrices calldata prices, string calldata endpoint, uint256 stake)
        external;

    /// @notice Replaces the caller's listing. Capacity may not drop below what jobs use;
    ///         prices of jobs already matched do not change.
    function updateListing(Resources calldata capacity, HourlyPrices calldata prices, string calldata endpoint)
        external;

    /// @notice Stops new matches for the caller; its running jobs go on.
    function pause() external;

    /// @notice Lets the caller be matched again.
    function resume() external;

    /// @notice Adds `amount` tokens to the caller's stake.
    function addStake(uint256 amount) external;

    /// @notice Starts unbonding `amount` of the caller's free stake (stake not locked as
    ///         collateral). It can be withdrawn once the unbonding period has passed.
    function requestUnbonding(uint256 amount) external;

    /// @notice Withdraws the caller's unbonded stake once its period has passed.
    /// @return amount The tokens sent to the caller.
    function withdrawUnbonded() external returns (uint256 amount);

    // ------------------------------------------------------------------ market

    /// @notice Reserves capacity on `provider` for a job, quotes its price and locks its
    ///         collateral. Only the market.
    /// @dev Checks the provider is active, in the job's region, with the job's GPU model and
    ///      enough free capacity, and that its free stake covers `minStake` plus the
    ///      collateral. Locking at match rather than at accept means an accept cannot fail
    ///      for want of stake, and costs the provider one call less.
    /// @param collateralRatioBps Collateral to lock, in bps of the price...
    /// @param minCollateral ...but never less than this (token wei), whatever the price.
    /// @param minStake Free stake the provider must keep beyond the collateral.
    /// @return price The job's price at the provider's hourly prices, in token wei.
    /// @return collateral The collateral locked: max(price * ratio, minCollateral).
    function reserve(
        address provider,
        Resources calldata resources,
        uint32 durationSeconds,
        uint256 collateralRatioBps,
        uint256 minCollateral,
        uint256 minStake
    ) external returns (uint256 price, uint256 collateral);

    /// @notice Releases a job's capacity and collateral. Only the market.
    /// @param completed Whether the job completed (counts towards the provider's reputation).
    function release(address provider, Resources calldata resources, uint256 collateral, bool completed) external;

    /// @notice Releases a job's capacity and collateral and slashes `amount` of the
    ///         provider's stake to the market. Only the market.
    /// @dev The market never asks for more than the job's collateral, which is locked and
    ///      so always covered by stake: a slash can never fail for want of stake, however
    ///      much the provider has asked to unbond since the fault.
    function slash(
        address provider,
        Resources calldata resources,
        uint256 collateral,
        uint256 amount,
        SlashReason reason
    ) external;

    // ------------------------------------------------------------------ views

    /// @notice The market allowed to reserve, lock, release and slash.
    function market() external view returns (address);

    /// @notice A provider's whole record.
    function providerOf(address provider) external view returns (ProviderView memory);

    /// @notice The price `provider` would charge for `resources` over `durationSeconds`.
    function quote(address provider, Resources calldata resources, uint32 durationSeconds)
        external
        view
        returns (uint256);
}
