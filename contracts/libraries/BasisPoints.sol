// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Fractions expressed in basis points (1 bps = 0.01%).
library BasisPoints {
    /// @notice One whole (100%) in basis points.
    uint256 internal constant WHOLE = 10_000;

    /// @notice `amount` times `bps` / 10,000, rounded down.
    /// @dev Rounding down keeps every share of an amount no larger than the amount, so
    ///      the parts of a payout never exceed the whole and the remainder goes to the
    ///      party named as taking "the rest".
    function mulBps(uint256 amount, uint256 bps) internal pure returns (uint256) {
        return (amount * bps) / WHOLE;
    }
}
