// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Job, JobIdLibrary, JobState, JobTerms, MAX_DURATION_SECONDS} from "./types/Job.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";

/// @title JobMarket
/// @notice The job state machine and its escrow. See {IJobMarket}.
/// @dev Money rules: every token the market holds is either the escrow of a live job, the
///      bond of a disputed job, or a credited balance; state is written before any token
///      moves (checks-effects-interactions), every entry point that moves tokens is
///      non-reentrant, and tokens leave only through {withdraw}. Matching, accepting and
///      submitting move no tokens and call only the registry and the parameters, which
///      call nothing back, so they skip the guard.
///      Every job settles under the parameter version recorded when it was matched or
///      taken ({IProtocolParams-settlementParams}); nothing a vote changes later reaches it.
contract JobMarket is IJobMarket, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using BasisPoints for uint256;
    using JobIdLibrary for JobTerms;

    IERC20 public immutable token;
    IProtocolParams public immutable params;
    IProviderRegistry public immutable registry;
    /// @notice Where protocol fees and the rest of slashes are credited (the timelock).
    address public immutable treasury;

    /// @dev A slash and its parts; they sum to `amount`.
    struct SlashSplit {
        uint256 amount;
        uint256 buyerShare;
        uint256 reporterShare;
        uint256 treasuryShare;
    }

    mapping(bytes32 jobId => Job) private _jobs;
    mapping(address account => uint256) private _credits;
    mapping(bytes32 jobId => uint256) private _disputeBonds;
    /// @dev The market's copy of each parameter version it has matched a job under, written
    ///      at the first match under that version. Published versions never change, so the
    ///      copy is exact, and settling a job reads one slot here instead of calling out.
    mapping(uint24 version => IProtocolParams.SettlementParams) private _settlementParams;

    constructor(IERC20 token_, IProtocolParams params_, IProviderRegistry registry_) {
        if (address(token_) == address(0) || address(params_) == address(0) || address(registry_) == address(0)) {
            revert ZeroAddress();
        }
        // The registry takes this market's address at its own deployment; a registry made
        // for another address would refuse every call from here, so fail now instead.
        address registryMarket = registry_.market();
        if (registryMarket != address(this)) revert RegistryBoundElsewhere(registryMarket);
        token = token_;
        params = params_;
        registry = registry_;
        treasury = params_.treasury();
    }

    // ------------------------------------------------------------------ posting

    /// @inheritdoc IJobMarket
    function post(JobTerms calldata terms) external nonReentrant returns (bytes32 jobId) {
        jobId = _post(terms);
        token.safeTransferFrom(msg.sender, address(this), terms.maxPrice);
    }

    /// @inheritdoc IJobMarket
    function postWithPermit(JobTerms calldata terms, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (bytes32 jobId)
    {
        // A front-runner may have used the permit already; the transfer below then still
        // succeeds on the allowance it set, or fails with the token's own error.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), terms.maxPrice, permitDeadline, v, r, s) {}
            catch {}
        jobId = _post(terms);
        token.safeTransferFrom(msg.sender, address(this), terms.maxPrice);
    }

    /// @inheritdoc IJobMarket
    function cancel(JobTerms calldata terms) external nonReentrant {
        bytes32 jobId = terms.toId();
        Job storage job = _jobs[jobId];
        JobState state = job.state;
        if (state != JobState.Open && state != JobState.Matched) revert JobNotCancellable(jobId, state);
        _revertIfNotBuyer(jobId, terms);
        address provider = job.provider;
        uint256 collateral = state == JobState.Matched ? _collateral(job.price, _settlementParamsOf(job)) : 0;
        _close(jobId, address(0), JobState.Refunded);
        _credit(terms.buyer, terms.maxPrice);
        emit JobCancelled(jobId, terms.buyer, terms.maxPrice);
        // Nothing was delivered: the provider's capacity and collateral go back unslashed.
        if (state == JobState.Matched) registry.release(provider, terms.resources, collateral, false);
    }

    /// @inheritdoc IJobMarket
    function expire(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Open);
        if (block.timestamp < terms.expiresAt) revert JobBeforeExpiry(jobId, terms.expiresAt);
        job.state = JobState.Refunded;
        _credit(terms.buyer, terms.maxPrice);
        emit JobExpired(jobId, terms.buyer, terms.maxPrice);
    }

    // ------------------------------------------------------------------ matching

    /// @inheritdoc IJobMarket
    function matchJob(JobTerms calldata terms, address provider, uint256 expectedPrice) external {
        (bytes32 jobId,) = _load(terms, JobState.Open);
        IProtocolParams.MatchParams memory mp = params.matchParams();
        (uint256 price, uint256 collateral) = _reserve(jobId, terms, provider, expectedPrice, mp);
        uint40 acceptDeadline = uint40(block.timestamp + mp.acceptWindowSeconds);
        _jobs[jobId] = Job({
            provider: provider,
            state: JobState.Matched,
            deadline: acceptDeadline,
            paramsVersion: mp.version,
            // <= MAX_DURATION_SECONDS = type(uint24).max, checked at post
            durationSeconds: uint24(terms.durationSeconds),
            matchmaker: msg.sender,
            // price <= terms.maxPrice, a uint96 (checked in _reserve)
            price: uint96(price)
        });
        emit JobMatched(jobId, provider, msg.sender, price, collateral, acceptDeadline, mp.version);
    }

    /// @inheritdoc IJobMarket
    function take(JobTerms calldata terms, uint256 expectedPrice) external {
        bytes32 jobId = terms.toId();
        Job storage job = _jobs[jobId];
        uint40 deadline = uint40(block.timestamp + terms.durationSeconds);
        if (job.state == JobState.Matched && job.provider == msg.sender) {
            // A match naming the taker (perhaps a front-run of this very take) becomes the
            // take it would have been: the matchmaker is dropped and earns nothing.
            uint256 acceptDeadline = job.deadline;
            if (block.timestamp > acceptDeadline) revert AcceptWindowClosed(jobId, acceptDeadline);
            uint256 matchedPrice = job.price;
            if (matchedPrice != expectedPrice) revert PriceChanged(jobId, matchedPrice, expectedPrice);
            uint24 version = job.paramsVersion;
            job.state = JobState.Running;
            job.deadline = deadline;
            job.matchmaker = address(0);
            emit JobTaken(
                jobId,
                msg.sender,
                matchedPrice,
                _collateral(matchedPrice, _settlementParams[version]),
                deadline,
                version
            );
            return;
        }
        _revertIfNotState(jobId, job.state, JobState.Open);
        IProtocolParams.MatchParams memory mp = params.matchParams();
        (uint256 price, uint256 collateral) = _reserve(jobId, terms, msg.sender, expectedPrice, mp);
        _jobs[jobId] = Job({
            provider: msg.sender,
            state: JobState.Running,
            deadline: deadline,
            paramsVersion: mp.version,
            // <= MAX_DURATION_SECONDS = type(uint24).max, checked at post
            durationSeconds: uint24(terms.durationSeconds),
            matchmaker: address(0),
            // price <= terms.maxPrice, a uint96 (checked in _reserve)
            price: uint96(price)
        });
        emit JobTaken(jobId, msg.sender, price, collateral, deadline, mp.version);
    }

    /// @inheritdoc IJobMarket
    function accept(bytes32 jobId) external {
        Job storage job = _jobs[jobId];
        _revertIfNotState(jobId, job.state, JobState.Matched);
        _revertIfNotProvider(jobId, job);
        uint256 acceptDeadline = job.deadline;
        if (block.timestamp > acceptDeadline) revert AcceptWindowClosed(jobId, acceptDeadline);
        uint40 deadline = uint40(block.timestamp + job.durationSeconds);
        job.state = JobState.Running;
        job.deadline = deadline;
        emit JobAccepted(jobId, deadline);
    }

    /// @inheritdoc IJobMarket
    function decline(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Matched);
        _revertIfNotProvider(jobId, job);
        // Walking away from a match costs the same whether said at once or left to lapse:
        // otherwise a provider could hold a job by declining and being matched again, free.
        JobState newState = _slashLapse(jobId, job, terms);
        emit JobDeclined(jobId, msg.sender, newState);
    }

    /// @inheritdoc IJobMarket
    function reclaim(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Matched);
        uint256 acceptDeadline = job.deadline;
        if (block.timestamp <= acceptDeadline) revert AcceptWindowOpen(jobId, acceptDeadline);
        address provider = job.provider;
        JobState newState = _slashLapse(jobId, job, terms);
        emit JobReclaimed(jobId, provider, newState);
    }

    // ------------------------------------------------------------------ delivery

    /// @inheritdoc IJobMarket
    function submitResult(bytes32 jobId, bytes32 resultHash) external {
        Job storage job = _jobs[jobId];
        _revertIfNotState(jobId, job.state, JobState.Running);
        _revertIfNotProvider(jobId, job);
        uint256 deadline = job.deadline;
        if (block.timestamp > deadline) revert DeadlinePassed(jobId, deadline);
        if (resultHash == bytes32(0)) revert ZeroResultHash(jobId);
        // The challenge window's end is computed where it is needed (finalize, dispute), which
        // read the job's parameter version anyway: submitting then costs no read of it.
        job.state = JobState.Submitted;
        job.deadline = uint40(block.timestamp);
        emit ResultSubmitted(jobId, msg.sender, resultHash);
    }

    /// @inheritdoc IJobMarket
    function confirm(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Submitted);
        _revertIfNotBuyer(jobId, terms);
        _credit(treasury, _complete(jobId, job, terms, _settlementParamsOf(job), 0));
    }

    /// @inheritdoc IJobMarket
    function finalize(JobTerms[] calldata terms) external nonReentrant returns (uint256 finalized) {
        uint256 protocolFees = 0;
        // Jobs of a batch mostly share a parameter version: read each version once. Versions
        // start at 1, so `sp` is always loaded for the first job before it is read.
        uint24 loadedVersion = 0;
        IProtocolParams.SettlementParams memory sp;
        for (uint256 i; i < terms.length; ++i) {
            bytes32 jobId = terms[i].toId();
            Job storage job = _jobs[jobId];
            if (job.state != JobState.Submitted) continue;
            uint24 version = job.paramsVersion;
            if (version != loadedVersion) {
                sp = _settlementParams[version];
                loadedVersion = version;
            }
            uint256 challengeDeadline = job.deadline + uint256(sp.challengeWindowSeconds);
            if (block.timestamp <= challengeDeadline) revert ChallengeWindowOpen(jobId, challengeDeadline);
            protocolFees += _complete(jobId, job, terms[i], sp, 0);
            ++finalized;
        }
        // One credit for the whole batch: the treasury's balance is written once.
        _credit(treasury, protocolFees);
    }

    // ------------------------------------------------------------------ faults

    /// @inheritdoc IJobMarket
    function slashMissedDeadline(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Running);
        uint256 deadline = job.deadline;
        if (block.timestamp <= deadline) revert DeadlineNotPassed(jobId, deadline);
        _slashAndReopen(jobId, job, terms, IProviderRegistry.SlashReason.MissedDeadline);
    }

    /// @inheritdoc IJobMarket
    function dispute(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Submitted);
        _revertIfNotBuyer(jobId, terms);
        // The arbiter is never zero (ProtocolParams), so every dispute has someone to judge it.
        uint24 version = job.paramsVersion;
        IProtocolParams.SettlementParams memory sp = _settlementParams[version];
        uint256 challengeDeadline = job.deadline + uint256(sp.challengeWindowSeconds);
        if (block.timestamp > challengeDeadline) revert ChallengeWindowClosed(jobId, challengeDeadline);
        uint256 bond = params.disputeParams(version).disputeBond;
        uint40 arbitrationDeadline = uint40(block.timestamp + sp.arbitrationWindowSeconds);
        job.state = JobState.Disputed;
        job.deadline = arbitrationDeadline;
        _disputeBonds[jobId] = bond;
        emit JobDisputed(jobId, msg.sender, bond, arbitrationDeadline);
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobMarket
    function resolveDispute(JobTerms calldata terms, bool providerAtFault) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Disputed);
        address arbiter = params.arbiter();
        if (msg.sender != arbiter) revert NotArbiter(msg.sender, arbiter);
        uint256 arbitrationDeadline = job.deadline;
        if (block.timestamp > arbitrationDeadline) revert ArbitrationWindowClosed(jobId, arbitrationDeadline);
        uint256 bond = _disputeBonds[jobId];
        delete _disputeBonds[jobId];
        emit DisputeResolved(jobId, msg.sender, providerAtFault);

        if (!providerAtFault) {
            // The provider delivered: it is paid as usual and keeps the bond for its trouble.
            _credit(treasury, _complete(jobId, job, terms, _settlementParamsOf(job), bond));
            return;
        }

        _slashForFault(jobId, job, terms, bond);
    }

    /// @inheritdoc IJobMarket
    function closeDispute(JobTerms calldata terms) external nonReentrant {
        (bytes32 jobId, Job storage job) = _load(terms, JobState.Disputed);
        uint256 arbitrationDeadline = job.deadline;
        if (block.timestamp <= arbitrationDeadline) revert ArbitrationWindowOpen(jobId, arbitrationDeadline);
        address provider = job.provider;
        uint256 collateral = _collateral(job.price, _settlementParamsOf(job));
        uint256 bond = _disputeBonds[jobId];
        delete _disputeBonds[jobId];
        // Nobody judged the work: the buyer pays nothing and the provider loses nothing
        // but its time, for which it keeps the bond. Neither side gains more than the bond
        // from a silent arbiter.
        _close(jobId, provider, JobState.Refunded);
        _credit(terms.buyer, terms.maxPrice);
        _credit(provider, bond);
        emit DisputeClosedByDefault(jobId, provider, terms.maxPrice, bond);
        registry.release(provider, terms.resources, collateral, false);
    }

    // ------------------------------------------------------------------ payouts

    /// @inheritdoc IJobMarket
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IJobMarket
    function jobOf(bytes32 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @inheritdoc IJobMarket
    function jobIdOf(JobTerms calldata terms) external pure returns (bytes32) {
        return terms.toId();
    }

    /// @inheritdoc IJobMarket
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IJobMarket
    function disputeBondOf(bytes32 jobId) external view returns (uint256) {
        return _disputeBonds[jobId];
    }

    // ------------------------------------------------------------------ internal

    function _post(JobTerms calldata terms) private returns (bytes32 jobId) {
        if (terms.buyer != msg.sender) revert BuyerMismatch(terms.buyer, msg.sender);
        if (terms.maxPrice == 0) revert ZeroMaxPrice();
        if (terms.durationSeconds == 0) revert ZeroDuration();
        if (terms.durationSeconds > MAX_DURATION_SECONDS) {
            revert DurationTooLong(terms.durationSeconds, MAX_DURATION_SECONDS);
        }
        if (terms.resources.cpuMillicores == 0) revert EmptyResources();
        if (terms.expiresAt <= block.timestamp) revert ExpiryNotInFuture(terms.expiresAt, block.timestamp);
        jobId = terms.toId();
        Job storage job = _jobs[jobId];
        if (job.state != JobState.None) revert JobAlreadyExists(jobId);
        // Field by field: assigning a whole Job would also write its empty second slot.
        job.state = JobState.Open;
        job.deadline = terms.expiresAt;
        emit JobPosted(jobId, msg.sender, terms);
    }

    /// @dev Loads the job with `terms`, reverting unless it is in `required` state.
    function _load(JobTerms calldata terms, JobState required) private view returns (bytes32 jobId, Job storage job) {
        jobId = terms.toId();
        job = _jobs[jobId];
        _revertIfNotState(jobId, job.state, required);
    }

    function _settlementParamsOf(Job storage job) private view returns (IProtocolParams.SettlementParams memory) {
        return _settlementParams[job.paramsVersion];
    }

    /// @dev A job's collateral under its parameter version: the registry locked exactly this
    ///      at match ({IProviderRegistry-reserve} computes it the same way).
    function _collateral(uint256 price, IProtocolParams.SettlementParams memory sp) private pure returns (uint256 c) {
        c = price.mulBps(sp.collateralRatioBps);
        if (c < sp.minJobCollateral) c = sp.minJobCollateral;
    }

    /// @dev Reserves the provider's capacity and locks its collateral (the registry checks
    ///      the provider and its stake); checks the expiry and the price against
    ///      what the caller expected and against the buyer's ceiling.
    function _reserve(
        bytes32 jobId,
        JobTerms calldata terms,
        address provider,
        uint256 expectedPrice,
        IProtocolParams.MatchParams memory mp
    ) private returns (uint256 price, uint256 collateral) {
        if (block.timestamp >= terms.expiresAt) revert JobPastExpiry(jobId, terms.expiresAt);
        IProtocolParams.SettlementParams memory sp = _settlementParams[mp.version];
        // minJobCollateral is at least 1 wei in every version (ProtocolParams' bounds), so a
        // zero marks a version not copied yet: copy it at its first match.
        if (sp.minJobCollateral == 0) {
            sp = params.settlementParams(mp.version);
            _settlementParams[mp.version] = sp;
        }
        (price, collateral) = registry.reserve(
            provider, terms.resources, terms.durationSeconds, sp.collateralRatioBps, sp.minJobCollateral, mp.minProviderStake
        );
        if (price != expectedPrice) revert PriceChanged(jobId, price, expectedPrice);
        if (price > terms.maxPrice) revert PriceAboveCeiling(jobId, price, terms.maxPrice);
    }

    /// @dev Completes a job: credits the provider (plus `providerBonus`), the matchmaker and
    ///      the buyer's unused escrow, releases capacity and collateral. Returns the protocol
    ///      fee for the caller to credit to the treasury (once per batch).
    ///      The payouts sum to the escrow: providerPayout + protocolFee = price and
    ///      matchmakerFee + buyerRefund = maxPrice - price. The matchmaker is paid a share of
    ///      what the buyer saves, so it earns most by finding the cheapest provider.
    function _complete(
        bytes32 jobId,
        Job storage job,
        JobTerms calldata terms,
        IProtocolParams.SettlementParams memory sp,
        uint256 providerBonus
    ) private returns (uint256 protocolFee) {
        address provider = job.provider;
        address matchmaker = job.matchmaker;
        uint256 price = job.price;
        protocolFee = price.mulBps(sp.protocolFeeBps);
        uint256 providerPayout;
        uint256 saving;
        // protocolFee <= price / 2 (ProtocolParams' ceiling) and price <= maxPrice (checked
        // at match), so neither subtraction can underflow.
        unchecked {
            providerPayout = price - protocolFee;
            saving = terms.maxPrice - price;
        }
        uint256 matchmakerFee = matchmaker == address(0) ? 0 : saving.mulBps(sp.matchmakerFeeBps);
        uint256 buyerRefund;
        // matchmakerFee <= saving: the share is at most 100%.
        unchecked {
            buyerRefund = saving - matchmakerFee;
        }
        uint256 collateral = _collateral(price, sp);
        _close(jobId, provider, JobState.Completed);
        _credit(provider, providerPayout + providerBonus);
        _credit(matchmaker, matchmakerFee);
        _credit(terms.buyer, buyerRefund);
        emit JobCompleted(jobId, provider, providerPayout, matchmakerFee, protocolFee, buyerRefund);
        registry.release(provider, terms.resources, collateral, true);
    }

    /// @dev Writes a job's final (or re-opened) state and clears its match.
    function _close(bytes32 jobId, address provider, JobState state) private {
        _jobs[jobId] = Job({
            provider: provider,
            state: state,
            deadline: 0,
            paramsVersion: 0,
            durationSeconds: 0,
            matchmaker: address(0),
            price: 0
        });
    }

    /// @dev Sends a job whose provider dropped out back to the market, or refunds the buyer
    ///      if the job can no longer be matched. Clears the match.
    function _reopenOrRefund(bytes32 jobId, JobTerms calldata terms) private returns (JobState newState) {
        newState = block.timestamp < terms.expiresAt ? JobState.Open : JobState.Refunded;
        _jobs[jobId] = Job({
            provider: address(0),
            state: newState,
            deadline: terms.expiresAt,
            paramsVersion: 0,
            durationSeconds: 0,
            matchmaker: address(0),
            price: 0
        });
        if (newState == JobState.Refunded) _credit(terms.buyer, terms.maxPrice);
    }

    /// @dev Slashes the provider of a declined or lapsed match and re-opens the job.
    function _slashLapse(bytes32 jobId, Job storage job, JobTerms calldata terms) private returns (JobState) {
        return _slashAndReopen(jobId, job, terms, IProviderRegistry.SlashReason.LapsedMatch);
    }

    /// @dev Slashes the provider of a matched or running job by the missed-deadline rate of
    ///      its collateral, credits the buyer, the reporter (the caller, unless the caller is
    ///      the provider: a provider does not earn from its own failure) and the treasury,
    ///      and sends the job back to the market.
    function _slashAndReopen(
        bytes32 jobId,
        Job storage job,
        JobTerms calldata terms,
        IProviderRegistry.SlashReason reason
    ) private returns (JobState newState) {
        address provider = job.provider;
        IProtocolParams.SettlementParams memory sp = _settlementParamsOf(job);
        uint256 collateral = _collateral(job.price, sp);
        SlashSplit memory split = _splitSlash(collateral.mulBps(sp.missedDeadlineSlashBps), sp);
        address reporter = msg.sender == provider ? terms.buyer : msg.sender;

        newState = _reopenOrRefund(jobId, terms);
        _credit(terms.buyer, split.buyerShare);
        _credit(reporter, split.reporterShare);
        _credit(treasury, split.treasuryShare);
        emit JobSlashed(
            jobId,
            provider,
            reporter,
            split.amount,
            split.buyerShare,
            split.reporterShare,
            split.treasuryShare,
            newState
        );
        // Moves the slash from the provider's stake to this contract, backing the credits above.
        registry.slash(provider, terms.resources, collateral, split.amount, reason);
    }

    /// @dev Slashes the provider of a disputed job found at fault. The buyer reported the
    ///      fault, so it takes the reporter's share as well as its own, and gets its escrow
    ///      and its bond back.
    function _slashForFault(bytes32 jobId, Job storage job, JobTerms calldata terms, uint256 bond) private {
        address provider = job.provider;
        uint24 version = job.paramsVersion;
        IProtocolParams.SettlementParams memory sp = _settlementParams[version];
        uint256 collateral = _collateral(job.price, sp);
        SlashSplit memory split = _splitSlash(collateral.mulBps(params.disputeParams(version).faultSlashBps), sp);
        _close(jobId, provider, JobState.Slashed);
        _credit(terms.buyer, terms.maxPrice + bond + split.buyerShare + split.reporterShare);
        _credit(treasury, split.treasuryShare);
        emit JobSlashed(
            jobId,
            provider,
            terms.buyer,
            split.amount,
            split.buyerShare,
            split.reporterShare,
            split.treasuryShare,
            JobState.Slashed
        );
        registry.slash(provider, terms.resources, collateral, split.amount, IProviderRegistry.SlashReason.ProvenFault);
    }

    /// @dev The buyer's, reporter's and treasury's parts of a slash of `amount`.
    function _splitSlash(uint256 amount, IProtocolParams.SettlementParams memory sp)
        private
        pure
        returns (SlashSplit memory split)
    {
        split.amount = amount;
        split.buyerShare = amount.mulBps(sp.buyerShareBps);
        split.reporterShare = amount.mulBps(sp.reporterShareBps);
        // buyerShareBps + reporterShareBps <= 10,000 (ProtocolParams), so the two shares,
        // each rounded down, never exceed amount.
        unchecked {
            split.treasuryShare = amount - split.buyerShare - split.reporterShare;
        }
    }

    function _credit(address account, uint256 amount) private {
        if (amount != 0) _credits[account] += amount;
    }

    function _revertIfNotState(bytes32 jobId, JobState state, JobState required) private pure {
        if (state != required) revert JobStateMismatch(jobId, state, required);
    }

    function _revertIfNotProvider(bytes32 jobId, Job storage job) private view {
        address provider = job.provider;
        if (msg.sender != provider) revert NotJobProvider(jobId, msg.sender, provider);
    }

    function _revertIfNotBuyer(bytes32 jobId, JobTerms calldata terms) private view {
        if (msg.sender != terms.buyer) revert NotJobBuyer(jobId, msg.sender, terms.buyer);
    }
}
