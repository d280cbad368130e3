// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {AgoraToken} from "../../contracts/AgoraToken.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {ProtocolParams} from "../../contracts/ProtocolParams.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";
import {IProtocolParams} from "../../contracts/interfaces/IProtocolParams.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {HourlyPrices} from "../../contracts/libraries/Pricing.sol";
import {Job, JobState, JobTerms, Resources} from "../../contracts/types/Job.sol";

/// @notice Drives the market with every user action, the adversaries of the market (a
///         matchmaker that re-matches jobs to its own sybil provider every accept window and
///         front-runs takes, a zero-price provider, providers that change their prices under
///         a matchmaker, arbiters that change or stay silent, governance moving every
///         parameter to its bounds) and time jumps to the exact edge of every window, keeping
///         ghost records the invariants compare the contracts against.
/// @dev Every action is a real call through the contracts. Calls whose failure is legitimate
///      (capacity, stake, state) are tried with try/catch and dropped; a call that succeeds
///      where it must not, or fails where it must not, raises a ghost flag. Everything the
///      flags compare against is computed here, independently of the contracts: the price
///      from the listing with the pricing formula, each party's share from the parameters
///      of the job's recorded version, every deadline from the time of the action.
contract MarketHandler is CommonBase, StdUtils {
    uint256 internal constant TOKEN = 1e18;
    /// @dev A modest market: few jobs live at once, so each one is carried through its life.
    uint256 internal constant MAX_JOBS = 16;
    uint256 internal constant MAX_LIVE = 5;
    uint256 internal constant BPS = 10_000;

    AgoraToken public token;
    ProtocolParams public params;
    ProviderRegistry public registry;
    JobMarket public market;

    address public constant governance = address(0x60F);
    address public constant keeper = address(0xE1);
    address public constant mallory = address(0xBAD); // the adversarial matchmaker
    address public constant sybil = address(0x5B1); // mallory's provider: never accepts
    address public constant zeroPriced = address(0xC0); // lists every resource at zero
    address public constant silentArbiter = address(0xA0); // never rules
    address[3] public buyers = [address(0xB1), address(0xB2), address(0xB3)];
    /// @dev Honest providers, then the zero-price one: all four deliver. The sybil is apart.
    address[4] public providers = [address(0xC1), address(0xC2), address(0xC3), zeroPriced];
    address[2] public agents = [address(0xD1), address(0xD2)];
    address[3] public arbiters = [address(0xA1), address(0xA2), silentArbiter];

    JobTerms[] internal _jobs;
    bytes32[] internal _ids;
    mapping(bytes32 jobId => JobState) public lastState;
    uint64 internal _salt;
    address[] internal _actors;
    /// @dev Each provider's prices as the handler last listed them.
    mapping(address provider => HourlyPrices) internal _listed;

    /// @dev What the handler knows of a job's current match, from the calls it made.
    struct Ghost {
        uint24 version; // params.version() when matched or taken
        uint96 price; // the price the matcher (or taker) expected
        address provider;
        address matchmaker; // zero when taken
        uint32 acceptWindow; // the accept window when matched
        uint40 acceptDeadline;
        uint40 runDeadline;
        uint40 submittedAt;
        uint40 arbitrationDeadline;
        uint96 bond;
        bool quoteMatched; // the price equals the pricing formula at the listing matched under
    }

    mapping(bytes32 jobId => Ghost) internal _ghost;

    // Ghost flags: each stays false unless the contracts did something they must not.
    bool public ghostBadTransition;
    bool public ghostEarlyUnbondedWithdrawal;
    bool public ghostWithdrawalNotCredit;
    bool public ghostWrongShare;
    string public wrongShareWhat;
    bool public ghostWrongSlash;
    bool public ghostMissedDeadlineFree;
    bool public ghostOutsideWindow;
    string public outsideWindowWhat;
    bool public ghostPriceNotExpected;
    bool public ghostPriceNotQuote;
    bool public ghostUnbondingBeyondFree;
    bool public ghostZeroArbiter;
    bool public ghostFrontRunBlocked;
    uint256 public ghostSlashes;
    uint256 public ghostCompleted;
    mapping(bytes4 selector => uint256) public calls;
    uint256 internal _totalCalls;

    constructor() {
        token = new AgoraToken(address(this), 1e9 * TOKEN);
        params = new ProtocolParams(governance, _mins(), _maxs(), _initial(), arbiters[0]);
        address marketAddress = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        registry = new ProviderRegistry(token, params, marketAddress);
        market = new JobMarket(token, params, registry);

        for (uint256 i; i < 3; ++i) {
            _fund(buyers[i], 1_000_000 * TOKEN);
            _register(providers[i], _honestPrices(i, 1), 5_000 * TOKEN);
        }
        _register(zeroPriced, HourlyPrices(0, 0, 0, 0), 5_000 * TOKEN);
        // Cheap in every resource, so mallory's matches pass any ceiling.
        _register(sybil, HourlyPrices(1e6, 1e5, 1e7, 1e4), 50_000 * TOKEN);

        for (uint256 i; i < 3; ++i) {
            _actors.push(buyers[i]);
        }
        for (uint256 i; i < 4; ++i) {
            _actors.push(providers[i]);
        }
        _actors.push(sybil);
        _actors.push(agents[0]);
        _actors.push(agents[1]);
        _actors.push(mallory);
        _actors.push(keeper);
        _actors.push(governance);
        for (uint256 i; i < 3; ++i) {
            _actors.push(arbiters[i]);
        }
        _actors.push(address(this));
    }

    // ================================================================== actions

    function post(uint256 buyerSeed, uint256 sizeSeed, uint256 ceilingSeed, uint256 expirySeed) public {
        if (_jobs.length >= MAX_JOBS || _liveCount() >= MAX_LIVE) return;
        address buyer = buyers[buyerSeed % 3];
        // The lowest ceiling only the zero-price provider (or the sybil) can meet.
        uint96[3] memory ceilings = [uint96(1e15), uint96(20 * TOKEN), uint96(60 * TOKEN)];
        uint32[3] memory durations = [uint32(30 minutes), 1 hours, 2 hours];
        JobTerms memory terms = JobTerms({
            buyer: buyer,
            maxPrice: ceilings[ceilingSeed % 3],
            specHash: keccak256(abi.encode(_salt)),
            durationSeconds: durations[(ceilingSeed / 3) % 3],
            expiresAt: uint40(block.timestamp + _bound(expirySeed, 10 minutes, 2 days)),
            salt: ++_salt,
            resources: _size(sizeSeed)
        });
        vm.prank(buyer);
        market.post(terms);
        _jobs.push(terms);
        _ids.push(_id(terms));
        _record(msg.sig);
    }

    /// @dev Takes a live job one step along its life, as honest parties would; `choice`
    ///      picks among the steps its state allows (and sometimes waits for a deadline).
    function advance(uint256 jobSeed, uint256 choice) public {
        (bool found, uint256 idx) = _pickLive(jobSeed);
        if (!found) return post(choice, choice / 3, choice / 7, 1 days + choice);
        JobTerms memory t = _jobs[idx];
        bytes32 id = _id(t);
        Ghost memory g = _ghost[id];
        JobState s = market.jobOf(id).state;
        uint256 c = choice % 16;
        if (s == JobState.Open) {
            if (block.timestamp >= t.expiresAt) {
                _expire(t, keeper);
            } else if (c < 9) {
                _honestMatch(t, choice / 16, c % 3 == 0);
            } else if (c < 14) {
                _take(t, providers[(choice / 16) % 4], true);
            } else if (c == 14) {
                _matchTo(t, sybil, mallory, _quote(t, _listed[sybil]));
            } else {
                _cancel(t);
            }
        } else if (s == JobState.Matched) {
            if (block.timestamp > g.acceptDeadline) {
                _lapse(t, agents[c % 2], 1);
            } else if (g.provider == sybil) {
                // The sybil never answers: the window lapses and mallory re-matches.
                _warpTo(uint256(g.acceptDeadline) + 1);
                _lapse(t, c % 2 == 0 ? mallory : keeper, 1);
                if (block.timestamp < t.expiresAt) _matchTo(t, sybil, mallory, _quote(t, _listed[sybil]));
            } else if (c < 10) {
                _accept(t);
            } else if (c < 12) {
                _takeMatched(t);
            } else if (c < 14) {
                _lapse(t, g.provider, 0); // decline
            } else {
                _cancel(t);
            }
        } else if (s == JobState.Running) {
            if (block.timestamp > g.runDeadline) {
                _lapse(t, c % 3 == 0 ? g.provider : agents[c % 2], 2);
            } else if (c < 13) {
                _submit(t);
            } else {
                _warpTo(uint256(g.runDeadline) + 1);
                // A provider reporting itself earns nothing: the buyer takes the share.
                _lapse(t, c == 13 ? g.provider : agents[c % 2], 2);
            }
        } else if (s == JobState.Submitted) {
            uint256 end = _challengeEnd(g);
            if (block.timestamp > end) {
                _finalize(t, agents[c % 2]);
            } else if (c < 6) {
                _confirm(t);
            } else if (c < 11) {
                _dispute(t);
            } else {
                _warpTo(end + 1);
                _finalize(t, agents[c % 2]);
            }
        } else {
            if (block.timestamp > g.arbitrationDeadline || params.arbiter() == silentArbiter || c < 5) {
                _warpTo(uint256(g.arbitrationDeadline) + 1);
                _closeDispute(t, c % 2 == 0 ? keeper : t.buyer);
            } else {
                _resolve(t, c % 2 == 0);
            }
        }
        _record(msg.sig);
    }

    /// @dev Moves time to the exact edge of a live job's current window and tries the
    ///      actions on each side of it: at the deadline the in-window action must work and
    ///      the after-window one must fail; one second later, the reverse.
    function boundary(uint256 jobSeed, uint256 choice) public {
        (bool found, uint256 idx) = _pickLive(jobSeed);
        if (!found) return;
        JobTerms memory t = _jobs[idx];
        bytes32 id = _id(t);
        JobState s = market.jobOf(id).state;
        if (s == JobState.Open) _edgeOpen(t, choice);
        else if (s == JobState.Matched) _edgeMatched(t, choice);
        else if (s == JobState.Running) _edgeRunning(t, choice);
        else if (s == JobState.Submitted) _edgeSubmitted(t, choice);
        else _edgeDisputed(t, choice);
        _record(msg.sig);
    }

    /// @dev Mallory's game: match an open job to its sybil, let the accept window lapse,
    ///      reclaim (earning the reporter's share of its own sybil's slash) and match again,
    ///      every window, until the job expires.
    function sybilRematch(uint256 jobSeed, uint256 rounds) public {
        (bool found, uint256 idx) = _pickLive(jobSeed);
        if (!found) return;
        JobTerms memory t = _jobs[idx];
        bytes32 id = _id(t);
        rounds = _bound(rounds, 1, 4);
        for (uint256 r; r < rounds; ++r) {
            JobState s = market.jobOf(id).state;
            if (s == JobState.Open) {
                if (block.timestamp >= t.expiresAt) break;
                if (!_matchTo(t, sybil, mallory, _quote(t, _listed[sybil]))) break;
            } else if (s == JobState.Matched && _ghost[id].provider == sybil) {
                _warpTo(uint256(_ghost[id].acceptDeadline) + 1);
                if (!_lapse(t, mallory, 1)) _outside("reclaim of a lapsed sybil match failed");
            } else {
                break;
            }
        }
        _record(msg.sig);
    }

    /// @dev Mallory sees a provider's take in the mempool and front-runs it: with a match
    ///      naming the taker (which the take then overrides, so mallory earns nothing), or a
    ///      match to its sybil (which the take then cannot beat).
    function frontRunTake(uint256 jobSeed, uint256 providerSeed, bool toTaker) public {
        JobTerms memory t = _pick(jobSeed, JobState.Open);
        if (market.jobOf(_id(t)).state != JobState.Open || block.timestamp >= t.expiresAt) return;
        address taker = providers[providerSeed % 4];
        uint256 price = _quote(t, _listed[taker]);
        if (toTaker) {
            if (!_matchTo(t, taker, mallory, price)) return;
            if (!_takeMatched(t)) ghostFrontRunBlocked = true;
        } else {
            if (!_matchTo(t, sybil, mallory, _quote(t, _listed[sybil]))) return;
            vm.prank(taker);
            try market.take(t, price) {
                _outside("take of a job matched to another provider");
            } catch {}
        }
        _record(msg.sig);
    }

    /// @dev A provider changes its prices just before a matchmaker's match lands: the match,
    ///      made at the old price, must fail; at the new price it must work.
    function changeListing(uint256 providerSeed, uint256 level, uint256 jobSeed) public {
        uint256 i = providerSeed % 3;
        address provider = providers[i];
        HourlyPrices memory old = _listed[provider];
        IProviderRegistry.ProviderView memory v = registry.providerOf(provider);
        HourlyPrices memory fresh = _honestPrices(i, 1 + level % 3);
        vm.prank(provider);
        registry.updateListing(v.capacity, fresh, "https://provider");
        _listed[provider] = fresh;
        if (_jobs.length != 0) {
            JobTerms memory t = _pick(jobSeed, JobState.Open);
            if (market.jobOf(_id(t)).state == JobState.Open && block.timestamp < t.expiresAt) {
                uint256 stale = _quote(t, old);
                if (stale != _quote(t, fresh)) {
                    vm.prank(agents[jobSeed % 2]);
                    try market.matchJob(t, provider, stale) {
                        ghostPriceNotExpected = true;
                    } catch {}
                }
                _matchTo(t, provider, agents[jobSeed % 2], _quote(t, fresh));
            }
        }
        _record(msg.sig);
    }

    /// @dev Governance sets any versioned or global parameter, mostly to a bound.
    function govern(uint256 which, uint256 mode, uint256 value) public {
        IProtocolParams.Parameter parameter = IProtocolParams.Parameter(which % 14);
        (uint256 min, uint256 max) = params.bounds(parameter);
        uint256 m = mode % 5;
        if (m == 0) value = min;
        else if (m == 1) value = max;
        else if (m == 2) value = min + 1 <= max ? min + 1 : max;
        else if (m == 3) value = max - 1 >= min ? max - 1 : min;
        else value = _bound(value, min, max);
        bytes4[14] memory setters = [
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
            params.setDisputeBond.selector,
            params.setMinJobCollateral.selector,
            params.setArbitrationWindowSeconds.selector
        ];
        vm.prank(governance);
        (bool ok,) = address(params).call(abi.encodeWithSelector(setters[which % 14], value));
        // Refused only by a cross-check (unbonding vs challenge window, shares over 100%).
        require(ok, "refused by a cross-check");
        _record(msg.sig);
    }

    /// @dev Governance changes the arbiter, sometimes to the one that never rules; it may
    ///      never remove the arbiter.
    function setArbiter(uint256 seed) public {
        vm.prank(governance);
        try params.setArbiter(address(0)) {
            ghostZeroArbiter = true;
        } catch {}
        vm.prank(governance);
        params.setArbiter(arbiters[seed % 3]);
        _record(msg.sig);
    }

    /// @dev Unbonding at the edges: exactly the free stake, one wei more, the whole stake.
    ///      Prefers a provider with collateral locked, where the three differ.
    function unbondBoundary(uint256 providerSeed, uint256 mode) public {
        address provider = providers[providerSeed % 4];
        for (uint256 k; k < 4; ++k) {
            address p = providers[(providerSeed + k) % 4];
            if (registry.providerOf(p).lockedCollateral != 0) {
                provider = p;
                break;
            }
        }
        IProviderRegistry.ProviderView memory v = registry.providerOf(provider);
        uint256 free = v.stake - v.lockedCollateral;
        uint256 m = mode % 3;
        uint256 amount = m == 0 ? free : m == 1 ? free + 1 : v.stake;
        if (amount == 0) return;
        bool mayUnbond = amount <= free;
        vm.prank(provider);
        try registry.requestUnbonding(amount) {
            if (!mayUnbond) ghostUnbondingBeyondFree = true;
            // Stake back in, so the provider keeps working.
            if (mode % 2 == 0) {
                vm.prank(provider);
                registry.addStake(amount);
            }
        } catch (bytes memory err) {
            if (mayUnbond) ghostUnbondingBeyondFree = true;
            else if (bytes4(err) != IProviderRegistry.InsufficientFreeStake.selector) ghostUnbondingBeyondFree = true;
        }
        _record(msg.sig);
    }

    function addStake(uint256 providerSeed, uint256 amount) public {
        vm.prank(providers[providerSeed % 4]);
        registry.addStake(_bound(amount, 1, 2_000 * TOKEN));
        _record(msg.sig);
    }

    function requestUnbonding(uint256 providerSeed, uint256 amount) public {
        vm.prank(providers[providerSeed % 4]);
        registry.requestUnbonding(_bound(amount, 1, 5_000 * TOKEN));
        _record(msg.sig);
    }

    function withdrawUnbonded(uint256 providerSeed) public {
        address provider = providers[providerSeed % 4];
        IProviderRegistry.ProviderView memory before = registry.providerOf(provider);
        vm.prank(provider);
        registry.withdrawUnbonded();
        if (block.timestamp < before.unbondingUnlocksAt) ghostEarlyUnbondedWithdrawal = true;
        _record(msg.sig);
    }

    function pauseOrResume(uint256 providerSeed, bool pause) public {
        vm.prank(providers[providerSeed % 4]);
        if (pause) registry.pause();
        else registry.resume();
        _record(msg.sig);
    }

    function withdraw(uint256 actorSeed) public {
        address who = _actors[actorSeed % _actors.length];
        uint256 credit = market.creditOf(who);
        uint256 balance = token.balanceOf(who);
        vm.prank(who);
        uint256 paid = market.withdraw();
        if (paid != credit || token.balanceOf(who) != balance + credit || market.creditOf(who) != 0) {
            ghostWithdrawalNotCredit = true;
        }
        _record(msg.sig);
    }

    /// @dev Mostly short jumps; sometimes past a window or the unbonding period.
    function warp(uint256 seed) public {
        uint256[6] memory jumps = [uint256(30), 6 minutes, 1 hours + 1, 1 hours + 1, 1 days + 1, 7 days + 1];
        vm.warp(block.timestamp + jumps[seed % 6]);
        _record(msg.sig);
    }

    // ================================================================== window edges

    function _edgeOpen(JobTerms memory t, uint256 choice) internal {
        uint256 expiry = t.expiresAt;
        if (block.timestamp > expiry - 1) return;
        _warpTo(expiry - 1);
        vm.prank(keeper);
        try market.expire(t) {
            return _outside("expire before expiry");
        } catch {}
        if (choice % 2 == 0) {
            // The last second a job may be matched: only a legitimate reason may refuse it.
            _honestMatch(t, choice / 2, false);
            return;
        }
        _warpTo(expiry);
        address provider = providers[(choice / 2) % 4];
        uint256 price = _quote(t, _listed[provider]);
        vm.prank(agents[0]);
        try market.matchJob(t, provider, price) {
            return _outside("match at expiry");
        } catch (bytes memory err) {
            if (bytes4(err) != IJobMarket.JobPastExpiry.selector) return _outside("match at expiry: wrong refusal");
        }
        vm.prank(provider);
        try market.take(t, price) {
            return _outside("take at expiry");
        } catch (bytes memory err) {
            if (bytes4(err) != IJobMarket.JobPastExpiry.selector) return _outside("take at expiry: wrong refusal");
        }
        if (!_expire(t, keeper)) _outside("expire at expiry failed");
    }

    function _edgeMatched(JobTerms memory t, uint256 choice) internal {
        Ghost memory g = _ghost[_id(t)];
        if (block.timestamp > g.acceptDeadline) return;
        _warpTo(g.acceptDeadline);
        vm.prank(keeper);
        try market.reclaim(t) {
            return _outside("reclaim inside the accept window");
        } catch {}
        uint256 c = choice % 3;
        if (g.provider == sybil) c = 2;
        if (c == 0) {
            if (!_accept(t)) _outside("accept at the accept deadline failed");
            return;
        }
        if (c == 1) {
            if (!_takeMatched(t)) _outside("take of own match at the accept deadline failed");
            return;
        }
        _warpTo(uint256(g.acceptDeadline) + 1);
        vm.prank(g.provider);
        try market.accept(_id(t)) {
            return _outside("accept after the accept window");
        } catch {}
        vm.prank(g.provider);
        try market.take(t, g.price) {
            return _outside("take of own match after the accept window");
        } catch {}
        if (!_lapse(t, agents[choice % 2], 1)) _outside("reclaim after the accept window failed");
    }

    function _edgeRunning(JobTerms memory t, uint256 choice) internal {
        Ghost memory g = _ghost[_id(t)];
        if (block.timestamp > g.runDeadline) return;
        _warpTo(g.runDeadline);
        vm.prank(keeper);
        try market.slashMissedDeadline(t) {
            return _outside("missed-deadline slash at the deadline");
        } catch {}
        if (choice % 2 == 0) {
            if (!_submit(t)) _outside("submit at the deadline failed");
            return;
        }
        _warpTo(uint256(g.runDeadline) + 1);
        vm.prank(g.provider);
        try market.submitResult(_id(t), keccak256("late")) {
            return _outside("submit after the deadline");
        } catch {}
        if (!_lapse(t, agents[choice % 2], 2)) _outside("missed-deadline slash after the deadline failed");
    }

    function _edgeSubmitted(JobTerms memory t, uint256 choice) internal {
        Ghost memory g = _ghost[_id(t)];
        uint256 end = _challengeEnd(g);
        if (block.timestamp > end) return;
        _warpTo(end);
        JobTerms[] memory batch = new JobTerms[](1);
        batch[0] = t;
        vm.prank(keeper);
        try market.finalize(batch) {
            return _outside("finalize inside the challenge window");
        } catch {}
        if (choice % 2 == 0) {
            if (!_dispute(t)) _outside("dispute at the end of the challenge window failed");
            return;
        }
        _warpTo(end + 1);
        vm.prank(t.buyer);
        try market.dispute(t) {
            return _outside("dispute after the challenge window");
        } catch {}
        if (!_finalize(t, agents[choice % 2])) _outside("finalize after the challenge window failed");
    }

    function _edgeDisputed(JobTerms memory t, uint256 choice) internal {
        Ghost memory g = _ghost[_id(t)];
        if (block.timestamp > g.arbitrationDeadline) return;
        _warpTo(g.arbitrationDeadline);
        vm.prank(keeper);
        try market.closeDispute(t) {
            return _outside("close inside the arbitration window");
        } catch {}
        address arbiter = params.arbiter();
        // A former arbiter has no say.
        address former = arbiters[(choice / 4) % 3];
        if (former != arbiter) {
            vm.prank(former);
            try market.resolveDispute(t, true) {
                return _outside("resolve by a former arbiter");
            } catch {}
        }
        if (choice % 2 == 0 && arbiter != silentArbiter) {
            if (!_resolve(t, (choice / 2) % 2 == 0)) _outside("resolve at the arbitration deadline failed");
            return;
        }
        _warpTo(uint256(g.arbitrationDeadline) + 1);
        vm.prank(arbiter);
        try market.resolveDispute(t, false) {
            return _outside("resolve after the arbitration window");
        } catch {}
        if (!_closeDispute(t, choice % 3 == 0 ? t.buyer : keeper)) _outside("close after the arbitration window failed");
    }

    // ================================================================== operations
    // Each tries one call; on success it checks every party's credit against what the
    // handler computed, and updates the ghost record. It returns whether the call worked.

    /// @dev An honest matchmaker: to a provider the seed picks, at the price it computed
    ///      from the listing (or, sometimes, read from the registry's quote).
    function _honestMatch(JobTerms memory t, uint256 seed, bool viaRegistryQuote) internal returns (bool) {
        address provider = providers[seed % 4];
        uint256 price = viaRegistryQuote
            ? registry.quote(provider, t.resources, t.durationSeconds)
            : _quote(t, _listed[provider]);
        return _matchTo(t, provider, agents[(seed / 4) % 2], price);
    }

    function _matchTo(JobTerms memory t, address provider, address matcher, uint256 expected) internal returns (bool) {
        bytes32 id = _id(t);
        uint24 version = uint24(params.version());
        uint256 window = params.acceptWindowSeconds();
        vm.prank(matcher);
        try market.matchJob(t, provider, expected) {
            Job memory job = market.jobOf(id);
            if (job.price != expected) ghostPriceNotExpected = true;
            _ghost[id] = Ghost({
                version: version,
                price: uint96(expected),
                provider: provider,
                matchmaker: matcher,
                acceptWindow: uint32(window),
                acceptDeadline: uint40(block.timestamp + window),
                runDeadline: 0,
                submittedAt: 0,
                arbitrationDeadline: 0,
                bond: 0,
                quoteMatched: expected == _quote(t, _listed[provider])
            });
            if (!_ghost[id].quoteMatched) ghostPriceNotQuote = true;
            return true;
        } catch (bytes memory err) {
            _checkMatchRefusal(t, provider, expected, err);
            return false;
        }
    }

    /// @dev A match or take refused before expiry, at the formula's price, may only be
    ///      refused for the provider's state, capacity or stake, or the buyer's ceiling.
    function _checkMatchRefusal(JobTerms memory t, address provider, uint256 expected, bytes memory err) internal {
        bytes4 reason = bytes4(err);
        if (reason == IJobMarket.JobPastExpiry.selector && block.timestamp < t.expiresAt) {
            _outside("match or take refused before expiry");
        }
        if (reason == IJobMarket.PriceChanged.selector && expected == _quote(t, _listed[provider])) {
            // The registry prices the listing differently from the pricing formula.
            ghostPriceNotQuote = true;
        }
    }

    function _take(JobTerms memory t, address provider, bool atQuote) internal returns (bool) {
        bytes32 id = _id(t);
        uint24 version = uint24(params.version());
        uint256 expected = atQuote ? _quote(t, _listed[provider]) : registry.quote(provider, t.resources, t.durationSeconds);
        vm.prank(provider);
        try market.take(t, expected) {
            if (market.jobOf(id).price != expected) ghostPriceNotExpected = true;
            _ghost[id] = Ghost({
                version: version,
                price: uint96(expected),
                provider: provider,
                matchmaker: address(0),
                acceptWindow: 0,
                acceptDeadline: 0,
                runDeadline: uint40(block.timestamp + t.durationSeconds),
                submittedAt: 0,
                arbitrationDeadline: 0,
                bond: 0,
                quoteMatched: expected == _quote(t, _listed[provider])
            });
            if (!_ghost[id].quoteMatched) ghostPriceNotQuote = true;
            return true;
        } catch (bytes memory err) {
            _checkMatchRefusal(t, provider, expected, err);
            return false;
        }
    }

    /// @dev The matched provider takes its own match: Running, with no matchmaker.
    function _takeMatched(JobTerms memory t) internal returns (bool) {
        bytes32 id = _id(t);
        Ghost storage g = _ghost[id];
        vm.prank(g.provider);
        try market.take(t, g.price) {
            g.matchmaker = address(0);
            g.runDeadline = uint40(block.timestamp + t.durationSeconds);
            return true;
        } catch {
            return false;
        }
    }

    function _accept(JobTerms memory t) internal returns (bool) {
        bytes32 id = _id(t);
        Ghost storage g = _ghost[id];
        vm.prank(g.provider);
        try market.accept(id) {
            g.runDeadline = uint40(block.timestamp + t.durationSeconds);
            return true;
        } catch {
            return false;
        }
    }

    function _submit(JobTerms memory t) internal returns (bool) {
        bytes32 id = _id(t);
        vm.prank(_ghost[id].provider);
        try market.submitResult(id, keccak256(abi.encode(id))) {
            _ghost[id].submittedAt = uint40(block.timestamp);
            return true;
        } catch {
            return false;
        }
    }

    function _dispute(JobTerms memory t) internal returns (bool) {
        bytes32 id = _id(t);
        Ghost storage g = _ghost[id];
        uint256 bond = params.disputeParams(g.version).disputeBond;
        uint256 window = params.settlementParams(g.version).arbitrationWindowSeconds;
        vm.prank(t.buyer);
        try market.dispute(t) {
            g.bond = uint96(bond);
            g.arbitrationDeadline = uint40(block.timestamp + window);
            if (market.disputeBondOf(id) != bond) _wrongShare("dispute bond");
            return true;
        } catch {
            return false;
        }
    }

    function _cancel(JobTerms memory t) internal returns (bool) {
        uint256[] memory before = _snap();
        uint256[] memory d = _zeros();
        _add(d, t.buyer, t.maxPrice);
        vm.prank(t.buyer);
        try market.cancel(t) {
            _settled(before, d, "cancel");
            delete _ghost[_id(t)];
            return true;
        } catch {
            return false;
        }
    }

    function _expire(JobTerms memory t, address caller) internal returns (bool) {
        uint256[] memory before = _snap();
        uint256[] memory d = _zeros();
        _add(d, t.buyer, t.maxPrice);
        vm.prank(caller);
        try market.expire(t) {
            _settled(before, d, "expire");
            return true;
        } catch {
            return false;
        }
    }

    /// @dev Completion's shares under the job's version: the provider the price less the
    ///      protocol fee (plus `bonus`), the matchmaker its share of the buyer's saving (only
    ///      if the job was matched), the buyer the rest of the saving, the treasury the fee.
    function _completionShares(JobTerms memory t, Ghost memory g, uint256 bonus)
        internal
        view
        returns (uint256[] memory d)
    {
        IProtocolParams.SettlementParams memory sp = params.settlementParams(g.version);
        d = _zeros();
        uint256 fee = uint256(g.price) * sp.protocolFeeBps / BPS;
        uint256 saving = uint256(t.maxPrice) - g.price;
        uint256 mmFee = g.matchmaker == address(0) ? 0 : saving * sp.matchmakerFeeBps / BPS;
        _add(d, g.provider, g.price - fee + bonus);
        _add(d, g.matchmaker, mmFee);
        _add(d, t.buyer, saving - mmFee);
        _add(d, governance, fee);
    }

    function _confirm(JobTerms memory t) internal returns (bool) {
        Ghost memory g = _ghost[_id(t)];
        uint256[] memory before = _snap();
        uint256[] memory d = _completionShares(t, g, 0);
        vm.prank(t.buyer);
        try market.confirm(t) {
            _settled(before, d, "confirm");
            _released(g, t, 0);
            ghostCompleted++;
            return true;
        } catch {
            return false;
        }
    }

    function _finalize(JobTerms memory t, address caller) internal returns (bool) {
        Ghost memory g = _ghost[_id(t)];
        uint256[] memory before = _snap();
        uint256[] memory d = _completionShares(t, g, 0);
        JobTerms[] memory batch = new JobTerms[](1);
        batch[0] = t;
        vm.prank(caller);
        try market.finalize(batch) returns (uint256 n) {
            if (n != 1) _wrongShare("finalize count");
            _settled(before, d, "finalize");
            _released(g, t, 0);
            ghostCompleted++;
            return true;
        } catch {
            return false;
        }
    }

    function _resolve(JobTerms memory t, bool providerAtFault) internal returns (bool) {
        Ghost memory g = _ghost[_id(t)];
        uint256[] memory before = _snap();
        uint256[] memory d;
        uint256 slash;
        if (providerAtFault) {
            IProtocolParams.SettlementParams memory sp = params.settlementParams(g.version);
            slash = _collateralOf(g) * params.disputeParams(g.version).faultSlashBps / BPS;
            uint256 buyerShare = slash * sp.buyerShareBps / BPS;
            uint256 reporterShare = slash * sp.reporterShareBps / BPS;
            d = _zeros();
            // The buyer reported the fault: its own share, the reporter's, escrow and bond back.
            _add(d, t.buyer, uint256(t.maxPrice) + g.bond + buyerShare + reporterShare);
            _add(d, governance, slash - buyerShare - reporterShare);
        } else {
            d = _completionShares(t, g, g.bond);
        }
        uint256 stakeBefore = registry.providerOf(g.provider).stake;
        vm.prank(params.arbiter());
        try market.resolveDispute(t, providerAtFault) {
            _settled(before, d, providerAtFault ? "resolve: at fault" : "resolve: delivered");
            _released(g, t, stakeBefore - slash);
            if (providerAtFault) ghostSlashes++;
            else ghostCompleted++;
            return true;
        } catch {
            return false;
        }
    }

    function _closeDispute(JobTerms memory t, address caller) internal returns (bool) {
        Ghost memory g = _ghost[_id(t)];
        uint256[] memory before = _snap();
        uint256[] memory d = _zeros();
        // Nobody judged: the escrow back to the buyer, the bond to the provider.
        _add(d, t.buyer, t.maxPrice);
        _add(d, g.provider, g.bond);
        vm.prank(caller);
        try market.closeDispute(t) {
            _settled(before, d, "close dispute");
            _released(g, t, 0);
            return true;
        } catch {
            return false;
        }
    }

    /// @dev A lapse: `kind` 0 decline (the provider), 1 reclaim of a match past its accept
    ///      window, 2 a missed delivery deadline. The provider loses the missed-deadline rate
    ///      of the job's collateral, split buyer / reporter (the caller, or the buyer when
    ///      the caller is the provider) / treasury; an expired job's escrow goes back.
    function _lapse(JobTerms memory t, address caller, uint256 kind) internal returns (bool) {
        bytes32 id = _id(t);
        Ghost memory g = _ghost[id];
        (uint256[] memory d, uint256 slash) = _lapseShares(t, g, caller);
        uint256[] memory before = _snap();
        uint256 stakeBefore = registry.providerOf(g.provider).stake;
        if (!_callLapse(t, caller, kind)) return false;
        _settled(before, d, kind == 0 ? "decline" : kind == 1 ? "reclaim" : "missed deadline");
        _released(g, t, stakeBefore - slash);
        // A missed deadline always pays the buyer something, beyond its own escrow.
        bool refund = market.jobOf(id).state == JobState.Refunded;
        uint256 escrow = refund ? t.maxPrice : 0;
        if (market.creditOf(t.buyer) <= _creditIn(before, t.buyer) + escrow) ghostMissedDeadlineFree = true;
        if (refund != (block.timestamp >= t.expiresAt)) _wrongShare("lapse: wrong state after");
        delete _ghost[id];
        ghostSlashes++;
        return true;
    }

    function _lapseShares(JobTerms memory t, Ghost memory g, address caller)
        internal
        view
        returns (uint256[] memory d, uint256 slash)
    {
        IProtocolParams.SettlementParams memory sp = params.settlementParams(g.version);
        slash = _collateralOf(g) * sp.missedDeadlineSlashBps / BPS;
        uint256 buyerShare = slash * sp.buyerShareBps / BPS;
        uint256 reporterShare = slash * sp.reporterShareBps / BPS;
        d = _zeros();
        _add(d, t.buyer, buyerShare + (block.timestamp >= t.expiresAt ? t.maxPrice : 0));
        _add(d, caller == g.provider ? t.buyer : caller, reporterShare);
        _add(d, governance, slash - buyerShare - reporterShare);
    }

    function _callLapse(JobTerms memory t, address caller, uint256 kind) internal returns (bool) {
        vm.prank(caller);
        if (kind == 0) {
            try market.decline(t) {
                return true;
            } catch {
                return false;
            }
        }
        if (kind == 1) {
            try market.reclaim(t) {
                return true;
            } catch {
                return false;
            }
        }
        try market.slashMissedDeadline(t) {
            return true;
        } catch {
            return false;
        }
    }

    function _creditIn(uint256[] memory snap, address who) internal view returns (uint256) {
        for (uint256 i; i < snap.length; ++i) {
            if (_actors[i] == who) return snap[i];
        }
        return 0;
    }

    /// @dev After a settlement: the provider's stake is exactly `stakeAfter` (its stake less
    ///      the slash), or unchanged when nothing was slashed.
    function _released(Ghost memory g, JobTerms memory, uint256 stakeAfter) internal {
        if (stakeAfter != 0 && registry.providerOf(g.provider).stake != stakeAfter) {
            ghostWrongSlash = true;
        }
    }

    // ================================================================== views for invariants

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function jobAt(uint256 i) external view returns (JobTerms memory) {
        return _jobs[i];
    }

    /// @notice The live jobs (as of the last action), with their ids.
    function liveJobs() external view returns (JobTerms[] memory terms, bytes32[] memory ids) {
        uint256 live = _liveCount();
        terms = new JobTerms[](live);
        ids = new bytes32[](live);
        uint256 k;
        for (uint256 i; i < _ids.length; ++i) {
            if (_isLive(lastState[_ids[i]])) {
                terms[k] = _jobs[i];
                ids[k++] = _ids[i];
            }
        }
    }

    function totalCalls() external view returns (uint256) {
        return _totalCalls;
    }

    /// @notice The `seed`-th live job (mod their number), if any.
    function liveJobAt(uint256 seed) external view returns (bool, uint256) {
        return _pickLive(seed);
    }

    function ghostOf(bytes32 jobId) external view returns (Ghost memory) {
        return _ghost[jobId];
    }

    function listedPrices(address provider) external view returns (HourlyPrices memory) {
        return _listed[provider];
    }

    function actors() public view returns (address[] memory) {
        return _actors;
    }

    /// @dev Every provider the market may lock capacity of: the four that deliver and the sybil.
    function allProviders() public view returns (address[] memory all) {
        all = new address[](5);
        for (uint256 i; i < 4; ++i) {
            all[i] = providers[i];
        }
        all[4] = sybil;
    }

    /// @notice The pricing formula, computed here from the listing: per hour, each resource
    ///         times its hourly price (CPU per 1,000 millicores, memory per 1,024 MiB, GPUs
    ///         and storage per unit), in gwei, times the duration in hours, rounded down.
    function quoteOf(JobTerms memory t, HourlyPrices memory p) public pure returns (uint256) {
        return _quote(t, p);
    }

    /// @notice The collateral the job's provider has locked, from its recorded version.
    function collateralOf(bytes32 jobId) external view returns (uint256) {
        return _collateralOf(_ghost[jobId]);
    }

    /// @notice The latest a live job's escrow can still be held: its expiry, and if it is
    ///         matched, the accept window, its duration and its version's challenge and
    ///         arbitration windows after that.
    function escrowBound(uint256 i) external view returns (uint256) {
        JobTerms memory t = _jobs[i];
        bytes32 id = _id(t);
        JobState s = market.jobOf(id).state;
        if (s == JobState.Open) return t.expiresAt;
        Ghost memory g = _ghost[id];
        IProtocolParams.SettlementParams memory sp = params.settlementParams(g.version);
        return uint256(t.expiresAt) + g.acceptWindow + t.durationSeconds + sp.challengeWindowSeconds
            + sp.arbitrationWindowSeconds;
    }

    // ================================================================== internal

    function _snap() internal view returns (uint256[] memory c) {
        uint256 n = _actors.length;
        c = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            c[i] = market.creditOf(_actors[i]);
        }
    }

    function _zeros() internal view returns (uint256[] memory) {
        return new uint256[](_actors.length);
    }

    function _add(uint256[] memory d, address who, uint256 amount) internal view {
        if (amount == 0) return;
        for (uint256 i; i < d.length; ++i) {
            if (_actors[i] == who) {
                d[i] += amount;
                return;
            }
        }
        revert("credit to an unknown party");
    }

    /// @dev Every party's credit moved by exactly its share, and nobody else's moved.
    function _settled(uint256[] memory before, uint256[] memory d, string memory what) internal {
        for (uint256 i; i < d.length; ++i) {
            if (market.creditOf(_actors[i]) != before[i] + d[i]) _wrongShare(what);
        }
    }

    function _wrongShare(string memory what) internal {
        if (!ghostWrongShare) wrongShareWhat = what;
        ghostWrongShare = true;
    }

    function _outside(string memory what) internal {
        if (!ghostOutsideWindow) outsideWindowWhat = what;
        ghostOutsideWindow = true;
    }

    function _collateralOf(Ghost memory g) internal view returns (uint256 c) {
        IProtocolParams.SettlementParams memory sp = params.settlementParams(g.version);
        c = uint256(g.price) * sp.collateralRatioBps / BPS;
        if (c < sp.minJobCollateral) c = sp.minJobCollateral;
    }

    function _challengeEnd(Ghost memory g) internal view returns (uint256) {
        return uint256(g.submittedAt) + params.settlementParams(g.version).challengeWindowSeconds;
    }

    function _quote(JobTerms memory t, HourlyPrices memory p) internal pure returns (uint256) {
        Resources memory r = t.resources;
        // Per hour, scaled by 1,000 x 1,024 so that millicores and MiB need no division.
        uint256 cpu = uint256(r.cpuMillicores) * p.cpuCoreGwei * 1024;
        uint256 mem = uint256(r.memoryMiB) * p.memoryGiBGwei * 1000;
        uint256 gpu = uint256(r.gpuCount) * p.gpuGwei * 1_024_000;
        uint256 disk = uint256(r.storageGiB) * p.storageGiBGwei * 1_024_000;
        return (cpu + mem + gpu + disk) * 1e9 * t.durationSeconds / (1_024_000 * 3600);
    }

    function _warpTo(uint256 time) internal {
        if (time > block.timestamp) vm.warp(time);
    }

    function _id(JobTerms memory t) internal pure returns (bytes32) {
        return keccak256(abi.encode(t));
    }

    /// @dev After every successful action: check each job moved only along the machine.
    function _record(bytes4 selector) internal {
        calls[selector]++;
        _totalCalls++;
        for (uint256 i; i < _ids.length; ++i) {
            bytes32 jobId = _ids[i];
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
        if (from == JobState.Disputed) {
            return to == JobState.Completed || to == JobState.Slashed || to == JobState.Refunded;
        }
        return false; // terminal states never move
    }

    function _liveCount() internal view returns (uint256 live) {
        for (uint256 i; i < _ids.length; ++i) {
            if (_isLive(lastState[_ids[i]])) live++;
        }
    }

    /// @dev A job not yet in a terminal state, if any (the seed picks which).
    function _pickLive(uint256 seed) internal view returns (bool found, uint256 idx) {
        uint256 n = _jobs.length;
        uint256 live = _liveCount();
        if (live == 0) return (false, 0);
        uint256 target = seed % live;
        for (uint256 i; i < n; ++i) {
            if (_isLive(lastState[_ids[i]])) {
                if (target == 0) return (true, i);
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
            if (lastState[_ids[i]] == state) matching++;
        }
        if (matching == 0) return _jobs[seed % n];
        uint256 target = seed % matching;
        for (uint256 i; i < n; ++i) {
            if (lastState[_ids[i]] == state) {
                if (target == 0) return _jobs[i];
                target--;
            }
        }
        revert("unreachable");
    }

    /// @dev Every job uses all four resource kinds, in amounts a provider fits two to four of.
    function _size(uint256 seed) internal pure returns (Resources memory) {
        uint256 s = seed % 3;
        if (s == 0) return Resources(1_000, 2_048, 50, 1, bytes16(0), bytes16(0));
        if (s == 1) return Resources(4_000, 8_192, 200, 1, bytes16(0), bytes16("eu-west"));
        return Resources(2_000, 4_096, 100, 2, bytes16("A100"), bytes16(0));
    }

    function _honestPrices(uint256 i, uint256 level) internal pure returns (HourlyPrices memory) {
        uint64 k = uint64((i + 1) * level);
        return HourlyPrices(1e8 * k, 1e7 * k, 1e9 * k, 1e6 * k);
    }

    function _register(address provider, HourlyPrices memory prices, uint256 stake) internal {
        _fund(provider, 1_000_000 * TOKEN);
        vm.prank(provider);
        registry.register(
            Resources(16_000, 32_768, 1_000, 4, bytes16("A100"), bytes16("eu-west")), prices, "https://provider", stake
        );
        _listed[provider] = prices;
    }

    function _fund(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(market), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        vm.stopPrank();
    }

    // This deployment's bounds: windows from DESIGN.md; amounts scaled so that a bound never
    // ends the market (the providers' stakes cover the highest stake minimum and collateral).
    // At the lowest bounds a missed deadline pays the buyer exactly 1 wei: 10,000 wei x 1% x 1%.
    function _mins() internal pure returns (IProtocolParams.Values memory v) {
        v.minProviderStake = 1 * TOKEN;
        v.unbondingPeriodSeconds = 1 days;
        v.acceptWindowSeconds = 30;
        v.challengeWindowSeconds = 1 hours;
        v.collateralRatioBps = 0;
        v.missedDeadlineSlashBps = 100;
        v.faultSlashBps = 0;
        v.buyerShareBps = 100;
        v.reporterShareBps = 0;
        v.protocolFeeBps = 0;
        v.matchmakerFeeBps = 0;
        v.disputeBond = 0;
        v.minJobCollateral = 10_000;
        v.arbitrationWindowSeconds = 1 hours;
    }

    function _maxs() internal pure returns (IProtocolParams.Values memory v) {
        v.minProviderStake = 1_000 * TOKEN;
        v.unbondingPeriodSeconds = 90 days;
        v.acceptWindowSeconds = 1 days;
        v.challengeWindowSeconds = 14 days;
        v.collateralRatioBps = 50_000;
        v.missedDeadlineSlashBps = 10_000;
        v.faultSlashBps = 10_000;
        v.buyerShareBps = 10_000;
        v.reporterShareBps = 5_000;
        v.protocolFeeBps = 5_000;
        v.matchmakerFeeBps = 10_000;
        v.disputeBond = 1_000 * TOKEN;
        v.minJobCollateral = 100 * TOKEN;
        v.arbitrationWindowSeconds = 14 days;
    }

    function _initial() internal pure returns (IProtocolParams.Values memory v) {
        v.minProviderStake = 100 * TOKEN;
        v.unbondingPeriodSeconds = 7 days;
        v.acceptWindowSeconds = 5 minutes;
        v.challengeWindowSeconds = 1 days;
        v.collateralRatioBps = 15_000;
        v.missedDeadlineSlashBps = 5_000;
        v.faultSlashBps = 10_000;
        v.buyerShareBps = 7_000;
        v.reporterShareBps = 500;
        v.protocolFeeBps = 100;
        v.matchmakerFeeBps = 2_000;
        v.disputeBond = 10 * TOKEN;
        v.minJobCollateral = 1 * TOKEN;
        v.arbitrationWindowSeconds = 3 days;
    }
}
