"""Every event type lands in the right rows, and the rows agree with the contracts' own views."""

from __future__ import annotations

from collections import Counter, defaultdict

from brownie import chain
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from agora.db.models import ChainEvent, Job, ParameterChange, Payout, Proposal, Provider, Slash, Vote

JOB_STATE = {1: "open", 2: "matched", 3: "running", 4: "submitted", 5: "disputed", 6: "completed", 7: "refunded",
             8: "slashed"}


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
            "JobReclaimed", "ResultSubmitted", "JobCompleted", "JobCancelled", "JobExpired", "JobSlashed",
            "JobDisputed", "DisputeResolved", "Withdrawn", "ProtocolFeeBpsSet", "ArbiterSet", "ProposalCreated",
            "VoteCast", "ProposalQueued", "ProposalExecuted", "ProposalCanceled", "VotingPeriodSet",
            "MinDelayChange", "Transfer", "DelegateChanged", "CallScheduled", "CallExecuted",
        }
        assert everyone <= set(names), everyone - set(names)

        # Jobs: every field the market stores agrees with the contract.
        for job in session.execute(select(Job)).scalars():
            on_chain = system.market.jobOf(job.job_id)
            assert JOB_STATE[on_chain[1]] == job.state, job.job_id
            if job.state in ("matched", "running", "submitted", "disputed"):
                assert (job.provider, job.price) == (str(on_chain[0]).lower(), on_chain[7])
        states = Counter(j.state for j in session.execute(select(Job)).scalars())
        assert states == {"completed": 4, "refunded": 2, "slashed": 1}

        # Providers: stake, collateral, capacity in use and reputation, as the registry has them.
        for p in session.execute(select(Provider)).scalars():
            view = system.registry.providerOf(p.address)
            assert (p.stake, p.locked_collateral, p.unbonding) == (view[5], view[6], view[7])
            assert (p.completed_jobs, p.missed_deadlines, p.disputes_lost, p.total_slashed) == tuple(view[9:13])
            assert (p.used_cpu_millicores, p.used_gpu_count) == (view[2][0], view[2][3])
            assert p.endpoint == view[4]

        # Payouts: each account's credits minus withdrawals is its balance in the market.
        balance = defaultdict(int)
        for row in session.execute(select(Payout)).scalars():
            balance[row.account] += -row.amount if row.kind == "withdrawal" else row.amount
        for account in list(balance) + [str(a.address).lower() for a in accounts[:10]]:
            assert balance[account] == system.market.creditOf(account), account

        slashes = session.execute(select(Slash)).scalars().all()
        assert sorted(s.reason for s in slashes) == ["missed_deadline", "proven_fault"]

        # Governance: tallies, statuses, votes and the parameter history.
        proposals = {p.status: p for p in session.execute(select(Proposal)).scalars()}
        assert set(proposals) == {"executed", "canceled"}
        executed = proposals["executed"]
        against, for_, abstain = system.governor.proposalVotes(int(executed.proposal_id))
        assert (executed.for_votes, executed.against_votes, executed.abstain_votes) == (for_, against, abstain)
        assert len(session.execute(select(Vote)).scalars().all()) == 3
        latest = {}
        for change in session.execute(select(ParameterChange).order_by(ParameterChange.block_number,
                                                                       ParameterChange.log_index)).scalars():
            latest[change.name] = change.new_value
        assert latest["protocolFeeBps"] == "200" == str(system.params.protocolFeeBps())
        assert latest["arbiter"] == str(system.params.arbiter()).lower()
        assert latest["votingPeriod"] == "400" and latest["minDelay"] == "90"
        assert latest["minProviderStake"] == str(system.params.minProviderStake())
    engine.dispose()
