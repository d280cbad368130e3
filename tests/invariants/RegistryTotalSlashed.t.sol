// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {AgoraToken} from "../../contracts/AgoraToken.sol";
import {ProtocolParams} from "../../contracts/ProtocolParams.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IProtocolParams} from "../../contracts/interfaces/IProtocolParams.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {HourlyPrices} from "../../contracts/libraries/Pricing.sol";
import {Resources} from "../../contracts/types/Job.sol";

/// @notice A provider's lifetime total of slashes must never stop slashes from working.
/// @dev Slashed tokens come back to the market as credits and can be staked and slashed
///      again, so the total slashed over a provider's life is not bounded by the supply.
///      When it was a uint96, a total reaching 2^96 made every later slash of that provider
///      revert, and with it every settlement that slashes (a provider could then miss
///      deadlines for free). This test plays the market and puts the total just under 2^96.
contract RegistryTotalSlashedTest is Test {
    uint256 internal constant TOKEN = 1e18;
    address internal constant PROVIDER = address(0xC1);

    ProviderRegistry internal registry;
    AgoraToken internal token;
    Resources internal job = Resources(1_000, 1_024, 0, 0, bytes16(0), bytes16(0));

    function setUp() public {
        token = new AgoraToken(address(this), 1e9 * TOKEN);
        IProtocolParams.Values memory v = IProtocolParams.Values({
            minProviderStake: 0,
            unbondingPeriodSeconds: 1,
            acceptWindowSeconds: 1,
            challengeWindowSeconds: 1,
            collateralRatioBps: 0,
            missedDeadlineSlashBps: 10_000,
            faultSlashBps: 10_000,
            buyerShareBps: 10_000,
            reporterShareBps: 0,
            protocolFeeBps: 0,
            matchmakerFeeBps: 0,
            disputeBond: 0,
            minJobCollateral: TOKEN,
            arbitrationWindowSeconds: 1
        });
        ProtocolParams params = new ProtocolParams(address(0x60F), v, v, v, address(0xA4B));
        // This test stands in for the market: the registry obeys only it.
        registry = new ProviderRegistry(token, params, address(this));
        token.transfer(PROVIDER, 1_000 * TOKEN);
        vm.startPrank(PROVIDER);
        token.approve(address(registry), type(uint256).max);
        registry.register(
            Resources(16_000, 65_536, 0, 0, bytes16(0), bytes16(0)), HourlyPrices(0, 0, 0, 0), "", 1_000 * TOKEN
        );
        vm.stopPrank();
    }

    /// @dev The registry's storage slot of a provider's totalSlashed: `_providers` is the
    ///      first state variable, and totalSlashed the sixth slot of the record. Checked
    ///      against a real slash before it is used.
    function _totalSlashedSlot() internal pure returns (bytes32) {
        return bytes32(uint256(keccak256(abi.encode(PROVIDER, uint256(0)))) + 5);
    }

    function _slashOneToken() internal {
        (, uint256 collateral) = registry.reserve(PROVIDER, job, 3_600, 0, TOKEN, 0);
        registry.slash(PROVIDER, job, collateral, TOKEN, IProviderRegistry.SlashReason.MissedDeadline);
    }

    function test_SlashingGoesOnPastTwoToTheNinetySix() public {
        _slashOneToken();
        assertEq(uint256(vm.load(address(registry), _totalSlashedSlot())), TOKEN, "slot of totalSlashed");

        uint256 nearTop = uint256(type(uint96).max) - TOKEN / 2;
        vm.store(address(registry), _totalSlashedSlot(), bytes32(nearTop));
        assertEq(registry.providerOf(PROVIDER).totalSlashed, nearTop);

        _slashOneToken();
        assertEq(registry.providerOf(PROVIDER).totalSlashed, nearTop + TOKEN);
        assertGt(registry.providerOf(PROVIDER).totalSlashed, type(uint96).max);
        assertEq(registry.providerOf(PROVIDER).missedDeadlines, 2);
        assertEq(registry.providerOf(PROVIDER).stake, 998 * TOKEN);
    }
}
