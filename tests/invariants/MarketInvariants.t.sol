// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {Job, JobState, JobTerms} from "../../contracts/types/Job.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @notice The money and state invariants of the market, each checked after every call of
///         50,000-call campaigns (see README.md beside this file for them in words).
contract MarketInvariants is Test {
    MarketHandler internal handler;

    function setUp() public {
        handler = new MarketHandler();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](33);
        selectors[0] = handler.post.selector;
        selectors[1] = handler.post.selector; // twice: a market needs jobs
        selectors[2] = handler.cancel.selector;
        selectors[3] = handler.expire.selector;
        selectors[4] = handler.confirm.selector;
        selectors[5] = handler.dispute.selector;
        selectors[6] = handler.matchJob.selector;
        selectors[7] = handler.reclaim.selector;
        selectors[8] = handler.finalize.selector;
        selectors[9] = handler.slashMissedDeadline.selector;
        selectors[10] = handler.resolveDispute.selector;
        selectors[11] = handler.take.selector;
        selectors[12] = handler.accept.selector;
        selectors[13] = handler.submitResult.selector;
        selectors[14] = handler.addStake.selector;
        selectors[15] = handler.requestUnbonding.selector;
        selectors[16] = handler.withdrawUnbonded.selector;
        selectors[17] = handler.pauseOrResume.selector;
        selectors[18] = handler.withdraw.selector;
        selectors[19] = handler.govern.selector;
        selectors[20] = handler.warp.selector;
        selectors[21] = handler.warp.selector;
        // A third of the calls go to `advance`, so sequences carry jobs through their lives.
        for (uint256 i = 22; i < 33; ++i) {
            selectors[i] = handler.advance.selector;
        }
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// The market holds exactly the escrow of live jobs, the bonds of disputed jobs and
    /// every credited balance; the registry exactly every stake and unbonding amount.
    function invariant_TokensAreConserved() public view {
        uint256 liabilities;
        uint256 n = handler.jobCount();
        for (uint256 i; i < n; ++i) {
            JobTerms memory terms = handler.jobAt(i);
            bytes32 jobId = keccak256(abi.encode(terms));
            JobState state = handler.market().jobOf(jobId).state;
            if (state >= JobState.Open && state <= JobState.Disputed) liabilities += terms.maxPrice;
            if (state == JobState.Disputed) liabilities += handler.market().disputeBondOf(jobId);
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            liabilities += handler.market().creditOf(actors[i]);
        }
        assertEq(handler.token().balanceOf(address(handler.market())), liabilities, "market balance");

        uint256 staked;
        for (uint256 i; i < 3; ++i) {
            IProviderRegistry.ProviderView memory v = handler.registry().providerOf(handler.providers(i));
            staked += v.stake + v.unbonding;
        }
        assertEq(handler.token().balanceOf(address(handler.registry())), staked, "registry balance");
    }

    /// Each provider's locked collateral and capacity in use are exactly those of its live
    /// matches, and its locked collateral never exceeds its stake.
    function invariant_CollateralAndCapacityMatchLiveJobs() public view {
        for (uint256 p; p < 3; ++p) {
            address provider = handler.providers(p);
            uint256 locked;
            uint256 cpu;
            uint256 gpus;
            uint256 n = handler.jobCount();
            for (uint256 i; i < n; ++i) {
                JobTerms memory terms = handler.jobAt(i);
                Job memory job = handler.market().jobOf(keccak256(abi.encode(terms)));
                if (job.provider == provider && job.state >= JobState.Matched && job.state <= JobState.Disputed) {
                    locked += uint256(job.price) * job.collateralRatioBps / 10_000;
                    cpu += terms.resources.cpuMillicores;
                    gpus += terms.resources.gpuCount;
                }
            }
            IProviderRegistry.ProviderView memory v = handler.registry().providerOf(provider);
            assertEq(v.lockedCollateral, locked, "locked collateral");
            assertEq(v.used.cpuMillicores, cpu, "cpu in use");
            assertEq(v.used.gpuCount, gpus, "gpus in use");
            assertLe(v.lockedCollateral, v.stake, "locked <= stake");
        }
    }

    /// A job's state only ever moves along the state machine.
    function invariant_JobsMoveOnlyAlongTheMachine() public view {
        assertFalse(handler.ghostBadTransition(), "transition outside the machine");
    }

    /// Nothing is withdrawn before its time, and a withdrawal pays exactly what is credited.
    function invariant_NothingWithdrawnBeforeItsTime() public view {
        assertFalse(handler.ghostEarlyUnbondedWithdrawal(), "unbonded stake withdrawn early");
        assertFalse(handler.ghostWithdrawalNotCredit(), "withdrawal differs from credit");
    }

    /// A slash never exceeds its rate times the job's collateral, nor the provider's locked stake.
    function invariant_SlashNeverExceedsRateTimesCollateral() public view {
        assertFalse(handler.ghostSlashAboveRate(), "slash above rate");
    }
}
