"""Stateful property test: random sequences of every user action and time jumps.

After every step the chain must satisfy, exactly:
  * conservation: the market holds the escrow of every live job, the bond of every
    disputed job and every credited balance; the registry holds every stake and every
    unbonding amount (together: the marketplace's whole token balance);
  * each provider's locked collateral and capacity in use are exactly those of its live
    matches, and locked collateral never exceeds its stake;
  * every job's state moved only along the state machine of DESIGN.md;
  * nothing is withdrawn before its time: unbonded stake only after its period, and a
    market withdrawal pays exactly the credited balance;
  * a slash never exceeds its rate times the job's collateral, which is part of the
    provider's slashable (locked) stake.

Brownie's own `state_machine` fixture is broken in 1.22.2 (mypyc), so this drives
Hypothesis's RuleBasedStateMachine directly, reverting the chain to a snapshot at the
start of each sequence. Depth comes from the forge invariant suite (tests/invariants).
"""

from __future__ import annotations

import brownie
from brownie import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from agora.chain.protocol import PUBLIC, TOKEN
from agora.chain.terms import HourlyPrices, Resources, label
from marketkit import COMPLETED, DISPUTED, MATCHED, NONE, OPEN, REFUNDED, RUNNING, SLASHED, SUBMITTED, job_of, make_terms
from marketkit import provider_of

P = PUBLIC.initial
LIVE = {OPEN, MATCHED, RUNNING, SUBMITTED, DISPUTED}
ENGAGED = {MATCHED, RUNNING, SUBMITTED, DISPUTED}
ALLOWED = {
    NONE: {OPEN},
    OPEN: {MATCHED, RUNNING, REFUNDED},
    MATCHED: {RUNNING, OPEN, REFUNDED},
    RUNNING: {SUBMITTED, OPEN, REFUNDED},
    SUBMITTED: {COMPLETED, DISPUTED},
    DISPUTED: {COMPLETED, SLASHED},
}
SIZES = [Resources(1_000, 2_048, 5), Resources(4_000, 8_192, 50), Resources(2_000, 4_096, 0, 1, label(""), label(""))]
PRICE_LIST = [
    HourlyPrices(10**8, 10**7, 2 * 10**9, 10**6),
    HourlyPrices(3 * 10**8, 2 * 10**7, 10**9, 0),
    HourlyPrices(5 * 10**7, 5 * 10**6, 4 * 10**9, 10**6),
]
STAKES = [1_050 * TOKEN, 1_500 * TOKEN, 5_000 * TOKEN]
TIME_JUMPS = [1, P.accept_window_seconds + 1, 3_601, P.challenge_window_seconds + 1, P.unbonding_period_seconds]


def test_MarketInvariantsHoldOverRandomActionSequences(
    market, registry, token, params, accounts, governance, arbiter, deployer
):
    buyers = list(accounts[10:13])
    providers = list(accounts[13:16])
    agents = list(accounts[16:18])  # matchmakers, keepers, reporters
    everyone = buyers + providers + agents + [governance, arbiter]
    known_errors = {item["name"] for c in (market, registry, token) for item in c.abi if item["type"] == "error"}

    for who in buyers + providers:
        token.transfer(who, 50_000 * TOKEN, {"from": deployer})
        token.approve(market, 2**256 - 1, {"from": who})
        token.approve(registry, 2**256 - 1, {"from": who})
    capacity = Resources(8_000, 16_384, 100, 1, label("A100"), label("eu-west"))
    for who, prices, stake in zip(providers, PRICE_LIST, STAKES):
        registry.register(capacity.as_tuple(), prices.as_tuple(), "https://p", stake, {"from": who})
    chain.snapshot()
    reached = set()  # every job state seen across all sequences

    class Market(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            chain.revert()
            self.jobs = []  # terms of every job posted in this sequence
            self.states = {}
            self.salt = 0

        # ---------------------------------------------------------------- helpers

        def act(self, fn, *args):
            """Sends a transaction; a refusal must be one of the contracts' own errors."""
            tx, _error = self.attempt(fn, *args)
            return tx

        def attempt(self, fn, *args):
            """(transaction, None) or (None, the custom error's name)."""
            try:
                return fn(*args), None
            except brownie.exceptions.VirtualMachineError as failure:
                name = (failure.revert_msg or "").split(":")[0]
                assert name in known_errors, f"unexpected revert: {failure.revert_msg!r}"
                return None, name

        def job(self, index, *states):
            """A job in one of `states` (any job if none given, or none is in them)."""
            eligible = [t for t in self.jobs if self.states.get(t.job_id) in states] if states else []
            pool = eligible or self.jobs
            return pool[index % len(pool)] if pool else None

        def buyer_of(self, terms):
            return next(b for b in buyers if b.address == terms.buyer)

        # ---------------------------------------------------------------- rules

        @initialize()
        def start(self):
            """Every sequence starts from the registered providers and no job."""

        @rule(b=st.integers(0, 2), size=st.integers(0, 2), ceiling=st.sampled_from([10**16, 10**18, 50 * TOKEN]),
              expiry=st.sampled_from([2 * 3_600, 3 * 86_400]))
        def post(self, b, size, ceiling, expiry):
            self.post_job(b, size, ceiling, expiry)

        def post_job(self, b, size, ceiling, expiry):
            self.salt += 1
            now = chain[-1].timestamp
            terms = make_terms(buyers[b], now, self.salt, resources=SIZES[size], max_price=ceiling,
                               expires_at=now + expiry)
            if self.act(market.post, terms.as_tuple(), {"from": buyers[b]}) is not None:
                self.jobs.append(terms)

        def provider_of_job(self, terms):
            provider = job_of(market, terms.job_id)["provider"]
            return next((p for p in providers if p.address == provider), providers[0])

        def advance_job(self, j, choice, who):
            """Takes a job one step further along its life, the step chosen by `choice`."""
            if not self.jobs:
                return self.post_job(who % 3, choice % 3, 10**18, 3 * 86_400)
            # Mostly a live job (one with a next step); now and then any job at all.
            live = [t for t in self.jobs if self.states.get(t.job_id) in LIVE]
            pool = live if live and choice % 6 else self.jobs
            terms = pool[j % len(pool)]
            state = self.states.get(terms.job_id, NONE)
            buyer, provider, agent = self.buyer_of(terms), providers[who % 3], agents[who % 2]
            t = terms.as_tuple()
            if state == OPEN:
                [
                    lambda: self.act(market.matchJob, t, provider, {"from": agent}),
                    lambda: self.act(market.matchJob, t, provider, {"from": agent}),
                    lambda: self.act(market.take, t, {"from": provider}),
                    lambda: self.act(market.cancel, t, {"from": buyer}),
                    lambda: self.act(market.expire, t, {"from": agent}),
                ][choice % 5]()
            elif state == MATCHED:
                [
                    lambda: self.act(market.accept, t, {"from": self.provider_of_job(terms)}),
                    lambda: self.act(market.accept, t, {"from": self.provider_of_job(terms)}),
                    lambda: self.reclaim(terms, agent),
                ][choice % 3]()
            elif state == RUNNING:
                [
                    lambda: self.act(market.submitResult, terms.job_id, b"\x42" * 32, {"from": self.provider_of_job(terms)}),
                    lambda: self.act(market.submitResult, terms.job_id, b"\x42" * 32, {"from": self.provider_of_job(terms)}),
                    lambda: self.slash(terms, agent),
                ][choice % 3]()
            elif state == SUBMITTED:
                [
                    lambda: self.act(market.confirm, t, {"from": buyer}),
                    lambda: self.finalize_all(agent),
                    lambda: self.act(market.dispute, t, {"from": buyer}),
                ][choice % 3]()
            elif state == DISPUTED:
                self.resolve(terms, choice % 2 == 0)
            else:
                self.post_job(who % 3, choice % 3, [10**16, 10**18, 50 * TOKEN][choice % 3], 3 * 86_400)

        @rule(j=st.integers(0, 99), choice=st.integers(0, 59), who=st.integers(0, 5))
        def advance(self, j, choice, who):
            self.advance_job(j, choice, who)

        @rule(j=st.integers(0, 99), choice=st.integers(0, 59), who=st.integers(0, 5))
        def advance_another(self, j, choice, who):
            self.advance_job(j, choice, who)

        @rule(j=st.integers(0, 99), choice=st.integers(0, 59), who=st.integers(0, 5))
        def advance_yet_another(self, j, choice, who):
            self.advance_job(j, choice, who)

        def reclaim(self, terms, agent):
            self.act(market.reclaim, terms.as_tuple(), {"from": agent})

        def finalize_all(self, agent):
            batch = [t for t in self.jobs if self.states.get(t.job_id) == SUBMITTED]
            self.act(market.finalize, [t.as_tuple() for t in batch], {"from": agent})

        def slash(self, terms, agent):
            before = job_of(market, terms.job_id)
            locked_before = provider_of(registry, self.provider_of_job(terms))["lockedCollateral"]
            tx = self.act(market.slashMissedDeadline, terms.as_tuple(), {"from": agent})
            if tx is not None:
                amount = tx.events["JobSlashed"]["amount"]
                collateral = before["price"] * before["collateralRatioBps"] // 10_000
                assert amount <= collateral * params.missedDeadlineSlashBps() // 10_000
                assert amount <= locked_before

        def resolve(self, terms, fault):
            before = job_of(market, terms.job_id)
            locked_before = provider_of(registry, self.provider_of_job(terms))["lockedCollateral"]
            tx = self.act(market.resolveDispute, terms.as_tuple(), fault, {"from": arbiter})
            if tx is not None and fault:
                amount = tx.events["JobSlashed"]["amount"]
                collateral = before["price"] * before["collateralRatioBps"] // 10_000
                assert amount <= collateral * params.faultSlashBps() // 10_000
                assert amount <= locked_before

        @rule(j=st.integers(0, 99), action=st.sampled_from(["cancel", "expire", "matchJob", "take", "accept", "reclaim",
                                                             "confirm", "slashMissedDeadline", "dispute"]))
        def anything_on_any_job(self, j, action):
            """Any action on any job, whatever its state: refused with a named error, or valid."""
            if not self.jobs:
                return
            terms = self.jobs[j % len(self.jobs)]
            fn = getattr(market, action)
            args = (terms.as_tuple(), providers[j % 3]) if action == "matchJob" else (terms.as_tuple(),)
            sender = {"cancel": self.buyer_of(terms), "confirm": self.buyer_of(terms), "dispute": self.buyer_of(terms),
                      "take": providers[j % 3], "accept": providers[j % 3]}.get(action, agents[0])
            self.act(fn, *args, {"from": sender})

        @rule(w=st.integers(0, len(everyone) - 1))
        def withdraw(self, w):
            credited = [who for who in everyone if market.creditOf(who) > 0]
            who = credited[w % len(credited)] if credited and w % 4 else everyone[w]
            credit, balance = market.creditOf(who), token.balanceOf(who)
            tx = self.act(market.withdraw, {"from": who})
            assert (tx is not None) == (credit > 0)
            assert token.balanceOf(who) == balance + credit * (tx is not None)

        @rule(p=st.integers(0, 2), amount=st.sampled_from([1, 100 * TOKEN]))
        def add_stake(self, p, amount):
            self.act(registry.addStake, amount, {"from": providers[p]})

        @rule(p=st.integers(0, 2), amount=st.sampled_from([1 * TOKEN, 400 * TOKEN, 4_000 * TOKEN]))
        def request_unbonding(self, p, amount):
            self.act(registry.requestUnbonding, amount, {"from": providers[p]})

        @rule(p=st.integers(0, 2))
        def withdraw_unbonded(self, p):
            who = providers[p]
            view = provider_of(registry, who)
            balance = token.balanceOf(who)
            tx, error = self.attempt(registry.withdrawUnbonded, {"from": who})
            if tx is not None:
                assert tx.timestamp >= view["unbondingUnlocksAt"]
                assert token.balanceOf(who) == balance + view["unbonding"]
            else:
                assert token.balanceOf(who) == balance
                assert error == ("UnbondingNotElapsed" if view["unbonding"] > 0 else "NothingToWithdraw")

        @rule(p=st.integers(0, 2), on=st.booleans())
        def pause_or_resume(self, p, on):
            self.act(registry.pause if on else registry.resume, {"from": providers[p]})

        @rule(seconds=st.sampled_from(TIME_JUMPS))
        def time_passes(self, seconds):
            chain.sleep(seconds)
            chain.mine()

        # ---------------------------------------------------------------- invariants

        @invariant()
        def job_states_move_along_the_machine(self):
            for terms in self.jobs:
                new = job_of(market, terms.job_id)["state"]
                old = self.states.get(terms.job_id, NONE)
                assert new == old or new in ALLOWED.get(old, set()), f"{old} -> {new}"
                self.states[terms.job_id] = new
                reached.add(new)

        @invariant()
        def tokens_are_conserved(self):
            escrow = bonds = 0
            for terms in self.jobs:
                state = job_of(market, terms.job_id)["state"]
                if state in LIVE:
                    escrow += terms.max_price
                if state == DISPUTED:
                    bonds += market.disputeBondOf(terms.job_id)
            credits = sum(market.creditOf(who) for who in everyone)
            assert token.balanceOf(market) == escrow + bonds + credits
            views = [provider_of(registry, p) for p in providers]
            assert token.balanceOf(registry) == sum(v["stake"] + v["unbonding"] for v in views)

        @invariant()
        def providers_carry_exactly_their_live_matches(self):
            for provider in providers:
                view = provider_of(registry, provider)
                locked = 0
                used = [0, 0, 0, 0]
                for terms in self.jobs:
                    job = job_of(market, terms.job_id)
                    if job["state"] in ENGAGED and job["provider"] == provider.address:
                        locked += job["price"] * job["collateralRatioBps"] // 10_000
                        r = terms.resources
                        for i, amount in enumerate((r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpu_count)):
                            used[i] += amount
                assert view["lockedCollateral"] == locked
                assert list(view["used"][:4]) == used
                assert view["lockedCollateral"] <= view["stake"]

    run_state_machine_as_test(
        Market,
        settings=settings(
            max_examples=50,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    # The sequences must have driven jobs through the whole machine, or they prove little.
    assert reached >= {OPEN, MATCHED, RUNNING, SUBMITTED, DISPUTED, COMPLETED, REFUNDED, SLASHED}, reached
