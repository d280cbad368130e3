"""Every event type lands in the right rows, and the rows agree with the contracts' own views."""

from __future__ import annotations

from collections import Counter, defaultdict

from brownie import chain
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from agora.db.models import ChainEvent, Job, ParameterChange, ParamsVersion, Payout, Proposal, Provider, Slash, Vote

JOB_STATE = {1: "open", 2: "matched", 3: "running", 4: "submitted", 5: "disputed", 6: "completed", 7: "refunded",
             8: "slashed"}
ZERO_ADDRESS = "0x" + "00" * 20
# IJobMarket's Job, as jobOf returns it.
PROVIDER, STATE, DEADLINE, PARAMS_VERSION, DURATION, MATCHMAKER, PRICE = range(7)


def address_or_none(value) -> str | None:
    value = str(value).lower()
    return None if value == ZERO_ADDRESS else value


def version_on_chain(params, version: int) -> dict:
    """A parameter version as ProtocolParams publishes it, by params_versions column."""
    (min_job_collateral, collateral_ratio_bps, protocol_fee_bps, matchmaker_fee_bps, challenge_window_seconds,
     arbitration_window_seconds, missed_deadline_slash_bps, buyer_share_bps,
     reporter_share_bps) = params.settlementParams(version)
    fault_slash_bps, dispute_bond = params.disputeParams(version)
    return dict(min_job_collateral=min_job_collateral, collateral_ratio_bps=collateral_ratio_bps,
                protocol_fee_bps=protocol_fee_bps, matchmaker_fee_bps=matchmaker_fee_bps,
                challenge_window_seconds=challenge_window_seconds,
                arbitration_window_seconds=arbitration_window_seconds,
                missed_deadline_slash_bps=missed_deadline_slash_bps, buyer_share_bps=buyer_share_bps,
                reporter_share_bps=reporter_share_bps, fault_slash_bps=fault_slash_bps, dispute_bond=dispute_bond)


def test_EveryEventTypeLandsInTheRightRows(database_url, system, scenario, indexer_for, accounts):
    scenario.everything()
    chain.mine()
    indexer = indexer_for(database_url)
    indexer.run(until_block=chain.height)
    engine = create_engine(database_url)
    with Session(engine) as session:
        # Every log of every Agora contract is in the event table, once.
        events = session.execute(select(ChainEvent)).scalars().all()
        addresses = [c["address"] for c in system.record["contracts"].values()]
        raw = indexer.rpc.logs(system.record["deployBlock"], chain.height, addresses)
        assert len(events) == len(raw)
        names = Counter(e.name for e in events)
        everyone = {
            "ProviderRegistered", "ListingUpdated", "ProviderStatusChanged", "StakeAdded", "UnbondingRequested",
            "UnbondedWithdrawn", "ProviderSlashed", "JobPosted", "JobMatched", "JobTaken", "JobAccepted",
            "JobDeclined", "JobReclaimed", "ResultSubmitted", "JobCompleted", "JobCancelled", "JobExpired",
            "JobSlashed", "JobDisputed", "DisputeResolved", "DisputeClosedByDefault", "Withdrawn",
            "ParamsVersionSet", "ProtocolFeeBpsSet", "ChallengeWindowSecondsSet", "ArbitrationWindowSecondsSet",
            "MinJobCollateralSet", "ArbiterSet", "ProposalCreated", "VoteCast", "ProposalQueued",
            "ProposalExecuted", "ProposalCanceled", "VotingPeriodSet", "MinDelayChange", "Transfer",
            "DelegateChanged", "CallScheduled", "CallExecuted",
        }
        assert everyone <= set(names), everyone - set(names)

        # Parameter versions: every published version, value for value, as ProtocolParams has it.
        versions = {int(v.version): v for v in session.execute(select(ParamsVersion)).scalars()}
        current = system.params.version()
        assert current == 5 and sorted(versions) == list(range(1, current + 1))
        for number, row in versions.items():
            assert {k: getattr(row, k) for k in version_on_chain(system.params, number)} == \
                version_on_chain(system.params, number), number

        # Jobs: every field the market stores agrees with the contract.
        jobs = session.execute(select(Job)).scalars().all()
        for job in jobs:
            on_chain = system.market.jobOf(job.job_id)
            assert JOB_STATE[on_chain[STATE]] == job.state, job.job_id
            assert job.provider == address_or_none(on_chain[PROVIDER]), job.job_id
            if job.state == "open":
                assert job.deadline == job.expires_at == on_chain[DEADLINE]
                assert (job.params_version, job.price, job.collateral) == (None, None, None)
            if job.state not in ("matched", "running", "submitted", "disputed"):
                continue
            version = versions[on_chain[PARAMS_VERSION]]
            assert (job.price, job.params_version, job.matchmaker) == \
                (on_chain[PRICE], on_chain[PARAMS_VERSION], address_or_none(on_chain[MATCHMAKER])), job.job_id
            assert job.collateral == max(job.price * version.collateral_ratio_bps // 10_000,
                                         version.min_job_collateral)
            assert job.challenge_window_seconds == version.challenge_window_seconds
            if job.state == "submitted":
                # The contract keeps the submit's time; the window is the job's version's.
                assert job.deadline == job.challenge_deadline == on_chain[DEADLINE] + version.challenge_window_seconds
            else:
                assert job.deadline == on_chain[DEADLINE], job.job_id
            if job.state == "disputed":
                assert job.arbitration_deadline == on_chain[DEADLINE]
        states = Counter(j.state for j in jobs)
        assert states == {"completed": 6, "refunded": 5, "slashed": 1, "matched": 1, "running": 1, "submitted": 2,
                          "disputed": 1}
        # The two jobs matched before the vote kept version 1 (challenge window 30 s, not 45 s).
        assert sorted(j.params_version for j in jobs if j.state in ("matched", "running", "submitted", "disputed")) \
            == [1, 5, 5, 5, 5]
        assert {j.challenge_window_seconds for j in jobs if j.state == "submitted"} == {30, 45}

        # Providers: stake, collateral, capacity in use and reputation, as the registry has them.
        for p in session.execute(select(Provider)).scalars():
            view = system.registry.providerOf(p.address)
            assert (p.stake, p.locked_collateral, p.unbonding, p.unbonding_unlocks_at) == tuple(view[5:9])
            assert (p.completed_jobs, p.missed_deadlines, p.disputes_lost, p.lapsed_matches,
                    p.total_slashed) == tuple(view[9:14])
            assert (p.used_cpu_millicores, p.used_memory_mib, p.used_storage_gib, p.used_gpu_count) == \
                tuple(view[2][:4])
            assert p.endpoint == view[4]
            assert p.lapsed_matches > 0

        # Payouts: each account's credits minus withdrawals is its balance in the market.
        balance = defaultdict(int)
        for row in session.execute(select(Payout)).scalars():
            balance[row.account] += -row.amount if row.kind == "withdrawal" else row.amount
        for account in list(balance) + [str(a.address).lower() for a in accounts[:10]]:
            assert balance[account] == system.market.creditOf(account), account
        kinds = Counter(row.kind for row in session.execute(select(Payout)).scalars())
        assert kinds["dispute_bond"] == 3  # to the provider (ruled for, closed by default), to the buyer (at fault)

        slashes = session.execute(select(Slash)).scalars().all()
        assert sorted(s.reason for s in slashes) == ["lapsed_match"] * 3 + ["missed_deadline", "proven_fault"]
        assert sorted(s.new_state for s in slashes if s.reason == "lapsed_match") == ["open", "open", "refunded"]

        # Governance: tallies, statuses, votes and the parameter history.
        proposals = {p.status: p for p in session.execute(select(Proposal)).scalars()}
        assert set(proposals) == {"executed", "canceled"}
        executed = proposals["executed"]
        against, for_, abstain = system.governor.proposalVotes(int(executed.proposal_id))
        assert (executed.for_votes, executed.against_votes, executed.abstain_votes) == (for_, against, abstain)
        assert len(session.execute(select(Vote)).scalars().all()) == 3
        latest, version_of = {}, {}
        for change in session.execute(select(ParameterChange).order_by(ParameterChange.block_number,
                                                                       ParameterChange.log_index)).scalars():
            latest[change.name] = change.new_value
            if change.extra:
                version_of[change.name] = change.extra["version"]
        assert latest["protocolFeeBps"] == "200" == str(system.params.protocolFeeBps())
        assert latest["challengeWindowSeconds"] == "45" == str(system.params.challengeWindowSeconds())
        assert latest["arbitrationWindowSeconds"] == "90" == str(system.params.arbitrationWindowSeconds())
        assert latest["minJobCollateral"] == str(2 * 10**18) == str(system.params.minJobCollateral())
        assert latest["paramsVersion"] == "5" == str(system.params.version())
        assert version_of == {"protocolFeeBps": 2, "challengeWindowSeconds": 3, "arbitrationWindowSeconds": 4,
                              "minJobCollateral": 5, "collateralRatioBps": 1, "missedDeadlineSlashBps": 1,
                              "faultSlashBps": 1, "buyerShareBps": 1, "reporterShareBps": 1, "matchmakerFeeBps": 1,
                              "disputeBond": 1}
        assert latest["arbiter"] == str(system.params.arbiter()).lower()
        assert latest["votingPeriod"] == "400" and latest["minDelay"] == "90"
        assert latest["minProviderStake"] == str(system.params.minProviderStake())
    engine.dispose()
