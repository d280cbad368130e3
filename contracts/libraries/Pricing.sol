// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Resources} from "../types/Job.sol";

/// @notice A provider's hourly prices, one per resource, in gwei of the token (1e-9 token).
/// @dev Four uint64 prices fill one storage slot; gwei units let a uint64 price reach
///      18 billion tokens per unit-hour while keeping 1e-9 token precision.
struct HourlyPrices {
    uint64 cpuCoreGwei; //      per CPU core (1,000 millicores) per hour
    uint64 memoryGiBGwei; //    per GiB (1,024 MiB) of memory per hour
    uint64 gpuGwei; //          per GPU per hour
    uint64 storageGiBGwei; //   per GiB of storage per hour
}

/// @notice The price of running a set of resources for a duration at given hourly prices.
library Pricing {
    uint256 private constant GWEI = 1e9;
    uint256 private constant SECONDS_PER_HOUR = 3600;
    uint256 private constant MILLICORES_PER_CORE = 1000;
    uint256 private constant MIB_PER_GIB = 1024;
    // Common denominator of the per-millicore and per-MiB terms, so the sum is divided once.
    uint256 private constant SCALE = MILLICORES_PER_CORE * MIB_PER_GIB;

    /// @notice The price in token wei of `req` for `durationSeconds` at `prices`,
    ///         rounded down (in the buyer's favour).
    /// @dev Cannot overflow: each term is below 2^32 * 2^64 * 2^20 = 2^116, their sum
    ///      below 2^118, times 1e9 (< 2^30) and a uint32 duration stays below 2^180.
    function quote(Resources calldata req, uint32 durationSeconds, HourlyPrices memory prices)
        internal
        pure
        returns (uint256)
    {
        uint256 scaledPerHour = uint256(req.cpuMillicores) * prices.cpuCoreGwei * MIB_PER_GIB
            + uint256(req.memoryMiB) * prices.memoryGiBGwei * MILLICORES_PER_CORE
            + uint256(req.gpuCount) * prices.gpuGwei * SCALE
            + uint256(req.storageGiB) * prices.storageGiBGwei * SCALE;
        return (scaledPerHour * GWEI * durationSeconds) / (SCALE * SECONDS_PER_HOUR);
    }
}
