// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Job, JobState, JobTerms} from "../types/Job.sol";

/// @title The Agora job market: escrow, matching, delivery, settlement and slashing
/// @notice Buyers post jobs with their payment in escrow; anyone matches an open job to a
///         staked provider at the price it expects, and the market checks the match and
///         locks the provider's collateral; the provider accepts (or declines), delivers a
///         result hash before the deadline, and is paid once the challenge window passes or
///         the buyer confirms. A provider who declines, lets a match lapse or misses the
///         deadline is slashed, the buyer and the reporter are paid from the slash and the
///         job goes back to the market. A dispute the arbiter leaves unanswered past the
///         arbitration window closes by a fixed default. Payouts are credited and withdrawn
///         (pull payments).
/// @dev A job's id is `keccak256(abi.encode(terms))`; functions that need the terms take
///      them in calldata and check them against the id, so the market stores two slots per
///      job. The full terms are in the {JobPosted} event.
interface IJobMarket {
    /// @notice `terms.buyer` must be the caller.
    error BuyerMismatch(address buyer, address caller);
    /// @notice A job must pay something.
    error ZeroMaxPrice();
    /// @notice A job must allow some time to deliver.
    error ZeroDuration();
    /// @notice A job may run at most `maxDurationSeconds` (about 194 days).
    error DurationTooLong(uint256 durationSeconds, uint256 maxDurationSeconds);
    /// @notice A job must ask for some CPU.
    error EmptyResources();
    /// @notice A job's expiry must be in the future.
    error ExpiryNotInFuture(uint256 expiresAt, uint256 currentTime);
    /// @notice A job with these terms exists already; post with another salt.
    error JobAlreadyExists(bytes32 jobId);
    /// @notice The job is not in the state the call needs (None: no job has these terms).
    error JobStateMismatch(bytes32 jobId, JobState state, JobState required);
    /// @notice The job has expired: it can no longer be matched or taken.
    error JobPastExpiry(bytes32 jobId, uint256 expiresAt);
    /// @notice The job has not expired yet.
    error JobBeforeExpiry(bytes32 jobId, uint256 expiresAt);
    /// @notice The provider's price for the job is above the buyer's ceiling.
    error PriceAboveCeiling(bytes32 jobId, uint256 price, uint256 maxPrice);
    /// @notice Only the job's provider may do this.
    error NotJobProvider(bytes32 jobId, address caller, address provider);
    /// @notice Only the job's buyer may do this.
    error NotJobBuyer(bytes32 jobId, address caller, address buyer);
    /// @notice The accept window has closed.
    error AcceptWindowClosed(bytes32 jobId, uint256 deadline);
    /// @notice The accept window is still open.
    error AcceptWindowOpen(bytes32 jobId, uint256 deadline);
    /// @notice The delivery deadline has passed.
    error DeadlinePassed(bytes32 jobId, uint256 deadline);
    /// @notice The delivery deadline has not passed.
    error DeadlineNotPassed(bytes32 jobId, uint256 deadline);
    /// @notice The challenge window is still open.
    error ChallengeWindowOpen(bytes32 jobId, uint256 deadline);
    /// @notice The challenge window has closed.
    error ChallengeWindowClosed(bytes32 jobId, uint256 deadline);
    /// @notice A result hash cannot be zero.
    error ZeroResultHash(bytes32 jobId);
    /// @notice The provider's price for the job is not the price the caller expected (its
    ///         listing changed since the caller quoted it).
    error PriceChanged(bytes32 jobId, uint256 price, uint256 expectedPrice);
    /// @notice Only a job that has not started running can be cancelled.
    error JobNotCancellable(bytes32 jobId, JobState state);
    /// @notice The arbitration window has closed: the dispute can only be closed by default.
    error ArbitrationWindowClosed(bytes32 jobId, uint256 deadline);
    /// @notice The arbitration window is still open: the arbiter may still rule.
    error ArbitrationWindowOpen(bytes32 jobId, uint256 deadline);
    /// @notice Only the arbiter may resolve disputes.
    error NotArbiter(address caller, address arbiter);
    /// @notice The account has no credited balance.
    error NothingToWithdraw(address account);
    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The registry was deployed for another market address.
    error RegistryBoundElsewhere(address registryMarket);

    /// @notice Emitted when a job is posted, with all its terms; `maxPrice` moved to escrow.
    event JobPosted(bytes32 indexed jobId, address indexed buyer, JobTerms terms);
    /// @notice Emitted when a matchmaker matches an open job to a provider; the provider's
    ///         capacity is reserved and `collateral` of its stake locked.
    /// @param acceptDeadline The last second the provider may accept.
    /// @param paramsVersion The parameter version the job settles under.
    event JobMatched(
        bytes32 indexed jobId,
        address indexed provider,
        address indexed matchmaker,
        uint256 price,
        uint256 collateral,
        uint256 acceptDeadline,
        uint256 paramsVersion
    );
    /// @notice Emitted when a provider takes a job directly (no matchmaker, no match fee):
    ///         an open job, or one matched to it that it had not accepted yet.
    event JobTaken(
        bytes32 indexed jobId,
        address indexed provider,
        uint256 price,
        uint256 collateral,
        uint256 deadline,
        uint256 paramsVersion
    );
    /// @notice Emitted when the matched provider (named in {JobMatched}) accepts; `deadline`
    ///         is the last second to deliver.
    event JobAccepted(bytes32 indexed jobId, uint256 deadline);
    /// @notice Emitted when the matched provider declines, after the {JobSlashed} of its slash.
    ///         The job is Open again, or Refunded if expired.
    event JobDeclined(bytes32 indexed jobId, address indexed provider, JobState newState);
    /// @notice Emitted when a match lapses unaccepted, after the {JobSlashed} of its slash.
    ///         The job is Open again, or Refunded if expired.
    event JobReclaimed(bytes32 indexed jobId, address indexed provider, JobState newState);
    /// @notice Emitted when the provider submits its result. The challenge window runs from
    ///         this block's time for the job's version's `challengeWindowSeconds`.
    event ResultSubmitted(bytes32 indexed jobId, address indexed provider, bytes32 resultHash);
    /// @notice Emitted when a job completes: the payouts credited.
    event JobCompleted(
        bytes32 indexed jobId,
        address indexed provider,
        uint256 providerPayout,
        uint256 matchmakerFee,
        uint256 protocolFee,
        uint256 buyerRefund
    );
    /// @notice Emitted when the buyer cancels a job that has not started (Open or Matched); the
    ///         escrow is credited back and a matched provider's capacity and collateral released.
    event JobCancelled(bytes32 indexed jobId, address indexed buyer, uint256 refund);
    /// @notice Emitted when an open job passes its expiry; the escrow is credited back.
    event JobExpired(bytes32 indexed jobId, address indexed buyer, uint256 refund);
    /// @notice Emitted when a provider is slashed for a job. `newState` is Open (failover),
    ///         Refunded (expired: escrow credited back) or Slashed (lost dispute).
    event JobSlashed(
        bytes32 indexed jobId,
        address indexed provider,
        address indexed reporter,
        uint256 amount,
        uint256 buyerShare,
        uint256 reporterShare,
        uint256 treasuryShare,
        JobState newState
    );
    /// @notice Emitted when the buyer disputes a result, posting `bond`; the arbiter has
    ///         until `arbitrationDeadline` to rule.
    event JobDisputed(bytes32 indexed jobId, address indexed buyer, uint256 bond, uint256 arbitrationDeadline);
    /// @notice Emitted when the arbiter rules. The payouts follow in {JobCompleted} or {JobSlashed}.
    event DisputeResolved(bytes32 indexed jobId, address indexed arbiter, bool providerAtFault);
    /// @notice Emitted when a dispute the arbiter left unanswered is closed by default: the
    ///         escrow back to the buyer, the bond to the provider, its collateral released
    ///         unslashed. The job ends Refunded.
    event DisputeClosedByDefault(
        bytes32 indexed jobId, address indexed provider, uint256 buyerRefund, uint256 providerBond
    );
    /// @notice Emitted when an account withdraws its credited balance.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Posts a job; `terms.maxPrice` moves from the caller into escrow.
    /// @param terms The job's terms; `terms.buyer` must be the caller.
    /// @return jobId The job's id, the hash of its terms.
    function post(JobTerms calldata terms) external returns (bytes32 jobId);

    /// @notice Posts a job, approving the escrow with an EIP-2612 permit in the same call.
    /// @dev A permit already used (for instance by a front-runner) is ignored when the
    ///      allowance is there anyway.
    function postWithPermit(JobTerms calldata terms, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (bytes32 jobId);

    /// @notice Matches an open job to `provider` at `expectedPrice`. Anyone may call; the
    ///         caller is the matchmaker and earns the matchmaker fee, a share of what the
    ///         buyer saves below its ceiling, if the job completes.
    /// @dev Checks on-chain that the provider is active, in the
    ///      job's region, with its GPU model and free capacity, that its price equals
    ///      `expectedPrice` and is within the buyer's ceiling, and that its free stake covers
    ///      the minimum stake plus the job's collateral, which is locked until the job
    ///      settles (or the match is declined, lapses or is cancelled).
    function matchJob(JobTerms calldata terms, address provider, uint256 expectedPrice) external;

    /// @notice The caller, a provider, takes a job directly at `expectedPrice`: matched and
    ///         accepted at once, with no matchmaker fee. The job is either open (the same
    ///         checks as {matchJob} apply) or matched to the caller and not yet accepted (the
    ///         matchmaker who front-ran the take gets nothing).
    function take(JobTerms calldata terms, uint256 expectedPrice) external;

    /// @notice The matched provider accepts within the accept window; the delivery deadline starts.
    function accept(bytes32 jobId) external;

    /// @notice The matched provider declines: the job is back on the market at once (or
    ///         refunded if expired) and the provider is slashed as for a lapsed match, the
    ///         buyer taking the reporter's share too.
    function decline(JobTerms calldata terms) external;

    /// @notice Puts a match that was not accepted in time back on the market (or refunds it
    ///         if the job has expired), slashing the provider for the lapse. Anyone may call
    ///         after the accept window and earns the reporter's share (the provider itself
    ///         earns nothing: its share goes to the buyer).
    function reclaim(JobTerms calldata terms) external;

    /// @notice The provider submits the hash of its result before the deadline; the
    ///         challenge window starts.
    function submitResult(bytes32 jobId, bytes32 resultHash) external;

    /// @notice The buyer accepts the result before the challenge window ends; the job completes.
    function confirm(JobTerms calldata terms) external;

    /// @notice Completes every job given whose challenge window has passed. Anyone may call.
    /// @dev Jobs no longer Submitted (settled, or disputed, by someone else) are skipped so
    ///      that keepers racing each other do not fail; a job still in its window reverts.
    /// @return finalized How many jobs were completed.
    function finalize(JobTerms[] calldata terms) external returns (uint256 finalized);

    /// @notice The buyer cancels a job that has not started running (Open or Matched); the
    ///         escrow is credited back at once.
    function cancel(JobTerms calldata terms) external;

    /// @notice Refunds an open job past its expiry. Anyone may call.
    function expire(JobTerms calldata terms) external;

    /// @notice Slashes the provider of a running job whose deadline has passed. Anyone may
    ///         call and earns the reporter's share (the provider itself earns nothing: its
    ///         share goes to the buyer); the buyer is credited its share and the job goes
    ///         back to the market (or is refunded if expired).
    function slashMissedDeadline(JobTerms calldata terms) external;

    /// @notice The buyer disputes a submitted result within the challenge window, posting
    ///         the dispute bond; the arbitration window starts.
    function dispute(JobTerms calldata terms) external;

    /// @notice The arbiter rules on a disputed job within the arbitration window. Not at
    ///         fault: the job completes and the bond goes to the provider. At fault: the
    ///         provider is slashed, and the escrow, the bond and the buyer's and reporter's
    ///         shares of the slash go to the buyer.
    function resolveDispute(JobTerms calldata terms, bool providerAtFault) external;

    /// @notice Closes a dispute the arbiter left unanswered past the arbitration window, by
    ///         default: escrow back to the buyer, bond to the provider, collateral released
    ///         unslashed. Anyone may call.
    function closeDispute(JobTerms calldata terms) external;

    /// @notice Sends the caller its whole credited balance.
    /// @return amount The tokens sent.
    function withdraw() external returns (uint256 amount);

    /// @notice A job's stored state.
    function jobOf(bytes32 jobId) external view returns (Job memory);

    /// @notice The id of the job with `terms`.
    function jobIdOf(JobTerms calldata terms) external pure returns (bytes32);

    /// @notice An account's credited balance, ready to withdraw.
    function creditOf(address account) external view returns (uint256);

    /// @notice The bond held for a disputed job.
    function disputeBondOf(bytes32 jobId) external view returns (uint256);
}
