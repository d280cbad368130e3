// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {Resources} from "./types/Job.sol";
import {HourlyPrices, Pricing} from "./libraries/Pricing.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";

/// @title ProviderRegistry
/// @notice Providers' listings, stake, unbonding, capacity in use, locked collateral and
///         reputation counters. Holds the staked and unbonding tokens.
contract ProviderRegistry is IProviderRegistry, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using BasisPoints for uint256;

    uint256 private constant MAX_ENDPOINT_LENGTH = 256;

    /// @dev Six slots per provider, laid out so the market's hot paths touch few of them:
    ///      slot 0 (match, settle):         stake | lockedCollateral | completedJobs | status
    ///      slot 1 (match, settle):         capacity and capacity in use
    ///      slot 2 (match):                 hourly prices
    ///      slot 3 (match, only when the job names a region or GPU model): gpuModel | region
    ///      slot 4 (unbonding, slashing):   unbonding | unlocksAt | missedDeadlines | disputesLost
    ///                                      | lapsedMatches
    ///      slot 5 (slashing):              totalSlashed
    ///      Stake amounts fit uint96 because the token's supply is capped below 2^96. The
    ///      total ever slashed does not (slashed tokens come back as stake and can be slashed
    ///      again), so it has a slot of its own and can never overflow.
    struct Provider {
        uint96 stake; // bonded, slashable, includes lockedCollateral
        uint96 lockedCollateral; // part of stake backing accepted jobs; cannot unbond
        uint32 completedJobs;
        ProviderStatus status;
        uint32 cpuMillicores;
        uint32 memoryMiB;
        uint32 storageGiB;
        uint16 gpuCount;
        uint32 usedCpuMillicores;
        uint32 usedMemoryMiB;
        uint32 usedStorageGiB;
        uint16 usedGpuCount;
        HourlyPrices prices;
        bytes16 gpuModel;
        bytes16 region;
        uint96 unbonding;
        uint40 unbondingUnlocksAt;
        uint32 missedDeadlines;
        uint32 disputesLost;
        uint32 lapsedMatches;
        uint256 totalSlashed;
    }

    IERC20 public immutable token;
    IProtocolParams public immutable params;
    /// @inheritdoc IProviderRegistry
    /// @dev Immutable: the deploy script passes the address the market will be created at
    ///      (the deployer's next CREATE address), and the market's constructor checks it.
    ///      No setter exists, so no key can re-point the registry.
    address public immutable market;

    mapping(address provider => Provider) private _providers;
    mapping(address provider => string) private _endpoints;

    /// @param market_ The address the market will be deployed at.
    constructor(IERC20 token_, IProtocolParams params_, address market_) {
        if (address(token_) == address(0) || address(params_) == address(0) || market_ == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        params = params_;
        market = market_;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ providers

    /// @inheritdoc IProviderRegistry
    function register(Resources calldata capacity, HourlyPrices calldata prices, string calldata endpoint, uint256 stake)
        external
        nonReentrant
    {
        Provider storage p = _providers[msg.sender];
        if (p.status != ProviderStatus.None) revert ProviderAlreadyRegistered(msg.sender);
        _writeListing(p, capacity, prices, endpoint);
        p.status = ProviderStatus.Active;
        p.stake = stake.toUint96();
        emit ProviderRegistered(msg.sender, capacity, prices, endpoint, stake);
        if (stake != 0) token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IProviderRegistry
    function updateListing(Resources calldata capacity, HourlyPrices calldata prices, string calldata endpoint)
        external
    {
        Provider storage p = _registered(msg.sender);
        _revertIfBelowUsage(Resource.Cpu, p.usedCpuMillicores, capacity.cpuMillicores);
        _revertIfBelowUsage(Resource.Memory, p.usedMemoryMiB, capacity.memoryMiB);
        _revertIfBelowUsage(Resource.Storage, p.usedStorageGiB, capacity.storageGiB);
        _revertIfBelowUsage(Resource.Gpu, p.usedGpuCount, capacity.gpuCount);
        _writeListing(p, capacity, prices, endpoint);
        emit ListingUpdated(msg.sender, capacity, prices, endpoint);
    }

    /// @inheritdoc IProviderRegistry
    function pause() external {
        _setStatus(ProviderStatus.Active, ProviderStatus.Paused);
    }

    /// @inheritdoc IProviderRegistry
    function resume() external {
        _setStatus(ProviderStatus.Paused, ProviderStatus.Active);
    }

    /// @inheritdoc IProviderRegistry
    function addStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _registered(msg.sender);
        uint256 newStake = p.stake + amount;
        p.stake = newStake.toUint96();
        emit StakeAdded(msg.sender, amount, newStake);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnbonding(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _registered(msg.sender);
        uint256 free = p.stake - p.lockedCollateral;
        if (amount > free) revert InsufficientFreeStake(msg.sender, free, amount);
        // amount <= free <= stake, and unbonding + stake never exceeds the token supply (< 2^96).
        uint96 newStake;
        uint96 newUnbonding;
        unchecked {
            newStake = p.stake - uint96(amount);
            newUnbonding = p.unbonding + uint96(amount);
        }
        uint40 unlocksAt = uint40(block.timestamp + params.unbondingPeriodSeconds());
        p.stake = newStake;
        p.unbonding = newUnbonding;
        p.unbondingUnlocksAt = unlocksAt;
        emit UnbondingRequested(msg.sender, amount, newStake, newUnbonding, unlocksAt);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawUnbonded() external nonReentrant returns (uint256 amount) {
        Provider storage p = _providers[msg.sender];
        amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        uint256 unlocksAt = p.unbondingUnlocksAt;
        if (block.timestamp < unlocksAt) revert UnbondingNotElapsed(msg.sender, unlocksAt);
        p.unbonding = 0;
        p.unbondingUnlocksAt = 0;
        emit UnbondedWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ market

    /// @inheritdoc IProviderRegistry
    function reserve(
        address provider,
        Resources calldata resources,
        uint32 durationSeconds,
        uint256 collateralRatioBps,
        uint256 minCollateral,
        uint256 minStake
    ) external onlyMarket returns (uint256 price, uint256 collateral) {
        Provider storage p = _providers[provider];
        if (p.status != ProviderStatus.Active) {
            revert ProviderStatusMismatch(provider, p.status, ProviderStatus.Active);
        }
        if (resources.region != bytes16(0) && resources.region != p.region) {
            revert RegionMismatch(provider, p.region, resources.region);
        }
        if (resources.gpuCount != 0 && resources.gpuModel != bytes16(0) && resources.gpuModel != p.gpuModel) {
            revert GpuModelMismatch(provider, p.gpuModel, resources.gpuModel);
        }
        p.usedCpuMillicores = _take(provider, Resource.Cpu, p.usedCpuMillicores, p.cpuMillicores, resources.cpuMillicores);
        p.usedMemoryMiB = _take(provider, Resource.Memory, p.usedMemoryMiB, p.memoryMiB, resources.memoryMiB);
        p.usedStorageGiB = _take(provider, Resource.Storage, p.usedStorageGiB, p.storageGiB, resources.storageGiB);
        p.usedGpuCount = uint16(_take(provider, Resource.Gpu, p.usedGpuCount, p.gpuCount, resources.gpuCount));

        price = Pricing.quote(resources, durationSeconds, p.prices);
        collateral = price.mulBps(collateralRatioBps);
        if (collateral < minCollateral) collateral = minCollateral;
        uint256 locked = p.lockedCollateral;
        uint256 free = p.stake - locked;
        uint256 required = minStake + collateral;
        if (free < required) revert InsufficientStake(provider, free, required);
        // locked + collateral <= locked + free = stake < 2^96.
        p.lockedCollateral = uint96(locked + collateral);
    }

    /// @inheritdoc IProviderRegistry
    function release(address provider, Resources calldata resources, uint256 collateral, bool completed)
        external
        onlyMarket
    {
        Provider storage p = _providers[provider];
        _free(p, resources, collateral);
        if (completed) p.completedJobs += 1;
    }

    /// @inheritdoc IProviderRegistry
    function slash(
        address provider,
        Resources calldata resources,
        uint256 collateral,
        uint256 amount,
        SlashReason reason
    ) external onlyMarket nonReentrant {
        Provider storage p = _providers[provider];
        _free(p, resources, collateral);
        // The market asks for at most the job's collateral, which was part of stake until
        // just now, so this cannot underflow; checked arithmetic guards it anyway.
        uint96 newStake = p.stake - amount.toUint96();
        p.stake = newStake;
        p.totalSlashed += amount;
        if (reason == SlashReason.MissedDeadline) p.missedDeadlines += 1;
        else if (reason == SlashReason.ProvenFault) p.disputesLost += 1;
        else p.lapsedMatches += 1;
        emit ProviderSlashed(provider, reason, amount, newStake);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProviderRegistry
    function providerOf(address provider) external view returns (ProviderView memory v) {
        Provider storage p = _providers[provider];
        v.status = p.status;
        v.capacity = Resources(p.cpuMillicores, p.memoryMiB, p.storageGiB, p.gpuCount, p.gpuModel, p.region);
        v.used = Resources(p.usedCpuMillicores, p.usedMemoryMiB, p.usedStorageGiB, p.usedGpuCount, p.gpuModel, p.region);
        v.prices = p.prices;
        v.endpoint = _endpoints[provider];
        v.stake = p.stake;
        v.lockedCollateral = p.lockedCollateral;
        v.unbonding = p.unbonding;
        v.unbondingUnlocksAt = p.unbondingUnlocksAt;
        v.completedJobs = p.completedJobs;
        v.missedDeadlines = p.missedDeadlines;
        v.disputesLost = p.disputesLost;
        v.lapsedMatches = p.lapsedMatches;
        v.totalSlashed = p.totalSlashed;
    }

    /// @inheritdoc IProviderRegistry
    function quote(address provider, Resources calldata resources, uint32 durationSeconds)
        external
        view
        returns (uint256)
    {
        return Pricing.quote(resources, durationSeconds, _providers[provider].prices);
    }

    // ------------------------------------------------------------------ internal

    function _registered(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (p.status == ProviderStatus.None) revert ProviderNotRegistered(provider);
    }

    function _setStatus(ProviderStatus from, ProviderStatus to) private {
        Provider storage p = _registered(msg.sender);
        if (p.status != from) revert ProviderStatusMismatch(msg.sender, p.status, from);
        p.status = to;
        emit ProviderStatusChanged(msg.sender, from, to);
    }

    function _writeListing(
        Provider storage p,
        Resources calldata capacity,
        HourlyPrices calldata prices,
        string calldata endpoint
    ) private {
        if (capacity.cpuMillicores == 0 || capacity.memoryMiB == 0) revert ZeroCapacity();
        if (bytes(endpoint).length > MAX_ENDPOINT_LENGTH) {
            revert EndpointTooLong(bytes(endpoint).length, MAX_ENDPOINT_LENGTH);
        }
        p.cpuMillicores = capacity.cpuMillicores;
        p.memoryMiB = capacity.memoryMiB;
        p.storageGiB = capacity.storageGiB;
        p.gpuCount = capacity.gpuCount;
        p.gpuModel = capacity.gpuModel;
        p.region = capacity.region;
        p.prices = prices;
        _endpoints[msg.sender] = endpoint;
    }

    /// @dev Returns `used + needed`, reverting when it exceeds `capacity`.
    function _take(address provider, Resource resource, uint256 used, uint256 capacity, uint256 needed)
        private
        pure
        returns (uint32)
    {
        // used <= capacity always holds (reserve and updateListing keep it), so no underflow.
        uint256 free;
        unchecked {
            free = capacity - used;
        }
        if (needed > free) revert InsufficientCapacity(provider, resource, free, needed);
        // used + needed <= capacity, which fits the field the caller writes it back to.
        return uint32(used + needed);
    }

    /// @dev Releases a job's capacity and collateral. The market releases exactly what it
    ///      reserved and locked for the job, so none of these can underflow.
    function _free(Provider storage p, Resources calldata resources, uint256 collateral) private {
        p.usedCpuMillicores -= resources.cpuMillicores;
        p.usedMemoryMiB -= resources.memoryMiB;
        p.usedStorageGiB -= resources.storageGiB;
        p.usedGpuCount -= resources.gpuCount;
        p.lockedCollateral -= collateral.toUint96();
    }

    function _revertIfBelowUsage(Resource resource, uint256 used, uint256 capacity) private view {
        if (capacity < used) revert CapacityBelowUsage(msg.sender, resource, used, capacity);
    }
}
