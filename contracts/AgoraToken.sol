// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title AgoraToken
/// @notice The market's token: stake, escrow, fees and votes. Its whole supply is minted
///         once, at deployment, to the distributor the deploy script names; there is no
///         mint function and no owner.
/// @dev Votes are checkpointed by timestamp (ERC-6372 `mode=timestamp`) so governance
///      periods are measured in seconds on any chain. The supply is capped below 2^96 so
///      that every amount the market stores fits its packed uint96 fields.
contract AgoraToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice The initial supply does not fit the market's uint96 amount fields.
    error SupplyTooLarge(uint256 supply, uint256 cap);

    /// @param distributor Receives the whole supply, to hand out as the deployment configures.
    /// @param supply The fixed total supply, in token wei.
    constructor(address distributor, uint256 supply) ERC20("Agora", "AGR") ERC20Permit("Agora") {
        if (supply > type(uint96).max) revert SupplyTooLarge(supply, type(uint96).max);
        _mint(distributor, supply);
    }

    /// @notice The current timepoint of the votes clock: the block timestamp.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice Machine-readable description of the clock (ERC-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
