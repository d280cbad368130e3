"""Projects decoded events into rows: pure functions over plain dicts, no I/O.

A `Projection` holds the rows of one batch: the mutable rows (providers, jobs, proposals,
parameter versions) as they stand, loaded by the store before the batch and updated event by event, and the
append-only rows (events, slashes, payouts, votes, parameter changes) the batch adds. The
store writes both, with the mutable rows' before-images, in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agora.indexer.decoder import DecodedEvent

JOB_STATES = {1: "open", 2: "matched", 3: "running", 4: "submitted", 5: "disputed", 6: "completed",
              7: "refunded", 8: "slashed"}
PROVIDER_STATUS = {1: "active", 2: "paused"}
ZERO_HASH = "0x" + "00" * 32
SLASH_REASONS = {0: "missed_deadlines", 1: "disputes_lost", 2: "lapsed_matches"}  # provider counter per reason
# ProtocolParams' versioned parameters (a change publishes a new version): setter event -> column.
VERSIONED = {
    "ChallengeWindowSecondsSet": "challenge_window_seconds",
    "ArbitrationWindowSecondsSet": "arbitration_window_seconds",
    "CollateralRatioBpsSet": "collateral_ratio_bps",
    "MinJobCollateralSet": "min_job_collateral",
    "MissedDeadlineSlashBpsSet": "missed_deadline_slash_bps",
    "FaultSlashBpsSet": "fault_slash_bps",
    "BuyerShareBpsSet": "buyer_share_bps",
    "ReporterShareBpsSet": "reporter_share_bps",
    "ProtocolFeeBpsSet": "protocol_fee_bps",
    "MatchmakerFeeBpsSet": "matchmaker_fee_bps",
    "DisputeBondSet": "dispute_bond",
}


def label(raw: str) -> str:
    """A bytes16 region or GPU model (0x-hex) as text."""
    return bytes.fromhex(raw[2:]).rstrip(b"\0").decode(errors="replace")


def keys_of(events: list[DecodedEvent]) -> dict[str, set[str]]:
    """The mutable rows a batch touches, by table: what the store must load first."""
    keys: dict[str, set[str]] = {"jobs": set(), "providers": set(), "proposals": set(), "params_versions": set()}
    for e in events:
        args = e.args
        if "jobId" in args:
            keys["jobs"].add(args["jobId"])
        if e.contract in ("ProviderRegistry", "JobMarket") and "provider" in args:
            keys["providers"].add(args["provider"])
        if "proposalId" in args:
            keys["proposals"].add(str(args["proposalId"]))
        if e.contract == "JobMarket" and "paramsVersion" in args:
            keys["params_versions"].add(str(args["paramsVersion"]))  # a match or take copies its window
        elif e.contract == "ProtocolParams" and e.name == "ParamsVersionSet" and args["oldVersion"]:
            keys["params_versions"].add(str(args["oldVersion"]))  # the new version starts as its copy
    return keys


def referenced_keys(rows: Mapping[str, Mapping[str, dict | None]], events: list[DecodedEvent]) -> dict[str, set[str]]:
    """The mutable rows a batch touches that its events do not name, given the rows loaded
    for `keys_of(events)`: the provider of a matched job the buyer cancels (the cancel
    releases its capacity and collateral, and JobCancelled does not name it).

    A store that loads these too (a second read, after `keys_of`'s) lets every batch
    project whatever blocks it spans; without them such a cancel projects only when its
    batch also holds an event naming the provider, and fails (ProjectionError) otherwise.
    """
    keys: dict[str, set[str]] = {"providers": set()}
    for e in events:
        if e.contract == "JobMarket" and e.name == "JobCancelled":
            job = rows.get("jobs", {}).get(e.args["jobId"])
            if job is not None and job.get("provider"):
                keys["providers"].add(job["provider"])
    return keys


@dataclass
class Projection:
    """The rows of one batch. `rows[table][key]` is a row dict, or None if absent."""

    treasury: str
    rows: dict[str, dict[str, dict | None]]
    events: list[dict] = field(default_factory=list)
    slashes: list[dict] = field(default_factory=list)
    payouts: list[dict] = field(default_factory=list)
    votes: list[dict] = field(default_factory=list)
    parameter_changes: list[dict] = field(default_factory=list)
    # The parameter version the last ParamsVersionSet of this batch published, and its
    # transaction: the versioned setter event that follows it in that transaction fills it.
    published: tuple[str, str] | None = None

    # ------------------------------------------------------------------ entry point

    def apply(self, e: DecodedEvent) -> None:
        args = e.args
        provider = args.get("provider") if e.contract in ("ProviderRegistry", "JobMarket") else None
        account = next((v for k, v in args.items() if isinstance(v, str) and len(v) == 42 and k != "provider"), None)
        self.events.append({
            "block_number": e.block_number, "block_hash": e.block_hash, "block_time": e.block_time,
            "log_index": e.log_index, "tx_hash": e.tx_hash, "contract": e.contract, "name": e.name,
            "args": args, "job_id": args.get("jobId"), "provider": provider, "account": account,
        })
        handler = getattr(self, f"_on_{e.contract}_{e.name}", None)
        if handler is not None:
            handler(e, args)
        elif e.contract == "ProtocolParams" and e.name.endswith("Set"):
            name = e.name[0].lower() + e.name[1:-3]
            old, new = list(args.values())
            column = VERSIONED.get(e.name)
            if column is None:
                self._parameter(e, name, old, new)
                return
            version = self._published_version(e)
            self._parameter(e, name, old, new, extra={"version": int(version)})
            self._row("params_versions", version)[column] = new

    # ------------------------------------------------------------------ helpers

    def _row(self, table: str, key: str) -> dict:
        row = self.rows[table].get(key)
        if row is None:
            raise ProjectionError(f"{table} row {key} is missing: the index does not start at the deployment")
        return row

    def _payout(self, e: DecodedEvent, account: str | None, kind: str, amount: int, job_id: str | None) -> None:
        if account and amount:
            self.payouts.append({
                "account": account, "job_id": job_id, "kind": kind, "amount": amount,
                "block_number": e.block_number, "log_index": e.log_index, "tx_hash": e.tx_hash,
            })

    def _parameter(self, e: DecodedEvent, name: str, old, new, extra: dict | None = None) -> None:
        self.parameter_changes.append({
            "contract": e.contract, "name": name, "old_value": str(old), "new_value": str(new),
            "block_number": e.block_number, "log_index": e.log_index, "tx_hash": e.tx_hash, "extra": extra,
        })

    def _engage(self, job: dict, provider_address: str, collateral: int, block: int) -> None:
        p = self._row("providers", provider_address)
        p["used_cpu_millicores"] += job["cpu_millicores"]
        p["used_memory_mib"] += job["memory_mib"]
        p["used_storage_gib"] += job["storage_gib"]
        p["used_gpu_count"] += job["gpu_count"]
        p["locked_collateral"] += collateral
        p["updated_block"] = block

    def _release(self, job: dict, block: int, completed: bool = False) -> None:
        p = self._row("providers", job["provider"])
        p["used_cpu_millicores"] -= job["cpu_millicores"]
        p["used_memory_mib"] -= job["memory_mib"]
        p["used_storage_gib"] -= job["storage_gib"]
        p["used_gpu_count"] -= job["gpu_count"]
        p["locked_collateral"] -= job["collateral"] or 0
        if completed:
            p["completed_jobs"] += 1
        p["updated_block"] = block

    @staticmethod
    def _clear_match(job: dict, state: str) -> None:
        job.update(state=state, provider=None, matchmaker=None, price=None, collateral=None, result_hash=None,
                   dispute_bond=None, deadline=job["expires_at"] if state == "open" else None, params_version=None,
                   challenge_window_seconds=None, challenge_deadline=None, arbitration_deadline=None)

    def _published_version(self, e: DecodedEvent) -> str:
        """The version a versioned setter event fills: the one its transaction just published."""
        if self.published is None or self.published[1] != e.tx_hash:
            raise ProjectionError(f"{e.name} in transaction {e.tx_hash} follows no ParamsVersionSet of its own")
        return self.published[0]

    def _match_terms(self, job: dict, a: dict) -> None:
        """The parameter version a match or take fixes for the job, with its challenge window."""
        version = self._row("params_versions", str(a["paramsVersion"]))
        job.update(params_version=a["paramsVersion"], challenge_window_seconds=version["challenge_window_seconds"])

    # ------------------------------------------------------------------ registry

    def _on_ProviderRegistry_ProviderRegistered(self, e, a):
        cap, prices = a["capacity"], a["prices"]
        self.rows["providers"][a["provider"]] = {
            "address": a["provider"], "status": "active", "endpoint": a["endpoint"],
            "region": label(cap["region"]), "gpu_model": label(cap["gpuModel"]),
            "cpu_millicores": cap["cpuMillicores"], "memory_mib": cap["memoryMiB"],
            "storage_gib": cap["storageGiB"], "gpu_count": cap["gpuCount"],
            "used_cpu_millicores": 0, "used_memory_mib": 0, "used_storage_gib": 0, "used_gpu_count": 0,
            "price_cpu_core_gwei": prices["cpuCoreGwei"], "price_memory_gib_gwei": prices["memoryGiBGwei"],
            "price_gpu_gwei": prices["gpuGwei"], "price_storage_gib_gwei": prices["storageGiBGwei"],
            "stake": a["stake"], "locked_collateral": 0, "unbonding": 0, "unbonding_unlocks_at": 0,
            "completed_jobs": 0, "missed_deadlines": 0, "disputes_lost": 0, "lapsed_matches": 0, "total_slashed": 0,
            "registered_block": e.block_number, "updated_block": e.block_number,
        }

    def _on_ProviderRegistry_ListingUpdated(self, e, a):
        p = self._row("providers", a["provider"])
        cap, prices = a["capacity"], a["prices"]
        p.update(
            endpoint=a["endpoint"], region=label(cap["region"]), gpu_model=label(cap["gpuModel"]),
            cpu_millicores=cap["cpuMillicores"], memory_mib=cap["memoryMiB"], storage_gib=cap["storageGiB"],
            gpu_count=cap["gpuCount"], price_cpu_core_gwei=prices["cpuCoreGwei"],
            price_memory_gib_gwei=prices["memoryGiBGwei"], price_gpu_gwei=prices["gpuGwei"],
            price_storage_gib_gwei=prices["storageGiBGwei"], updated_block=e.block_number,
        )

    def _on_ProviderRegistry_ProviderStatusChanged(self, e, a):
        self._row("providers", a["provider"]).update(
            status=PROVIDER_STATUS[a["newStatus"]], updated_block=e.block_number
        )

    def _on_ProviderRegistry_StakeAdded(self, e, a):
        self._row("providers", a["provider"]).update(stake=a["newStake"], updated_block=e.block_number)

    def _on_ProviderRegistry_UnbondingRequested(self, e, a):
        self._row("providers", a["provider"]).update(
            stake=a["newStake"], unbonding=a["newUnbonding"], unbonding_unlocks_at=a["unlocksAt"],
            updated_block=e.block_number,
        )

    def _on_ProviderRegistry_UnbondedWithdrawn(self, e, a):
        self._row("providers", a["provider"]).update(unbonding=0, unbonding_unlocks_at=0, updated_block=e.block_number)

    def _on_ProviderRegistry_ProviderSlashed(self, e, a):
        p = self._row("providers", a["provider"])
        p["stake"] = a["newStake"]
        p["total_slashed"] += a["amount"]
        p[SLASH_REASONS[a["reason"]]] += 1
        p["updated_block"] = e.block_number

    # ------------------------------------------------------------------ market

    def _on_JobMarket_JobPosted(self, e, a):
        t = a["terms"]
        r = t["resources"]
        self.rows["jobs"][a["jobId"]] = {
            "job_id": a["jobId"], "buyer": t["buyer"], "max_price": t["maxPrice"], "spec_hash": t["specHash"],
            "duration_seconds": t["durationSeconds"], "expires_at": t["expiresAt"], "salt": t["salt"],
            "cpu_millicores": r["cpuMillicores"], "memory_mib": r["memoryMiB"], "storage_gib": r["storageGiB"],
            "gpu_count": r["gpuCount"], "gpu_model": label(r["gpuModel"]), "region": label(r["region"]),
            "state": "open", "provider": None, "matchmaker": None, "price": None, "collateral": None,
            "deadline": t["expiresAt"], "result_hash": None, "dispute_bond": None, "params_version": None,
            "challenge_window_seconds": None, "challenge_deadline": None, "arbitration_deadline": None, "attempts": 0,
            "posted_block": e.block_number, "posted_at": e.block_time, "updated_block": e.block_number,
            "terms": t,
        }

    def _on_JobMarket_JobMatched(self, e, a):
        job = self._row("jobs", a["jobId"])
        job.update(state="matched", provider=a["provider"], matchmaker=a["matchmaker"], price=a["price"],
                   collateral=a["collateral"], deadline=a["acceptDeadline"], attempts=job["attempts"] + 1,
                   updated_block=e.block_number)
        self._match_terms(job, a)
        self._engage(job, a["provider"], a["collateral"], e.block_number)

    def _on_JobMarket_JobTaken(self, e, a):
        job = self._row("jobs", a["jobId"])
        # A take of a job matched to the taker turns the match into the take: the capacity
        # and collateral are already engaged, the matchmaker is dropped.
        converted = job["state"] == "matched" and job["provider"] == a["provider"]
        job.update(state="running", provider=a["provider"], matchmaker=None, price=a["price"],
                   collateral=a["collateral"], deadline=a["deadline"], updated_block=e.block_number)
        self._match_terms(job, a)
        if not converted:
            job["attempts"] += 1
            self._engage(job, a["provider"], a["collateral"], e.block_number)

    def _on_JobMarket_JobAccepted(self, e, a):
        self._row("jobs", a["jobId"]).update(state="running", deadline=a["deadline"], updated_block=e.block_number)

    def _on_JobMarket_JobDeclined(self, e, a):
        # The JobSlashed before it in the transaction released the provider and re-opened
        # (or refunded) the job.
        self._check_reopened(e, a)

    def _on_JobMarket_JobReclaimed(self, e, a):
        self._check_reopened(e, a)

    def _check_reopened(self, e, a):
        job = self._row("jobs", a["jobId"])
        if job["state"] != JOB_STATES[a["newState"]]:
            raise ProjectionError(f"{e.name} of job {a['jobId']} to {JOB_STATES[a['newState']]}, "
                                  f"but its slash left it {job['state']}")
        job["updated_block"] = e.block_number

    def _on_JobMarket_ResultSubmitted(self, e, a):
        job = self._row("jobs", a["jobId"])
        window = job["challenge_window_seconds"]
        challenge_deadline = e.block_time + window if e.block_time is not None and window is not None else None
        job.update(state="submitted", result_hash=a["resultHash"], deadline=challenge_deadline,
                   challenge_deadline=challenge_deadline, updated_block=e.block_number)

    def _on_JobMarket_JobCompleted(self, e, a):
        job = self._row("jobs", a["jobId"])
        self._release(job, e.block_number, completed=True)
        job_id = job["job_id"]
        self._payout(e, a["provider"], "provider_payout", a["providerPayout"], job_id)
        self._payout(e, job["matchmaker"], "matchmaker_fee", a["matchmakerFee"], job_id)
        self._payout(e, self.treasury, "protocol_fee", a["protocolFee"], job_id)
        self._payout(e, job["buyer"], "refund", a["buyerRefund"], job_id)
        job.update(state="completed", deadline=None, updated_block=e.block_number)

    def _on_JobMarket_JobCancelled(self, e, a):
        job = self._row("jobs", a["jobId"])
        if job["state"] == "matched":
            # Nothing was delivered: the provider's capacity and collateral go back unslashed.
            if self.rows["providers"].get(job["provider"]) is None:
                raise ProjectionError(
                    f"the cancel of job {job['job_id']} releases provider {job['provider']}, whose row this batch "
                    f"did not load (JobCancelled does not name it: see referenced_keys)")
            self._release(job, e.block_number)
            self._clear_match(job, "refunded")
        self._refund(e, a)

    def _on_JobMarket_JobExpired(self, e, a):
        self._refund(e, a)

    def _refund(self, e, a):
        job = self._row("jobs", a["jobId"])
        job.update(state="refunded", deadline=None, updated_block=e.block_number)
        self._payout(e, a["buyer"], "refund", a["refund"], job["job_id"])

    def _on_JobMarket_JobSlashed(self, e, a):
        job = self._row("jobs", a["jobId"])
        job_id = job["job_id"]
        state = JOB_STATES[a["newState"]]
        fault = state == "slashed"
        # A slash of a matched job is for a declined or lapsed match (JobDeclined or
        # JobReclaimed follows); of a running one, for a missed deadline.
        reason = "proven_fault" if fault else "lapsed_match" if job["state"] == "matched" else "missed_deadline"
        self.slashes.append({
            "job_id": job_id, "provider": a["provider"], "reporter": a["reporter"],
            "reason": reason, "amount": a["amount"],
            "buyer_share": a["buyerShare"], "reporter_share": a["reporterShare"],
            "treasury_share": a["treasuryShare"], "new_state": state, "block_number": e.block_number,
            "log_index": e.log_index, "tx_hash": e.tx_hash,
        })
        self._payout(e, job["buyer"], "slash_buyer_share", a["buyerShare"], job_id)
        self._payout(e, a["reporter"], "slash_reporter_share", a["reporterShare"], job_id)
        self._payout(e, self.treasury, "slash_treasury_share", a["treasuryShare"], job_id)
        if state in ("refunded", "slashed"):
            self._payout(e, job["buyer"], "refund", job["max_price"], job_id)
        if fault:
            self._payout(e, job["buyer"], "dispute_bond", job["dispute_bond"] or 0, job_id)
        self._release(job, e.block_number)
        if fault:
            job.update(state="slashed", deadline=None, matchmaker=None, price=None, collateral=None)
        else:
            self._clear_match(job, state)
        job["updated_block"] = e.block_number

    def _on_JobMarket_JobDisputed(self, e, a):
        self._row("jobs", a["jobId"]).update(
            state="disputed", dispute_bond=a["bond"], deadline=a["arbitrationDeadline"],
            arbitration_deadline=a["arbitrationDeadline"], updated_block=e.block_number,
        )

    def _on_JobMarket_DisputeResolved(self, e, a):
        job = self._row("jobs", a["jobId"])
        if not a["providerAtFault"]:
            self._payout(e, job["provider"], "dispute_bond", job["dispute_bond"] or 0, job["job_id"])

    def _on_JobMarket_DisputeClosedByDefault(self, e, a):
        # The arbiter did not rule in time: escrow back to the buyer, the bond to the
        # provider, its capacity and collateral released unslashed.
        job = self._row("jobs", a["jobId"])
        self._release(job, e.block_number)
        self._payout(e, job["buyer"], "refund", a["buyerRefund"], job["job_id"])
        self._payout(e, a["provider"], "dispute_bond", a["providerBond"], job["job_id"])
        job.update(state="refunded", deadline=None, updated_block=e.block_number)

    def _on_JobMarket_Withdrawn(self, e, a):
        self._payout(e, a["account"], "withdrawal", a["amount"], None)

    # ------------------------------------------------------------------ governance

    def _on_ProtocolParams_ParamsVersionSet(self, e, a):
        old, new = str(a["oldVersion"]), str(a["newVersion"])
        self._parameter(e, "paramsVersion", old, new)
        # A new version starts as a copy of the one before it (version 1 as zeros); the
        # setter event that follows in the transaction makes the change.
        base = self._row("params_versions", old) if a["oldVersion"] else dict.fromkeys(VERSIONED.values(), 0)
        self.rows["params_versions"][new] = {
            **{column: base[column] for column in VERSIONED.values()},
            "version": new, "block_number": e.block_number, "block_time": e.block_time, "tx_hash": e.tx_hash,
        }
        self.published = (new, e.tx_hash)

    def _on_ProtocolParams_ArbiterSet(self, e, a):
        self._parameter(e, "arbiter", a["oldArbiter"], a["newArbiter"])

    def _on_AgoraGovernor_ProposalCreated(self, e, a):
        key = str(a["proposalId"])
        self.rows["proposals"][key] = {
            "proposal_id": key, "proposer": a["proposer"], "description": a["description"],
            "actions": [{"target": t, "value": str(v), "calldata": c}
                        for t, v, c in zip(a["targets"], a["values"], a["calldatas"], strict=False)],
            "vote_start": a["voteStart"], "vote_end": a["voteEnd"], "status": "created", "eta": None,
            "for_votes": 0, "against_votes": 0, "abstain_votes": 0,
            "created_block": e.block_number, "updated_block": e.block_number,
        }

    def _on_AgoraGovernor_VoteCast(self, e, a):
        key = str(a["proposalId"])
        proposal = self._row("proposals", key)
        column = {0: "against_votes", 1: "for_votes", 2: "abstain_votes"}[a["support"]]
        proposal[column] += a["weight"]
        proposal["updated_block"] = e.block_number
        self.votes.append({
            "proposal_id": key, "voter": a["voter"], "support": a["support"], "weight": a["weight"],
            "reason": a["reason"], "block_number": e.block_number, "log_index": e.log_index, "tx_hash": e.tx_hash,
        })

    _on_AgoraGovernor_VoteCastWithParams = _on_AgoraGovernor_VoteCast

    def _on_AgoraGovernor_ProposalQueued(self, e, a):
        self._row("proposals", str(a["proposalId"])).update(status="queued", eta=a["etaSeconds"],
                                                             updated_block=e.block_number)

    def _on_AgoraGovernor_ProposalExecuted(self, e, a):
        self._row("proposals", str(a["proposalId"])).update(status="executed", updated_block=e.block_number)

    def _on_AgoraGovernor_ProposalCanceled(self, e, a):
        self._row("proposals", str(a["proposalId"])).update(status="canceled", updated_block=e.block_number)

    def _on_AgoraGovernor_VotingDelaySet(self, e, a):
        self._parameter(e, "votingDelay", a["oldVotingDelay"], a["newVotingDelay"])

    def _on_AgoraGovernor_VotingPeriodSet(self, e, a):
        self._parameter(e, "votingPeriod", a["oldVotingPeriod"], a["newVotingPeriod"])

    def _on_AgoraGovernor_ProposalThresholdSet(self, e, a):
        self._parameter(e, "proposalThreshold", a["oldProposalThreshold"], a["newProposalThreshold"])

    def _on_AgoraGovernor_QuorumNumeratorUpdated(self, e, a):
        self._parameter(e, "quorumNumerator", a["oldQuorumNumerator"], a["newQuorumNumerator"])

    def _on_AgoraGovernor_TimelockChange(self, e, a):
        self._parameter(e, "timelock", a["oldTimelock"], a["newTimelock"])

    def _on_TimelockController_MinDelayChange(self, e, a):
        self._parameter(e, "minDelay", a["oldDuration"], a["newDuration"])


class ProjectionError(RuntimeError):
    """An event refers to a row the index does not have."""
