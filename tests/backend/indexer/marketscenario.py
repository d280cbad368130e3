"""Drives a deployed market through every kind of event, for the indexer tests."""

from __future__ import annotations

import itertools

from brownie import chain, web3
from eth_utils import keccak

from agora.market.protocol import PROFILES, TOKEN
from agora.market.terms import HourlyPrices, JobTerms, Resources, label

DEVNET = PROFILES["devnet"]
P = DEVNET.params.initial
CAPACITY = Resources(16_000, 65_536, 500, 2, label("A100"), label("eu-west"))
PRICES = HourlyPrices(10**8, 10**7, 2 * 10**9, 10**6)


class System:
    """The contracts of one deployment, as brownie objects."""

    def __init__(self, containers, record: dict):
        at = {name: c["address"] for name, c in record["contracts"].items()}
        self.record = record
        self.token = containers.AgoraToken.at(at["AgoraToken"])
        self.timelock = containers.TimelockController.at(at["TimelockController"])
        self.governor = containers.AgoraGovernor.at(at["AgoraGovernor"])
        self.params = containers.ProtocolParams.at(at["ProtocolParams"])
        self.registry = containers.ProviderRegistry.at(at["ProviderRegistry"])
        self.market = containers.JobMarket.at(at["JobMarket"])


class Scenario:
    def __init__(self, system: System, accounts):
        self.s = system
        self.buyers = [accounts[1], accounts[2]]
        self.providers = [accounts[3], accounts[4]]
        self.matchmaker, self.keeper = accounts[5], accounts[6]
        self.voters = [accounts[1], accounts[7], accounts[8]]
        self.arbiter = accounts[9]
        self.salts = itertools.count(1)

    # ------------------------------------------------------------------ building blocks

    def setup(self) -> None:
        s = self.s
        for who in self.buyers + self.providers:
            s.token.approve(s.market, 2**256 - 1, {"from": who})
            s.token.approve(s.registry, 2**256 - 1, {"from": who})
        for who in self.providers:
            s.registry.register(CAPACITY.as_tuple(), PRICES.as_tuple(), f"https://{str(who.address)[2:8]}.example",
                                1_000 * TOKEN, {"from": who})

    def terms(self, buyer=None, **changes) -> JobTerms:
        buyer = buyer or self.buyers[0]
        now = chain[-1].timestamp
        terms = JobTerms(str(buyer.address), 10 * TOKEN, keccak(text=f"spec {now}"), 600, now + 3_600,
                         next(self.salts), Resources(2_000, 4_096, 10))
        return terms.with_(**changes)

    def post(self, buyer=None, **changes) -> JobTerms:
        terms = self.terms(buyer, **changes)
        self.s.market.post(terms.as_tuple(), {"from": buyer or self.buyers[0]})
        return terms

    def price(self, terms: JobTerms, provider) -> int:
        """The provider's price for the job now: what a match or take must expect."""
        return self.s.registry.quote(provider, terms.resources.as_tuple(), terms.duration_seconds)

    def match(self, terms: JobTerms, provider, matchmaker=None):
        return self.s.market.matchJob(terms.as_tuple(), provider, self.price(terms, provider),
                                      {"from": matchmaker or self.matchmaker})

    def take(self, terms: JobTerms, provider):
        return self.s.market.take(terms.as_tuple(), self.price(terms, provider), {"from": provider})

    def accept(self, terms: JobTerms, provider):
        return self.s.market.accept(terms.job_id, {"from": provider})

    def run_job(self, provider=None, buyer=None, finish="confirm") -> JobTerms:
        """A job from post to completion (by confirm or finalize) through a matchmaker."""
        m, provider, buyer = self.s.market, provider or self.providers[0], buyer or self.buyers[0]
        terms = self.post(buyer)
        self.match(terms, provider)
        self.accept(terms, provider)
        m.submitResult(terms.job_id, keccak(text="result"), {"from": provider})
        if finish == "confirm":
            m.confirm(terms.as_tuple(), {"from": buyer})
        elif finish == "finalize":
            chain.sleep(P.challenge_window_seconds + 1)
            m.finalize([terms.as_tuple()], {"from": self.keeper})
        return terms

    # ------------------------------------------------------------------ every event

    def everything(self) -> None:
        """At least one of every event the contracts emit, every way a job can go, and jobs
        left in every live state, some matched under a parameter version governance has
        since replaced."""
        s, m, r = self.s, self.s.market, self.s.registry
        p0, p1 = self.providers
        b0, b1 = self.buyers
        self.setup()
        r.updateListing(CAPACITY.as_tuple(), PRICES.as_tuple(), "https://renamed.example", {"from": p1})
        r.pause({"from": p1})
        r.resume({"from": p1})
        r.addStake(50 * TOKEN, {"from": p1})
        r.requestUnbonding(20 * TOKEN, {"from": p1})

        self.run_job(p0, b0, "confirm")
        self.run_job(p1, b1, "finalize")
        taken = self.post(b1)
        self.take(taken, p1)
        m.submitResult(taken.job_id, keccak(text="taken"), {"from": p1})
        m.confirm(taken.as_tuple(), {"from": b1})

        # Matches that end without work: lapsed (reclaimed, slashed) and back to Open, then
        # cancelled; lapsed past the job's expiry (Refunded); declined (slashed, Open), then
        # matched to a provider who takes it (the matchmaker dropped); cancelled while matched.
        lapsed = self.post(b0)
        self.match(lapsed, p0)
        chain.sleep(P.accept_window_seconds + 1)
        m.reclaim(lapsed.as_tuple(), {"from": self.keeper})
        m.cancel(lapsed.as_tuple(), {"from": b0})
        expiring = self.post(b1, expires_at=chain[-1].timestamp + 5)
        self.match(expiring, p1)
        chain.sleep(P.accept_window_seconds + 6)
        m.reclaim(expiring.as_tuple(), {"from": self.keeper})
        declined = self.post(b0)
        self.match(declined, p1)
        m.decline(declined.as_tuple(), {"from": p1})
        self.match(declined, p0)
        self.take(declined, p0)
        m.submitResult(declined.job_id, keccak(text="declined"), {"from": p0})
        m.confirm(declined.as_tuple(), {"from": b0})
        withdrawn = self.post(b1)
        self.match(withdrawn, p0)
        m.cancel(withdrawn.as_tuple(), {"from": b1})
        short = self.post(b0, expires_at=chain[-1].timestamp + 30)
        chain.sleep(31)
        m.expire(short.as_tuple(), {"from": self.keeper})

        late = self.post(b1)
        self.match(late, p0)
        self.accept(late, p0)
        chain.sleep(late.duration_seconds + 1)
        m.slashMissedDeadline(late.as_tuple(), {"from": self.keeper})  # back to Open: failover
        self.match(late, p1)
        self.accept(late, p1)
        m.submitResult(late.job_id, keccak(text="late"), {"from": p1})
        m.dispute(late.as_tuple(), {"from": b1})
        m.resolveDispute(late.as_tuple(), True, {"from": self.arbiter})

        fine = self.run_job(p0, b0, finish=None)
        m.dispute(fine.as_tuple(), {"from": b0})
        m.resolveDispute(fine.as_tuple(), False, {"from": self.arbiter})

        unjudged = self.run_job(p1, b1, finish=None)
        m.dispute(unjudged.as_tuple(), {"from": b1})
        chain.sleep(P.arbitration_window_seconds + 1)
        m.closeDispute(unjudged.as_tuple(), {"from": self.keeper})

        chain.sleep(P.unbonding_period_seconds + 1)
        r.withdrawUnbonded({"from": p1})
        for who in (b0, p0, self.matchmaker, self.keeper):
            m.withdraw({"from": who})

        # Two jobs running under version 1 while governance publishes new versions: they
        # settle (or wait to) under version 1's challenge window and fees.
        before_vote = [self.post(b0), self.post(b1)]
        for terms in before_vote:
            self.match(terms, p0)
            self.accept(terms, p0)
        self.govern()
        for terms in before_vote:
            m.submitResult(terms.job_id, keccak(text="across the vote"), {"from": p0})
        m.confirm(before_vote[0].as_tuple(), {"from": b0})

        # Jobs left live under the newest version: matched, running, submitted, disputed.
        self.match(self.post(b0), p1)
        self.take(self.post(b1), p1)
        self.run_job(p1, b0, finish=None)
        disputed = self.run_job(p0, b1, finish=None)
        m.dispute(disputed.as_tuple(), {"from": b1})

    def govern(self) -> None:
        """A passed proposal changing four versioned parameters (four new versions), the arbiter, a governor setting and the
        timelock delay; and a proposal cancelled while pending."""
        s, g = self.s, self.s.governor
        for v in self.voters:
            s.token.delegate(v, {"from": v})
        chain.sleep(1)
        calls = [
            (s.params, s.params.setProtocolFeeBps.encode_input(200)),
            (s.params, s.params.setChallengeWindowSeconds.encode_input(45)),
            (s.params, s.params.setArbitrationWindowSeconds.encode_input(90)),
            (s.params, s.params.setMinJobCollateral.encode_input(2 * TOKEN)),
            (s.params, s.params.setArbiter.encode_input(self.keeper)),
            (g, g.setVotingPeriod.encode_input(400)),
            (s.timelock, s.timelock.updateDelay.encode_input(90)),
        ]
        description = f"Retune the market {chain[-1].timestamp}"
        args = ([c[0] for c in calls], [0] * len(calls), [c[1] for c in calls])
        proposal = g.propose(*args, description, {"from": self.voters[0]}).return_value
        chain.sleep(g.votingDelay() + 1)
        chain.mine()
        g.castVote(proposal, 1, {"from": self.voters[0]})
        g.castVoteWithReason(proposal, 1, "cheaper for buyers", {"from": self.voters[1]})
        g.castVote(proposal, 0, {"from": self.voters[2]})
        chain.sleep(g.votingPeriod() + 1)
        chain.mine()
        g.queue(*args, keccak(text=description), {"from": self.keeper})
        chain.sleep(DEVNET.governance.timelock_delay_seconds + 1)
        g.execute(*args, keccak(text=description), {"from": self.keeper})
        dropped = g.propose([s.params], [0], [s.params.setMatchmakerFeeBps.encode_input(10)], "withdrawn idea",
                            {"from": self.voters[0]}).return_value
        g.cancel([s.params], [0], [s.params.setMatchmakerFeeBps.encode_input(10)], keccak(text="withdrawn idea"),
                 {"from": self.voters[0]})
        assert g.state(dropped) == 2

    def rpc_url(self) -> str:
        return web3.provider.endpoint_uri
