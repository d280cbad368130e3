// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {JobMarket} from "../../contracts/JobMarket.sol";
import {IProtocolParams} from "../../contracts/interfaces/IProtocolParams.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {Job, JobState, JobTerms} from "../../contracts/types/Job.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @notice The money, capacity, timing and pricing invariants of the market, each checked
///         after every call of 50,000-call campaigns (see README.md beside this file).
contract MarketInvariants is Test {
    MarketHandler internal handler;
    JobMarket internal market;

    function setUp() public {
        handler = new MarketHandler();
        market = handler.market();
        targetContract(address(handler));
        // Weights: most calls carry jobs through their lives or to the edge of a window.
        bytes4[] memory selectors = new bytes4[](40);
        uint256 n;
        for (uint256 i; i < 12; ++i) {
            selectors[n++] = handler.advance.selector;
        }
        for (uint256 i; i < 8; ++i) {
            selectors[n++] = handler.boundary.selector;
        }
        for (uint256 i; i < 3; ++i) {
            selectors[n++] = handler.post.selector;
        }
        selectors[n++] = handler.sybilRematch.selector;
        selectors[n++] = handler.sybilRematch.selector;
        selectors[n++] = handler.frontRunTake.selector;
        selectors[n++] = handler.frontRunTake.selector;
        selectors[n++] = handler.changeListing.selector;
        selectors[n++] = handler.govern.selector;
        selectors[n++] = handler.govern.selector;
        selectors[n++] = handler.setArbiter.selector;
        selectors[n++] = handler.unbondBoundary.selector;
        selectors[n++] = handler.unbondBoundary.selector;
        selectors[n++] = handler.addStake.selector;
        selectors[n++] = handler.requestUnbonding.selector;
        selectors[n++] = handler.withdrawUnbonded.selector;
        selectors[n++] = handler.pauseOrResume.selector;
        selectors[n++] = handler.withdraw.selector;
        selectors[n++] = handler.warp.selector;
        selectors[n++] = handler.warp.selector;
        assert(n == selectors.length);
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // Forge runs one 50,000-call campaign per invariant function, so the checks are grouped
    // into three functions (money; capacity, price and time; liveness), each asserting every
    // invariant of its group after every call. README.md lists each invariant in words.

    /// Money goes exactly where it is due: tokens are conserved, every settlement credits
    /// each party exactly its share, a missed deadline pays the buyer, and stake and credits
    /// leave only when due.
    function invariant_MoneyGoesExactlyWhereDue() public view {
        _tokensAreConserved();
        // Every settlement moves each party's credit by exactly its share, computed from the
        // job's recorded parameter version, and no one else's; a slash takes exactly its rate
        // of the collateral from the provider's stake.
        assertFalse(handler.ghostWrongShare(), handler.wrongShareWhat());
        assertFalse(handler.ghostWrongSlash(), "slash differs from rate x collateral");
        // A missed deadline (a lapsed or declined match, a missed delivery) always credits the
        // buyer a positive amount beyond its escrow.
        assertFalse(handler.ghostMissedDeadlineFree(), "missed deadline paid the buyer nothing");
        // Unbonding is refused above the free stake (tried at free, free + 1 and the whole
        // stake), unbonded stake is never withdrawn early, a withdrawal pays exactly the credit.
        assertFalse(handler.ghostUnbondingBeyondFree(), "unbonding of locked stake");
        assertFalse(handler.ghostEarlyUnbondedWithdrawal(), "unbonded stake withdrawn early");
        assertFalse(handler.ghostWithdrawalNotCredit(), "withdrawal differs from credit");
    }

    /// Capacity, price and time are exact: resources and collateral in use match live jobs
    /// kind by kind, a job's price is its matcher's expected quote, every action happens
    /// only inside its window, and states move only along the machine.
    function invariant_CapacityPriceAndTimeAreExact() public view {
        assertFalse(handler.ghostBadTransition(), "transition outside the machine");
        assertFalse(handler.ghostOutsideWindow(), handler.outsideWindowWhat());
        assertFalse(handler.ghostPriceNotExpected(), "price differs from the matcher's expected price");
        assertFalse(handler.ghostPriceNotQuote(), "price differs from the pricing formula");
        address[] memory providers = handler.allProviders();
        uint256[5][] memory sums = new uint256[5][](providers.length); // cpu, memory, storage, gpu, collateral
        (JobTerms[] memory live, bytes32[] memory ids) = handler.liveJobs();
        for (uint256 i; i < live.length; ++i) {
            JobTerms memory terms = live[i];
            bytes32 jobId = ids[i];
            Job memory job = market.jobOf(jobId);
            _deadlineIsTheHandlers(terms, jobId, job);
            if (job.state < JobState.Matched || job.state > JobState.Disputed) continue;
            _priceIsTheExpectedQuote(jobId, job);
            for (uint256 p; p < providers.length; ++p) {
                if (job.provider != providers[p]) continue;
                sums[p][0] += terms.resources.cpuMillicores;
                sums[p][1] += terms.resources.memoryMiB;
                sums[p][2] += terms.resources.storageGiB;
                sums[p][3] += terms.resources.gpuCount;
                sums[p][4] += handler.collateralOf(jobId);
            }
        }
        // Each provider's capacity in use, kind by kind, and its locked collateral are exactly
        // the sums over its live matches; locked collateral never exceeds its stake.
        for (uint256 p; p < providers.length; ++p) {
            IProviderRegistry.ProviderView memory v = handler.registry().providerOf(providers[p]);
            assertEq(v.used.cpuMillicores, sums[p][0], "cpu in use");
            assertEq(v.used.memoryMiB, sums[p][1], "memory in use");
            assertEq(v.used.storageGiB, sums[p][2], "storage in use");
            assertEq(v.used.gpuCount, sums[p][3], "gpus in use");
            assertEq(v.lockedCollateral, sums[p][4], "locked collateral");
            assertLe(v.lockedCollateral, v.stake, "locked <= stake");
        }
    }

    /// Every live job can move and ends in bounded time: a third party can call one of its
    /// transitions within a bounded wait, and doing so in turn returns the buyer's escrow
    /// (or completes the job) by the job's escrow bound; nobody can block the market.
    function invariant_EveryLiveJobEndsInBoundedTime() public {
        assertFalse(handler.ghostZeroArbiter(), "governance removed the arbiter");
        assertTrue(handler.params().arbiter() != address(0), "no arbiter");
        assertFalse(handler.ghostFrontRunBlocked(), "a front-running match blocked a take");
        // One live job per check, in turn, keeps the campaign fast; each is probed many times
        // over a run.
        (bool found, uint256 i) = handler.liveJobAt(handler.totalCalls());
        if (!found) return;
        (bool moved, bool back, bool inTime) = _probe(i);
        assertTrue(moved, "a live job has no transition within its bound");
        assertTrue(back, "escrow not back and job not completed");
        assertTrue(inTime, "escrow back only after its bound");
    }

    /// The market holds exactly the escrow of live jobs, the bonds of disputed jobs and
    /// every credited balance; the registry exactly every stake and unbonding amount.
    function _tokensAreConserved() internal view {
        uint256 liabilities;
        (JobTerms[] memory live, bytes32[] memory ids) = handler.liveJobs();
        for (uint256 i; i < live.length; ++i) {
            JobTerms memory terms = live[i];
            bytes32 jobId = ids[i];
            JobState state = market.jobOf(jobId).state;
            if (state >= JobState.Open && state <= JobState.Disputed) liabilities += terms.maxPrice;
            if (state == JobState.Disputed) liabilities += market.disputeBondOf(jobId);
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            liabilities += market.creditOf(actors[i]);
        }
        assertEq(handler.token().balanceOf(address(market)), liabilities, "market balance");

        uint256 staked;
        address[] memory providers = handler.allProviders();
        for (uint256 i; i < providers.length; ++i) {
            IProviderRegistry.ProviderView memory v = handler.registry().providerOf(providers[i]);
            staked += v.stake + v.unbonding;
        }
        assertEq(handler.token().balanceOf(address(handler.registry())), staked, "registry balance");
    }

    /// Every live job's stored deadline is the one the handler computed from the time of
    /// the action and the job's version.
    function _deadlineIsTheHandlers(JobTerms memory terms, bytes32 jobId, Job memory job) internal view {
        if (job.state == JobState.Open) return assertEq(job.deadline, terms.expiresAt, "open: expiry");
        if (job.state < JobState.Matched || job.state > JobState.Disputed) return;
        MarketHandler.Ghost memory g = handler.ghostOf(jobId);
        if (job.state == JobState.Matched) assertEq(job.deadline, g.acceptDeadline, "matched: accept deadline");
        if (job.state == JobState.Running) assertEq(job.deadline, g.runDeadline, "running: delivery deadline");
        if (job.state == JobState.Submitted) assertEq(job.deadline, g.submittedAt, "submitted: submission time");
        if (job.state == JobState.Disputed) assertEq(job.deadline, g.arbitrationDeadline, "disputed: arbitration deadline");
    }

    /// A matched or taken job's price is the price its matcher (or taker) expected, which is
    /// the pricing formula's quote at the listing it was matched under; it settles under the
    /// parameter version in force at its match, with the provider and matchmaker of its match.
    function _priceIsTheExpectedQuote(bytes32 jobId, Job memory job) internal view {
        MarketHandler.Ghost memory g = handler.ghostOf(jobId);
        assertEq(job.price, g.price, "price is the expected price");
        assertTrue(g.quoteMatched, "price is the quote at the listing");
        assertEq(job.paramsVersion, g.version, "parameter version");
        assertEq(job.provider, g.provider, "provider");
        assertEq(job.matchmaker, g.matchmaker, "matchmaker");
    }

    /// Drives live job `i` with keepers only (expire, reclaim, slash a missed deadline,
    /// finalize, close a dispute), each at the first second it may be called, on a copy of
    /// the state. Returns whether each step was callable within its bound and worked,
    /// whether the buyer got its escrow back or the job completed, and whether that was
    /// within the job's escrow bound.
    function _probe(uint256 i) internal returns (bool moved, bool back, bool inTime) {
        JobTerms memory t = handler.jobAt(i);
        bytes32 id = keccak256(abi.encode(t));
        JobState s = market.jobOf(id).state;
        if (s < JobState.Open || s > JobState.Disputed) return (true, true, true);
        // If the bound has passed already (no keeper came), the escrow must come back at once.
        uint256 escrowBound = handler.escrowBound(i);
        if (escrowBound < block.timestamp) escrowBound = block.timestamp;
        uint256 buyerBefore = market.creditOf(t.buyer);
        uint256 snapshot = vm.snapshotState();
        moved = true;
        for (uint256 step; step < 8 && moved; ++step) {
            Job memory job = market.jobOf(id);
            if (job.state < JobState.Open || job.state > JobState.Disputed) break;
            moved = _keeperStep(t, id, job);
        }
        s = market.jobOf(id).state;
        back = s == JobState.Completed || market.creditOf(t.buyer) >= buyerBefore + t.maxPrice;
        inTime = block.timestamp <= escrowBound;
        vm.revertToState(snapshot);
    }

    function _keeperStep(JobTerms memory t, bytes32 id, Job memory job) internal returns (bool) {
        MarketHandler.Ghost memory g = handler.ghostOf(id);
        IProtocolParams.SettlementParams memory sp = handler.params().settlementParams(g.version);
        uint256 at;
        uint256 maxWait;
        if (job.state == JobState.Open) {
            at = t.expiresAt;
            maxWait = 2 days; // the longest the handler posts a job for
        } else if (job.state == JobState.Matched) {
            at = uint256(job.deadline) + 1;
            maxWait = uint256(g.acceptWindow) + 1;
        } else if (job.state == JobState.Running) {
            at = uint256(job.deadline) + 1;
            maxWait = uint256(t.durationSeconds) + 1;
        } else if (job.state == JobState.Submitted) {
            at = uint256(job.deadline) + sp.challengeWindowSeconds + 1;
            maxWait = uint256(sp.challengeWindowSeconds) + 1;
        } else {
            at = uint256(job.deadline) + 1;
            maxWait = uint256(sp.arbitrationWindowSeconds) + 1;
        }
        if (at > block.timestamp + maxWait) return false;
        if (at > block.timestamp) vm.warp(at);
        address keeper = handler.keeper();
        vm.prank(keeper);
        if (job.state == JobState.Open) {
            try market.expire(t) {
                return true;
            } catch {
                return false;
            }
        }
        if (job.state == JobState.Matched) {
            try market.reclaim(t) {
                return true;
            } catch {
                return false;
            }
        }
        if (job.state == JobState.Running) {
            try market.slashMissedDeadline(t) {
                return true;
            } catch {
                return false;
            }
        }
        if (job.state == JobState.Submitted) {
            JobTerms[] memory batch = new JobTerms[](1);
            batch[0] = t;
            try market.finalize(batch) {
                return true;
            } catch {
                return false;
            }
        }
        try market.closeDispute(t) {
            return true;
        } catch {
            return false;
        }
    }
}
