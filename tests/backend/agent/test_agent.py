"""The provider agent on a live market, round by round: it lists itself, accepts what is
matched to it, runs the module in the sandbox from data fetched by hash, and submits the
hash of exactly the result a local run gives; failures of the module end as recorded
failures, a restarted agent finishes what it accepted, and nothing is sent twice."""

from __future__ import annotations

from brownie import chain
from sqlalchemy import select
from workkit import LOOP_FOREVER, example, expected_record, rounds, sieve_input, state, submitted_hash

from agora.agent.service import submit_margin
from agora.db.models import AgentRun, OutgoingTransaction
from agora.market.protocol import TOKEN
from agora.market.spec import Limits, ResultRecord
from agora.market.states import JobState
from agora.market.terms import label
from agora.sandbox import compile_wat

SMALL = Limits(fuel=10**7, memory_bytes=2**20 * 4, output_bytes=1024, wall_seconds=10.0)


def listed(live, address):
    return live.s.registry.providerOf(address)


def test_AnAgentRegistersWithItsListingAndStakeThenKeepsThemCurrent(live, agent_app, blob_node_server):
    app = agent_app("agent", **{"agent.region": "eu-west", "agent.stake_tokens": 300})
    agent = app.agent()
    assert agent.ensure_listed() == ["registered"]
    view = listed(live, app.wallet.address)
    assert view[0] == 1  # Active
    assert tuple(view[1][:4]) == (4_000, 8_192, 20, 0)
    assert bytes(view[1][5]) == label("eu-west") and bytes(view[1][4]) == label("")
    assert view[5] == 300 * TOKEN and view[4] == blob_node_server.url
    assert agent.ensure_listed() == []  # nothing differs: nothing sent
    app.settings.agent = app.settings.agent.model_copy(update={"price_cpu_core_gwei": 7 * 10**8, "stake_tokens": 400})
    agent = app.agent()
    assert agent.ensure_listed() == ["listing updated", "stake topped up to 400 tokens"]
    view = listed(live, app.wallet.address)
    assert view[3][0] == 7 * 10**8 and view[5] == 400 * TOKEN


def test_AMatchedJobIsAcceptedRunAndTheHashOfALocalRunIsSubmitted(live, agent_app, jobs, blob_node_server):
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    module, data = example("sieve"), sieve_input(100_000)
    terms, _spec = jobs.post(module, data)
    jobs.match(terms, app.wallet.address)
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, what="the job submitted")
    want = expected_record(module, data)
    assert want.ok and int.from_bytes(want.output[:4], "little") == 9_592  # primes below 100,000
    assert submitted_hash(app.contracts, terms) == "0x" + want.result_id
    # The result record is on the blob node, for the buyer to fetch and check.
    assert ResultRecord.decode(blob_node_server.store.get(want.result_id)) == want
    with app.sessions() as session:
        run = session.scalars(select(AgentRun)).one()
    assert (run.status, run.outcome, run.result_hash) == ("submitted", "ok", "0x" + want.result_id)
    assert run.fuel_used > 0
    agent.close()


def test_AModuleThatLoopsForeverEndsOutOfFuelAndTheFailureIsSubmitted(live, agent_app, jobs):
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    module = compile_wat(LOOP_FOREVER)
    terms, _ = jobs.post(module, b"", limits=SMALL)
    jobs.match(terms, app.wallet.address)
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, timeout=60, what="the failure submitted")
    assert submitted_hash(app.contracts, terms) == "0x" + ResultRecord("out_of_fuel").result_id
    agent.close()


def test_AModuleThatIsNotWebAssemblyEndsAsAnInvalidModule(live, agent_app, jobs):
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    terms, _ = jobs.post(b"#!/bin/sh\nrm -rf /\n", b"", limits=SMALL)
    jobs.match(terms, app.wallet.address)
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, what="the failure submitted")
    assert submitted_hash(app.contracts, terms) == "0x" + ResultRecord("invalid_module").result_id
    agent.close()


def test_AMatchBelowThePriceFloorIsDeclined(live, agent_app, jobs):
    app = agent_app(**{"agent.min_price_wei": 10**30})
    agent = app.agent()
    agent.ensure_listed()
    terms, _ = jobs.post(example("sieve"), sieve_input(10))
    jobs.match(terms, app.wallet.address)
    reports = rounds(app, agent, lambda: state(live, terms) == JobState.OPEN, what="the match declined")
    assert sum(r.declined for r in reports) == 1 and sum(r.accepted for r in reports) == 0
    agent.close()


def test_ARestartedAgentRunsAndSubmitsTheJobItHadAccepted(live, agent_app, jobs):
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    module, data = example("hashchain"), (1_000).to_bytes(8, "little") + b"seed"
    terms, _ = jobs.post(module, data)
    jobs.match(terms, app.wallet.address)
    # Accept, then "crash" before running: the run is recorded as running by a process that is gone.
    agent.pool.shutdown(wait=True)
    agent.pool = _NeverRuns()
    rounds(app, agent, lambda: state(live, terms) == JobState.RUNNING, what="the job accepted")
    app.indexer().run(until_block=chain.height)
    agent.run_once()  # starts the run on a pool that never runs it
    with app.sessions() as session:
        assert session.scalars(select(AgentRun.status)).all() == ["running"]
    restarted = app.agent()
    rounds(app, restarted, lambda: state(live, terms) == JobState.SUBMITTED, what="the restarted agent's submit")
    assert submitted_hash(app.contracts, terms) == "0x" + expected_record(module, data).result_id
    with app.sessions() as session:
        sent = session.scalars(select(OutgoingTransaction.key)).all()
    assert len([k for k in sent if k.startswith("submit:")]) == 1
    assert len([k for k in sent if k.startswith("accept:")]) == 1
    restarted.close()


class _NeverRuns:
    """A thread pool whose work never starts (the agent process died with it)."""

    def submit(self, *_args, **_kwargs):
        from concurrent.futures import Future

        return Future()

    def shutdown(self, **_kwargs):
        pass


def test_JobDataMissingEverywhereIsRetriedThenSubmittedAsUnavailable(live, agent_app, jobs):
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    terms, _ = jobs.post(example("sieve"), sieve_input(1000), upload=False, duration=40)
    jobs.match(terms, app.wallet.address)
    reports = rounds(app, agent, lambda: state(live, terms) == JobState.RUNNING, what="the job accepted")
    for _ in range(3):  # plenty of time left: the agent keeps trying
        reports += rounds(app, agent, lambda: True)
    assert state(live, terms) == JobState.RUNNING
    chain.sleep(35)  # a quarter of the delivery time left at most
    chain.mine()
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, what="the unavailable result")
    assert submitted_hash(app.contracts, terms) == "0x" + ResultRecord("data_unavailable").result_id
    agent.close()


def test_AnAgentTakesAnOpenJobItselfWhenItsPolicySaysSo(live, agent_app, jobs):
    app = agent_app(**{"agent.take_open_jobs": True})
    agent = app.agent()
    agent.ensure_listed()
    terms, _ = jobs.post(example("sieve"), sieve_input(1000))
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, what="the job taken and submitted")
    job = live.s.market.jobOf(terms.job_id)
    assert job[0] == app.wallet.address
    assert job[5] == "0x" + "00" * 20  # taken: no matchmaker
    agent.close()


def test_ARunIsCutShortByItsDeadlineAndItsWallTimeSubmittedInTime(live, agent_app, jobs):
    """A buyer cannot make an honest provider miss its deadline with a module that outruns
    the job's duration: the run is cut at the deadline less a margin and submitted."""
    app = agent_app()
    agent = app.agent()
    agent.ensure_listed()
    endless = Limits(fuel=10**12, memory_bytes=2**20 * 4, output_bytes=1024, wall_seconds=3600.0)
    terms, _ = jobs.post(compile_wat(LOOP_FOREVER), b"", limits=endless, duration=9)
    jobs.match(terms, app.wallet.address)
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, timeout=40, what="the cut-short run")
    assert submitted_hash(app.contracts, terms) == "0x" + ResultRecord("wall_time").result_id
    with app.sessions() as session:
        run = session.scalars(select(AgentRun)).one()
    # Cut at the deadline less the margin (the chain's clock may run ahead of this one's:
    # the bound is the job's whole duration), where the manifest allowed an hour.
    assert run.outcome == "wall_time" and 9 - submit_margin(9) - 1 <= run.wall_seconds < 9
    agent.close()
