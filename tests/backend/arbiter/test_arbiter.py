"""The arbiter re-runs disputed jobs and rules by the result hash: a cheating provider's
wrong result is found and slashed with the buyer paid, an honest result disputed anyway is
ruled for the provider, a job whose data is gone is ruled for the provider after its
rounds, and a wallet governance has not named never rules."""

from __future__ import annotations

from sqlalchemy import select
from workkit import anvil_key, example, expected_record, rounds, sieve_input, state, submitted_hash

from agora.db.models import ArbiterRuling
from agora.market.states import JobState


def disputed_job(live, agent_app, jobs, *, corrupt: bool, upload: bool = True):
    """A sieve job run by an agent (corrupting its output or not), then disputed by its buyer."""
    app = agent_app("agent", **{"agent.corrupt_results": corrupt})
    agent = app.agent()
    agent.ensure_listed()
    module, data = example("sieve"), sieve_input(50_000)
    terms, spec = jobs.post(module, data)
    jobs.match(terms, app.wallet.address)
    rounds(app, agent, lambda: state(live, terms) == JobState.SUBMITTED, what="the result submitted")
    agent.close()
    live.s.market.dispute(terms.as_tuple(), {"from": live.buyers[0]})
    assert state(live, terms) == JobState.DISPUTED
    return app, terms, expected_record(module, data)


def arbiter_of(live, agent_app, **overrides):
    app = agent_app("arbiter", private_key=anvil_key(9), **overrides)
    assert app.wallet.address == live.arbiter.address
    return app, app.arbiter()


def test_ACheatingProvidersWrongResultIsFoundAndTheBuyerPaidFromTheSlash(live, agent_app, jobs):
    agent, terms, honest = disputed_job(live, agent_app, jobs, corrupt=True)
    submitted = submitted_hash(agent.contracts, terms)
    assert submitted != "0x" + honest.result_id
    buyer = live.buyers[0]
    credit_before = live.s.market.creditOf(buyer)
    stake_before = live.s.registry.providerOf(agent.wallet.address)[5]
    app, arbiter = arbiter_of(live, agent_app)
    reports = rounds(app, arbiter, lambda: state(live, terms) == JobState.SLASHED, what="the ruling")
    assert sum(r.ruled["provider at fault"] for r in reports) == 1
    with app.sessions() as session:
        ruling = session.scalars(select(ArbiterRuling)).one()
    assert ruling.provider_at_fault is True
    assert (ruling.submitted_hash, ruling.rerun_hash, ruling.rerun_outcome) == (submitted, "0x" + honest.result_id,
                                                                               "ok")
    assert ruling.evidence["spec"] == terms.spec_hash.hex() and ruling.evidence["status"] == "ok"
    # The buyer gets its escrow and its bond back, and the buyer's and reporter's shares of
    # the slash, to the wei; the slash comes out of the provider's stake.
    bond = agent.contracts.market.events.JobDisputed().get_logs(from_block=0)[-1]["args"]["bond"]
    slash = agent.contracts.market.events.JobSlashed().get_logs(from_block=0)[-1]["args"]
    assert slash["newState"] == JobState.SLASHED
    assert live.s.market.creditOf(buyer) - credit_before == terms.max_price + bond + slash["buyerShare"] \
        + slash["reporterShare"]
    assert stake_before - live.s.registry.providerOf(agent.wallet.address)[5] == slash["amount"] > 0
    logs = agent.contracts.market.events.DisputeResolved().get_logs(from_block=0)
    assert [(bytes(e["args"]["jobId"]), e["args"]["providerAtFault"]) for e in logs] == [(terms.job_id, True)]


def test_AnHonestResultDisputedAnywayIsRuledForTheProvider(live, agent_app, jobs):
    agent, terms, honest = disputed_job(live, agent_app, jobs, corrupt=False)
    assert submitted_hash(agent.contracts, terms) == "0x" + honest.result_id
    app, arbiter = arbiter_of(live, agent_app)
    rounds(app, arbiter, lambda: state(live, terms) == JobState.COMPLETED, what="the ruling")
    with app.sessions() as session:
        ruling = session.scalars(select(ArbiterRuling)).one()
    assert (ruling.provider_at_fault, ruling.rerun_hash) == (False, "0x" + honest.result_id)
    logs = agent.contracts.market.events.DisputeResolved().get_logs(from_block=0)
    assert [e["args"]["providerAtFault"] for e in logs] == [False]


def test_AJobWhoseDataIsGoneIsRuledForTheProviderAfterItsRounds(live, agent_app, jobs, blob_node_server):
    agent, terms, _honest = disputed_job(live, agent_app, jobs, corrupt=True)
    for blob_id in blob_node_server.store.ids():  # the node loses every blob
        blob_node_server.store.path(blob_id).unlink()
    app, arbiter = arbiter_of(live, agent_app, **{"arbiter.unavailable_rounds": 3})
    reports = rounds(app, arbiter, lambda: state(live, terms) == JobState.COMPLETED, what="the default ruling")
    assert sum(r.waiting for r in reports) == 2  # two rounds waited, the third ruled
    with app.sessions() as session:
        ruling = session.scalars(select(ArbiterRuling)).one()
    assert (ruling.provider_at_fault, ruling.rerun_hash, ruling.rerun_outcome) == (False, None, "data_unavailable")
    assert "unavailable" in ruling.evidence


def test_AWalletGovernanceDidNotNameNeverRules(live, agent_app, jobs):
    _agent, terms, _ = disputed_job(live, agent_app, jobs, corrupt=True)
    app = agent_app("impostor")
    report = app.arbiter().run_once()
    assert report.skipped and "not this wallet" in report.skipped
    assert state(live, terms) == JobState.DISPUTED


def name_arbiter(live, address: str) -> None:
    """A proposal naming `address` the arbiter, voted, queued and executed by the timelock."""
    from brownie import chain
    from eth_utils import keccak
    from marketscenario import DEVNET

    s, g = live.s, live.s.governor
    for voter in live.voters:
        s.token.delegate(voter, {"from": voter})
    chain.sleep(1)
    args = ([s.params], [0], [s.params.setArbiter.encode_input(address)])
    description = f"A new arbiter {address}"
    proposal = g.propose(*args, description, {"from": live.voters[0]}).return_value
    chain.sleep(g.votingDelay() + 1)
    chain.mine()
    for voter in live.voters:
        g.castVote(proposal, 1, {"from": voter})
    chain.sleep(g.votingPeriod() + 1)
    chain.mine()
    g.queue(*args, keccak(text=description), {"from": live.keeper})
    chain.sleep(DEVNET.governance.timelock_delay_seconds + 1)
    g.execute(*args, keccak(text=description), {"from": live.keeper})


def test_AnArbiterGovernanceNamesRulesAndTheOneItReplacedStops(live, agent_app, jobs):
    newcomer = agent_app("newcomer")
    name_arbiter(live, newcomer.wallet.address)
    assert live.s.params.arbiter() == newcomer.wallet.address
    _agent, terms, honest = disputed_job(live, agent_app, jobs, corrupt=True)
    _old_app, old = arbiter_of(live, agent_app)
    assert "not this wallet" in old.run_once().skipped
    rounds(newcomer, newcomer.arbiter(), lambda: state(live, terms) == JobState.SLASHED, what="the new ruling")
    logs = newcomer.contracts.market.events.DisputeResolved().get_logs(from_block=0)
    assert [(e["args"]["arbiter"], e["args"]["providerAtFault"]) for e in logs] == [(newcomer.wallet.address, True)]


def wall_time_claim(live, jobs, module: bytes, data: bytes, limits):
    """A job a provider (played with brownie) accepts and answers with a `wall_time` record."""
    from agora.market.spec import ResultRecord

    terms, _ = jobs.post(module, data, limits=limits, duration=600)
    provider = live.providers[0]
    jobs.match(terms, provider)
    live.accept(terms, provider)
    live.s.market.submitResult(terms.job_id, ResultRecord("wall_time").result_hash, {"from": provider})
    live.s.market.dispute(terms.as_tuple(), {"from": live.buyers[0]})
    return terms


def test_AWallTimeClaimOnAJobThatFinishesQuicklyIsAFault(live, agent_app, jobs):
    """A lazy provider cannot claim "it ran out of time" on a job the arbiter finishes at once."""
    from agora.market.spec import DEFAULT_LIMITS

    terms = wall_time_claim(live, jobs, example("sieve"), sieve_input(10_000), DEFAULT_LIMITS)
    app, arbiter = arbiter_of(live, agent_app)
    rounds(app, arbiter, lambda: state(live, terms) == JobState.SLASHED, what="the ruling")
    with app.sessions() as session:
        ruling = session.scalars(select(ArbiterRuling)).one()
    assert ruling.provider_at_fault and ruling.rerun_outcome == "ok"
    assert ruling.evidence["why"].startswith("wall time claimed; the re-run ended ok")


def test_AWallTimeClaimOnAJobTheArbiterCannotFinishEitherIsRuledForTheProvider(live, agent_app, jobs):
    from workkit import LOOP_FOREVER

    from agora.market.spec import Limits
    from agora.sandbox import compile_wat

    endless = Limits(fuel=10**12, memory_bytes=2**22, output_bytes=1024, wall_seconds=1.0)
    terms = wall_time_claim(live, jobs, compile_wat(LOOP_FOREVER), b"", endless)
    app, arbiter = arbiter_of(live, agent_app)
    rounds(app, arbiter, lambda: state(live, terms) == JobState.COMPLETED, what="the ruling")
    with app.sessions() as session:
        ruling = session.scalars(select(ArbiterRuling)).one()
    assert (ruling.provider_at_fault, ruling.rerun_outcome) == (False, "wall_time")
