// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only token that calls back into a target whenever it moves tokens out of
///         that target: the reentrancy an attacker's token would attempt.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public callData;
    bool private _entered;

    constructor(address holder, uint256 supply) ERC20("Reentrant", "RE") {
        _mint(holder, supply);
    }

    /// @notice Arms the token: the next transfer out of `target_` calls it with `callData_`.
    function arm(address target_, bytes calldata callData_) external {
        target = target_;
        callData = callData_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == target && target != address(0) && !_entered) {
            _entered = true;
            (bool ok, bytes memory reason) = target.call(callData);
            _entered = false;
            // Surface the target's refusal so tests can check it is the reentrancy guard.
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
    }
}
