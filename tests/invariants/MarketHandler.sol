// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {AgoraToken} from "../../contracts/AgoraToken.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {ProtocolParams} from "../../contracts/ProtocolParams.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IProtocolParams} from "../../contracts/interfaces/IProtocolParams.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {HourlyPrices} from "../../contracts/libraries/Pricing.sol";
import {Job, JobState, JobTerms, Resources} from "../../contracts/types/Job.sol";

/// @notice Drives the market with every user action, governance changes and time jumps,
///         keeping ghost records the invariants compare the contracts against.
/// @dev Every action is a real call through the contracts; a call the contracts refuse
///      reverts the handler call, which forge discards (fail_on_revert = false). Ghost
///      flags record any breach an invariant cannot see from end state alone.
contract MarketHandler is CommonBase, StdUtils {
    uint256 internal constant TOKEN = 1e18;
    uint256 internal constant MAX_JOBS = 64;

    AgoraToken public token;
    ProtocolParams public params;
    ProviderRegistry public registry;
    JobMarket public market;

    address public governance = address(0x60F);
    address public arbiter = address(0xA4B);
    address[3] public buyers = [address(0xB1), address(0xB2), address(0xB3)];
    address[3] public providers = [address(0xC1), address(0xC2), address(0xC3)];
    address[2] public agents = [address(0xD1), address(0xD2)];

    JobTerms[] internal _jobs;
    mapping(bytes32 jobId => JobState) public lastState;
    uint64 internal _salt;

    // Ghost flags: each stays false unless the contracts did something they must not.
    bool public ghostBadTransition;
    bool public ghostEarlyUnbondedWithdrawal;
    bool public ghostWithdrawalNotCredit;
    bool public ghostSlashAboveRate;
    uint256 public ghostSlashes;
    uint256 public ghostCompleted;
    mapping(bytes4 selector => uint256) public calls;

    constructor() {
        token = new AgoraToken(address(this), 1e9 * TOKEN);
        params = new ProtocolParams(governance, _mins(), _maxs(), _initial(), arbiter);
        address marketAddress = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        registry = new ProviderRegistry(token, params, marketAddress);
        market = new JobMarket(token, params, registry);

        uint256[3] memory stakes = [uint256(1_050 * TOKEN), 1_500 * TOKEN, 5_000 * TOKEN];
        for (uint256 i; i < 3; ++i) {
            _fund(buyers[i]);
            _fund(providers[i]);
            vm.prank(providers[i]);
            registry.register(
                Resources(8_000, 16_384, 100, 1, bytes16("A100"), bytes16("eu-west")),
                HourlyPrices(uint64(1e8 * (i + 1)), uint64(1e7 * (i + 1)), 2e9, 1e6),
                "https://provider",
                stakes[i]
            );
        }
    }

    // ------------------------------------------------------------------ buyers

    function post(uint256 buyerSeed, uint256 sizeSeed, uint256 ceilingSeed, uint256 expirySeed) public {
        if (_jobs.length >= MAX_JOBS) return;
        address buyer = buyers[buyerSeed % 3];
        uint96[3] memory ceilings = [uint96(1e16), uint96(1e18), uint96(50 * TOKEN)];
        JobTerms memory terms = JobTerms({
            buyer: buyer,
            maxPrice: ceilings[ceilingSeed % 3],
            specHash: keccak256(abi.encode(_salt)),
            durationSeconds: 3_600,
            expiresAt: uint40(block.timestamp + bound(expirySeed, 600, 4 days)),
            salt: ++_salt,
            resources: _size(sizeSeed)
        });
        vm.prank(buyer);
        market.post(terms);
        _jobs.push(terms);
        _record(msg.sig);
    }

    function cancel(uint256 jobSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Open);
        vm.prank(terms.buyer);
        market.cancel(terms);
        _record(msg.sig);
    }

    function expire(uint256 jobSeed, uint256 agentSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Open);
        vm.prank(agents[agentSeed % 2]);
        market.expire(terms);
        _record(msg.sig);
    }

    function confirm(uint256 jobSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Submitted);
        vm.prank(terms.buyer);
        market.confirm(terms);
        ghostCompleted++;
        _record(msg.sig);
    }

    function dispute(uint256 jobSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Submitted);
        vm.prank(terms.buyer);
        market.dispute(terms);
        _record(msg.sig);
    }

    // ------------------------------------------------------------------ matchmakers and keepers

    function matchJob(uint256 jobSeed, uint256 providerSeed, uint256 agentSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Open);
        vm.prank(agents[agentSeed % 2]);
        market.matchJob(terms, providers[providerSeed % 3]);
        _record(msg.sig);
    }

    function _matchTerms(JobTerms memory terms, uint256 seed) internal {
        vm.prank(agents[seed % 2]);
        market.matchJob(terms, providers[(seed / 2) % 3]);
        _record(this.matchJob.selector);
    }

    function reclaim(uint256 jobSeed, uint256 agentSeed) public {
        _reclaimTerms(_pick(jobSeed, JobState.Matched), agentSeed);
    }

    function _reclaimTerms(JobTerms memory terms, uint256 agentSeed) internal {
        vm.prank(agents[agentSeed % 2]);
        market.reclaim(terms);
        _record(this.reclaim.selector);
    }

    function finalize(uint256 jobSeed, uint256 count) public {
        count = bound(count, 1, 5);
        JobTerms[] memory batch = new JobTerms[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _pick(jobSeed + i, JobState.Submitted);
        }
        vm.prank(agents[jobSeed % 2]);
        ghostCompleted += market.finalize(batch);
        _record(msg.sig);
    }

    function slashMissedDeadline(uint256 jobSeed, uint256 agentSeed) public {
        _slashTerms(_pick(jobSeed, JobState.Running), agentSeed);
    }

    function _slashTerms(JobTerms memory terms, uint256 agentSeed) internal {
        bytes32 jobId = keccak256(abi.encode(terms));
        Job memory job = market.jobOf(jobId);
        IProviderRegistry.ProviderView memory before = registry.providerOf(job.provider);
        uint256 collateral = uint256(job.price) * job.collateralRatioBps / 10_000;
        vm.prank(agents[agentSeed % 2]);
        market.slashMissedDeadline(terms);
        uint256 slashed = before.stake - registry.providerOf(job.provider).stake;
        if (slashed > collateral * params.missedDeadlineSlashBps() / 10_000 || slashed > before.lockedCollateral) {
            ghostSlashAboveRate = true;
        }
        ghostSlashes++;
        _record(this.slashMissedDeadline.selector);
    }

    function resolveDispute(uint256 jobSeed, bool providerAtFault) public {
        _resolveTerms(_pick(jobSeed, JobState.Disputed), providerAtFault);
    }

    function _resolveTerms(JobTerms memory terms, bool providerAtFault) internal {
        Job memory job = market.jobOf(keccak256(abi.encode(terms)));
        IProviderRegistry.ProviderView memory before = registry.providerOf(job.provider);
        uint256 collateral = uint256(job.price) * job.collateralRatioBps / 10_000;
        vm.prank(arbiter);
        market.resolveDispute(terms, providerAtFault);
        uint256 slashed = before.stake - registry.providerOf(job.provider).stake;
        if (slashed > collateral * params.faultSlashBps() / 10_000 || slashed > before.lockedCollateral) {
            ghostSlashAboveRate = true;
        }
        if (providerAtFault) ghostSlashes++;
        else ghostCompleted++;
        _record(this.resolveDispute.selector);
    }

    // ------------------------------------------------------------------ providers

    function take(uint256 jobSeed, uint256 providerSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Open);
        vm.prank(providers[providerSeed % 3]);
        market.take(terms);
        _record(msg.sig);
    }

    function accept(uint256 jobSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Matched);
        vm.prank(market.jobOf(keccak256(abi.encode(terms))).provider);
        market.accept(terms);
        _record(msg.sig);
    }

    function submitResult(uint256 jobSeed) public {
        JobTerms memory terms = _pick(jobSeed, JobState.Running);
        bytes32 jobId = keccak256(abi.encode(terms));
        vm.prank(market.jobOf(jobId).provider);
        market.submitResult(jobId, keccak256("result"));
        _record(msg.sig);
    }

    function addStake(uint256 providerSeed, uint256 amount) public {
        vm.prank(providers[providerSeed % 3]);
        registry.addStake(bound(amount, 1, 500 * TOKEN));
        _record(msg.sig);
    }

    function requestUnbonding(uint256 providerSeed, uint256 amount) public {
        vm.prank(providers[providerSeed % 3]);
        registry.requestUnbonding(bound(amount, 1, 5_000 * TOKEN));
        _record(msg.sig);
    }

    function withdrawUnbonded(uint256 providerSeed) public {
        address provider = providers[providerSeed % 3];
        IProviderRegistry.ProviderView memory before = registry.providerOf(provider);
        vm.prank(provider);
        registry.withdrawUnbonded();
        if (block.timestamp < before.unbondingUnlocksAt) ghostEarlyUnbondedWithdrawal = true;
        _record(msg.sig);
    }

    function pauseOrResume(uint256 providerSeed, bool pause) public {
        vm.prank(providers[providerSeed % 3]);
        if (pause) registry.pause();
        else registry.resume();
        _record(msg.sig);
    }

    // ------------------------------------------------------------------ everyone

    function withdraw(uint256 actorSeed) public {
        address[] memory all = actors();
        address who = all[actorSeed % all.length];
        uint256 credit = market.creditOf(who);
        uint256 balance = token.balanceOf(who);
        vm.prank(who);
        uint256 paid = market.withdraw();
        if (paid != credit || token.balanceOf(who) != balance + credit || market.creditOf(who) != 0) {
            ghostWithdrawalNotCredit = true;
        }
        _record(msg.sig);
    }

    /// @dev Governance changes any parameter to any value its bounds allow.
    function govern(uint256 which, uint256 value) public {
        IProtocolParams.Parameter parameter = IProtocolParams.Parameter(which % 12);
        (uint256 min, uint256 max) = params.bounds(parameter);
        // Any stake minimum above the providers' stakes would end all matching for the rest
        // of a run; keep it where it sometimes excludes the smallest provider.
        if (parameter == IProtocolParams.Parameter.MinProviderStake) max = 1_100 * TOKEN;
        value = bound(value, min, max);
        bytes4[12] memory setters = [
            params.setMinProviderStake.selector,
            params.setUnbondingPeriodSeconds.selector,
            params.setAcceptWindowSeconds.selector,
            params.setChallengeWindowSeconds.selector,
            params.setCollateralRatioBps.selector,
            params.setMissedDeadlineSlashBps.selector,
            params.setFaultSlashBps.selector,
            params.setBuyerShareBps.selector,
            params.setReporterShareBps.selector,
            params.setProtocolFeeBps.selector,
            params.setMatchmakerFeeBps.selector,
            params.setDisputeBond.selector
        ];
        vm.prank(governance);
        (bool ok,) = address(params).call(abi.encodeWithSelector(setters[which % 12], value));
        require(ok, "refused by a cross-check");
        _record(msg.sig);
    }

    /// @dev Mostly short jumps, so jobs live long enough to complete; sometimes past a
    ///      window, the challenge period or the unbonding period.
    function warp(uint256 seed) public {
        uint256[6] memory jumps = [uint256(30), 6 minutes, 1 hours + 1, 1 hours + 1, 1 days + 1, 7 days + 1];
        vm.warp(block.timestamp + jumps[seed % 6]);
        _record(msg.sig);
    }

    /// @dev Takes a live job one step along its life; `choice` picks among the steps its
    ///      state allows. Sequences of these reach every state of the machine.
    function advance(uint256 jobSeed, uint256 choice) public {
        (bool found, JobTerms memory terms) = _pickLive(jobSeed);
        if (!found) return post(choice, choice / 3, choice / 9, 2 days + choice);
        bytes32 jobId = keccak256(abi.encode(terms));
        JobState state = lastState[jobId];
        uint256 deadline = market.jobOf(jobId).deadline;
        // Mostly the step the clock allows; one time in seven, any step, to hit the edges.
        bool anyStep = choice % 7 == 0;
        if (state == JobState.Open) {
            if (!anyStep && block.timestamp >= terms.expiresAt) return expire(jobSeed, choice);
            if (!anyStep && terms.maxPrice < 1e17) return cancel(jobSeed); // priced out: give up
            if (choice % 4 == 0) return take(choice, jobSeed);
            if (choice % 8 == 1) return cancel(jobSeed);
            return _matchTerms(terms, choice);
        }
        if (state == JobState.Matched) {
            if (choice % 5 == 0 || (!anyStep && block.timestamp > deadline)) return _reclaimTerms(terms, choice);
            vm.prank(market.jobOf(jobId).provider);
            market.accept(terms);
            return _record(this.accept.selector);
        }
        if (state == JobState.Running) {
            if (choice % 5 == 0 || (!anyStep && block.timestamp > deadline)) return _slashTerms(terms, choice);
            vm.prank(market.jobOf(jobId).provider);
            market.submitResult(jobId, keccak256("result"));
            return _record(this.submitResult.selector);
        }
        if (state == JobState.Submitted) {
            bool windowOpen = block.timestamp <= deadline;
            if (choice % 4 == 0 && (anyStep || windowOpen)) {
                vm.prank(terms.buyer);
                market.dispute(terms);
                return _record(this.dispute.selector);
            }
            if (choice % 4 == 1 || (!anyStep && windowOpen)) {
                vm.prank(terms.buyer);
                market.confirm(terms);
                ghostCompleted++;
                return _record(this.confirm.selector);
            }
            return finalize(jobSeed, choice);
        }
        // Disputed
        return _resolveTerms(terms, choice % 2 == 0);
    }

    // ------------------------------------------------------------------ views for invariants

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function jobAt(uint256 i) external view returns (JobTerms memory) {
        return _jobs[i];
    }

    function actors() public view returns (address[] memory all) {
        all = new address[](12);
        for (uint256 i; i < 3; ++i) {
            all[i] = buyers[i];
            all[3 + i] = providers[i];
        }
        all[6] = agents[0];
        all[7] = agents[1];
        all[8] = governance;
        all[9] = arbiter;
        all[10] = address(this);
        all[11] = address(market);
    }

    // ------------------------------------------------------------------ internal

    /// @dev After every successful action: check each job moved only along the machine.
    function _record(bytes4 selector) internal {
        calls[selector]++;
        for (uint256 i; i < _jobs.length; ++i) {
            bytes32 jobId = keccak256(abi.encode(_jobs[i]));
            JobState previous = lastState[jobId];
            JobState current = market.jobOf(jobId).state;
            if (current != previous && !_allowed(previous, current)) ghostBadTransition = true;
            lastState[jobId] = current;
        }
    }

    function _allowed(JobState from, JobState to) internal pure returns (bool) {
        if (from == JobState.None) return to == JobState.Open;
        if (from == JobState.Open) return to == JobState.Matched || to == JobState.Running || to == JobState.Refunded;
        if (from == JobState.Matched) return to == JobState.Running || to == JobState.Open || to == JobState.Refunded;
        if (from == JobState.Running) return to == JobState.Submitted || to == JobState.Open || to == JobState.Refunded;
        if (from == JobState.Submitted) return to == JobState.Completed || to == JobState.Disputed;
        if (from == JobState.Disputed) return to == JobState.Completed || to == JobState.Slashed;
        return false; // terminal states never move
    }

    /// @dev A job not yet in a terminal state, if any (the seed picks which).
    function _pickLive(uint256 seed) internal view returns (bool found, JobTerms memory terms) {
        uint256 n = _jobs.length;
        uint256 live;
        for (uint256 i; i < n; ++i) {
            if (_isLive(lastState[keccak256(abi.encode(_jobs[i]))])) live++;
        }
        if (live == 0) return (false, terms);
        uint256 target = seed % live;
        for (uint256 i; i < n; ++i) {
            if (_isLive(lastState[keccak256(abi.encode(_jobs[i]))])) {
                if (target == 0) return (true, _jobs[i]);
                target--;
            }
        }
    }

    function _isLive(JobState state) internal pure returns (bool) {
        return state >= JobState.Open && state <= JobState.Disputed;
    }

    /// @dev A job in `state` if there is one (the seed picks which), else any job.
    function _pick(uint256 seed, JobState state) internal view returns (JobTerms memory) {
        uint256 n = _jobs.length;
        require(n > 0, "no jobs yet");
        uint256 matching;
        for (uint256 i; i < n; ++i) {
            if (lastState[keccak256(abi.encode(_jobs[i]))] == state) matching++;
        }
        if (matching == 0) return _jobs[seed % n];
        uint256 target = seed % matching;
        for (uint256 i; i < n; ++i) {
            if (lastState[keccak256(abi.encode(_jobs[i]))] == state) {
                if (target == 0) return _jobs[i];
                target--;
            }
        }
        revert("unreachable");
    }

    function _size(uint256 seed) internal pure returns (Resources memory) {
        uint256 s = seed % 3;
        if (s == 0) return Resources(1_000, 2_048, 5, 0, bytes16(0), bytes16(0));
        if (s == 1) return Resources(4_000, 8_192, 50, 0, bytes16(0), bytes16("eu-west"));
        return Resources(2_000, 4_096, 0, 1, bytes16("A100"), bytes16(0));
    }

    function _fund(address who) internal {
        token.transfer(who, 100_000 * TOKEN);
        vm.startPrank(who);
        token.approve(address(market), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        vm.stopPrank();
    }

    // DESIGN.md's public bounds and starting values.
    function _mins() internal pure returns (IProtocolParams.Values memory) {
        return IProtocolParams.Values(1 * TOKEN, 1 days, 30, 1 hours, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    function _maxs() internal pure returns (IProtocolParams.Values memory) {
        return IProtocolParams.Values(
            10_000_000 * TOKEN, 90 days, 1 days, 14 days, 50_000, 10_000, 10_000, 10_000, 5_000, 1_000, 500, 1_000_000 * TOKEN
        );
    }

    function _initial() internal pure returns (IProtocolParams.Values memory) {
        return IProtocolParams.Values(
            1_000 * TOKEN, 7 days, 5 minutes, 1 days, 15_000, 5_000, 10_000, 8_000, 500, 100, 50, 100 * TOKEN
        );
    }
}
