// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A set of compute resources: what a job needs, or what a provider lists as its
///         capacity.
/// @dev In a job's terms, a zero `region` or `gpuModel` means "any".
struct Resources {
    uint32 cpuMillicores;
    uint32 memoryMiB;
    uint32 storageGiB;
    uint16 gpuCount;
    bytes16 gpuModel;
    bytes16 region;
}

/// @notice The immutable terms a buyer posts. A job's id is the hash of its terms
///         (see {JobIdLibrary}), so the terms are passed in calldata and never stored:
///         one storage slot per job instead of five.
struct JobTerms {
    address buyer;
    // Most the buyer pays: the escrow. The price of a match (the provider's hourly prices
    // times the resources times the duration) must not exceed it; the rest is refunded.
    uint96 maxPrice;
    // Content hash of the job specification in the blob store.
    bytes32 specHash;
    // Time the provider has to deliver a result, counted from acceptance.
    uint32 durationSeconds;
    // After this time the job can no longer be matched or taken and its escrow is refunded.
    uint40 expiresAt;
    // Lets a buyer post the same terms again as a different job.
    uint64 salt;
    Resources resources;
}

/// @notice Where a job is in its life. Only the transitions drawn in DESIGN.md exist.
enum JobState {
    None, //       never posted
    Open, //       waiting for a match; escrow held
    Matched, //    provider chosen; waiting for it to accept or decline
    Running, //    accepted; collateral locked; deadline running
    Submitted, //  result hash in; challenge window running
    Disputed, //   buyer disputed; arbitration window running
    Completed, //  provider, matchmaker and treasury paid (terminal)
    Refunded, //   cancelled, expired, or a dispute the arbiter left unanswered (terminal)
    Slashed //     arbiter found the provider at fault (terminal)
}

/// @notice A job's mutable state: the only thing the market stores per job.
/// @dev Slot 0 (written at post and on every transition):
///        provider (160) | state (8) | deadline (40) | paramsVersion (24)
///        | durationSeconds (24)                                                  = 256 bits
///      Slot 1 (written at match or take, cleared when the job settles or re-opens):
///        matchmaker (160) | price (96)                                          = 256 bits
///      `paramsVersion` names the parameter set in force when the job was matched or taken
///      (see {IProtocolParams-settlementParams}): its collateral, fees, windows, slash rates
///      and shares hold until the job settles, whatever governance votes meanwhile.
struct Job {
    address provider;
    JobState state;
    // Meaning depends on the state: Open, the expiry; Matched, the end of the accept
    // window; Running, the delivery deadline; Submitted, the time of submission (the
    // challenge window runs from it for its version's challengeWindowSeconds); Disputed, the
    // end of the arbitration window.
    uint40 deadline;
    uint24 paramsVersion;
    // The job's durationSeconds, kept from match to acceptance so that accepting needs only
    // the job's id (see {MAX_DURATION_SECONDS}).
    uint24 durationSeconds;
    address matchmaker;
    uint96 price;
}

/// @dev The longest a job may run: 2^24 - 1 seconds (about 194 days), so that its
///      duration fits beside its state in one storage slot.
uint256 constant MAX_DURATION_SECONDS = type(uint24).max;

/// @notice How a job's id is derived from its terms.
library JobIdLibrary {
    /// @notice The id of the job with these terms.
    function toId(JobTerms calldata terms) internal pure returns (bytes32 id) {
        // JobTerms is a static struct: its ABI encoding is its 12 calldata words as they
        // are, so hash them in place rather than copying them field by field.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, terms, 384)
            id := keccak256(ptr, 384)
        }
    }
}
