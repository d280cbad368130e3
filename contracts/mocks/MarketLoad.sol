// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {HourlyPrices} from "../libraries/Pricing.sol";
import {JobTerms, Resources} from "../types/Job.sol";

/// @notice Benchmark-only load generator: one contract that is buyer, matchmaker and
///         provider at once, running whole job lives in a loop so a local chain fills with
///         real market events quickly (bench/indexer.py). Not deployed by the deploy script.
contract MarketLoad {
    /// @notice `step` is for the contract's own loop only.
    error OnlySelf();

    IJobMarket public immutable market;
    IProviderRegistry public immutable registry;

    constructor(IJobMarket market_, IProviderRegistry registry_, IERC20 token) {
        market = market_;
        registry = registry_;
        token.approve(address(market_), type(uint256).max);
        token.approve(address(registry_), type(uint256).max);
    }

    function register(uint256 stake) external {
        registry.register(
            Resources(64_000, 262_144, 1_000, 0, bytes16(0), bytes16("eu-west")),
            HourlyPrices(1e8, 1e7, 2e9, 1e6),
            "https://load.example",
            stake
        );
    }

    /// @notice Posts, matches, accepts, delivers and confirms `count` jobs.
    function run(uint256 count, uint64 firstSalt) external {
        for (uint256 i; i < count; ++i) {
            JobTerms memory terms = JobTerms({
                buyer: address(this),
                maxPrice: 1e18,
                specHash: keccak256(abi.encode(firstSalt + i)),
                durationSeconds: 3_600,
                expiresAt: uint40(block.timestamp + 1 days),
                salt: uint64(firstSalt + i),
                resources: Resources(2_000, 4_096, 10, 0, bytes16(0), bytes16(0))
            });
            this.step(terms);
        }
    }

    /// @dev External so `terms` is calldata, as the market takes it.
    function step(JobTerms calldata terms) external {
        if (msg.sender != address(this)) revert OnlySelf();
        market.post(terms);
        market.matchJob(terms, address(this), registry.quote(address(this), terms.resources, terms.durationSeconds));
        market.accept(keccak256(abi.encode(terms)));
        market.submitResult(keccak256(abi.encode(terms)), keccak256("result"));
        market.confirm(terms);
    }
}
