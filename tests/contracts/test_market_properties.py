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

Brownie's own `state_machine` fixture is broken in 1.22.2 (mypyc). Hypothesis's
RuleBasedStateMachine runs, but starts from its simplest (shortest) sequences; so each
example here is an explicit list of exactly 20 steps drawn by `@given`, run from a chain
snapshot, with every invariant checked after every step. A failing example shrinks to a
short list of steps. Depth comes from the forge invariant suite (tests/invariants).
"""

from __future__ import annotations

from collections import Counter

import brownie
from brownie import chain
from brownie.test import given
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st

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
    reached = Counter()  # how many jobs reached each state, across all sequences

    class Market:
        def __init__(self):
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

        def buyer_of(self, terms):
            return next(b for b in buyers if b.address == terms.buyer)

        # ---------------------------------------------------------------- rules

        def post(self, b, size, ceiling):
            self.post_job(b % 3, size % 3, [50 * TOKEN, 10**18, 10**16][ceiling % 3], [3 * 86_400, 2 * 3_600][size % 2])

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

        def advance(self, j, choice, who):
            """Takes a job one step further along its life, the step chosen by `choice`."""
            if not self.jobs:
                return self.post_job(who % 3, choice % 3, 50 * TOKEN, 3 * 86_400)
            # Mostly a live job (one with a next step); now and then any job at all.
            live = [t for t in self.jobs if self.states.get(t.job_id) in LIVE]
            pool = live if live and choice % 6 != 5 else self.jobs
            if live and choice % 3 != 2:
                # Push the furthest-along job on, so sequences reach rulings and payouts.
                furthest = max(self.states.get(t.job_id) for t in live)
                pool = [t for t in live if self.states.get(t.job_id) == furthest]
            terms = pool[j % len(pool)]
            state = self.states.get(terms.job_id, NONE)
            buyer, provider, agent = self.buyer_of(terms), providers[who % 3], agents[who % 2]
            t = terms.as_tuple()
            now = chain[-1].timestamp
            deadline = job_of(market, terms.job_id)["deadline"]
            # Mostly the step the clock allows; one time in seven any step, to hit the edges.
            # (Hypothesis favours zeros, so choice 0 always means the natural step.)
            any_step = choice % 7 == 6
            if state == OPEN:
                if now >= terms.expires_at and not any_step:
                    self.act(market.expire, t, {"from": agent})
                elif terms.max_price < 10**17 and not any_step:
                    self.act(market.cancel, t, {"from": buyer})  # priced out: the buyer gives up
                elif choice % 7 == 3:
                    self.act(market.cancel, t, {"from": buyer})
                elif choice % 7 == 2:
                    self.act(market.take, t, {"from": provider})
                else:
                    self.act(market.matchJob, t, provider, {"from": agent})
            elif state == MATCHED:
                if choice % 5 == 4 or (now > deadline and not any_step):
                    self.reclaim(terms, agent)
                else:
                    self.act(market.accept, t, {"from": self.provider_of_job(terms)})
            elif state == RUNNING:
                if choice % 5 == 4 or (now > deadline and not any_step):
                    self.slash(terms, agent)
                else:
                    self.act(market.submitResult, terms.job_id, b"\x42" * 32, {"from": self.provider_of_job(terms)})
            elif state == SUBMITTED:
                if now > deadline and not any_step:
                    self.finalize_all(agent)
                else:
                    [
                        lambda: self.act(market.confirm, t, {"from": buyer}),
                        lambda: self.act(market.dispute, t, {"from": buyer}),
                        lambda: self.act(market.dispute, t, {"from": buyer}),
                        lambda: self.finalize_all(agent),
                    ][choice % 4]()
            elif state == DISPUTED:
                self.resolve(terms, choice % 2 == 0)
            else:
                self.post_job(who % 3, choice % 3, [50 * TOKEN, 50 * TOKEN, 10**16][choice % 3], 3 * 86_400)

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

        def anything_on_any_job(self, j, a, _c):
            action = ["cancel", "expire", "matchJob", "take", "accept", "reclaim", "confirm", "slashMissedDeadline",
                      "dispute"][a % 9]
            """Any action on any job, whatever its state: refused with a named error, or valid."""
            if not self.jobs:
                return
            terms = self.jobs[j % len(self.jobs)]
            fn = getattr(market, action)
            args = (terms.as_tuple(), providers[j % 3]) if action == "matchJob" else (terms.as_tuple(),)
            sender = {"cancel": self.buyer_of(terms), "confirm": self.buyer_of(terms), "dispute": self.buyer_of(terms),
                      "take": providers[j % 3], "accept": providers[j % 3]}.get(action, agents[0])
            self.act(fn, *args, {"from": sender})

        def withdraw(self, w, _b, _c):
            w %= len(everyone)
            credited = [who for who in everyone if market.creditOf(who) > 0]
            who = credited[w % len(credited)] if credited and w % 4 else everyone[w]
            credit, balance = market.creditOf(who), token.balanceOf(who)
            tx = self.act(market.withdraw, {"from": who})
            assert (tx is not None) == (credit > 0)
            assert token.balanceOf(who) == balance + credit * (tx is not None)

        def add_stake(self, p, a, _c):
            p, amount = p % 3, [1, 100 * TOKEN][a % 2]
            self.act(registry.addStake, amount, {"from": providers[p]})

        def request_unbonding(self, p, a, _c):
            p, amount = p % 3, [1 * TOKEN, 400 * TOKEN, 4_000 * TOKEN][a % 3]
            self.act(registry.requestUnbonding, amount, {"from": providers[p]})

        def withdraw_unbonded(self, p, _b, _c):
            who = providers[p % 3]
            view = provider_of(registry, who)
            balance = token.balanceOf(who)
            tx, error = self.attempt(registry.withdrawUnbonded, {"from": who})
            if tx is not None:
                assert tx.timestamp >= view["unbondingUnlocksAt"]
                assert token.balanceOf(who) == balance + view["unbonding"]
            else:
                assert token.balanceOf(who) == balance
                assert error == ("UnbondingNotElapsed" if view["unbonding"] > 0 else "NothingToWithdraw")

        def pause_or_resume(self, p, on, _c):
            self.act(registry.pause if on % 2 else registry.resume, {"from": providers[p % 3]})

        def time_passes(self, a, _b, _c):
            chain.sleep(TIME_JUMPS[a % len(TIME_JUMPS)])
            chain.mine()

        # ---------------------------------------------------------------- invariants

        def job_states_move_along_the_machine(self):
            for terms in self.jobs:
                new = job_of(market, terms.job_id)["state"]
                old = self.states.get(terms.job_id, NONE)
                assert new == old or new in ALLOWED.get(old, set()), f"{old} -> {new}"
                self.states[terms.job_id] = new
                if new != old:
                    reached[new] += 1

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

        def check(self):
            self.job_states_move_along_the_machine()
            self.tokens_are_conserved()
            self.providers_carry_exactly_their_live_matches()

    # `advance` carries a live job one step along its life; listed eight times so that
    # about half the steps do, and 20-step sequences reach disputes and their rulings.
    actions = ["advance"] * 8 + [
        "post", "anything_on_any_job", "withdraw", "add_stake", "request_unbonding", "withdraw_unbonded",
        "pause_or_resume", "time_passes", "time_passes",
    ]
    step = st.tuples(st.sampled_from(actions), st.integers(0, 99), st.integers(0, 59), st.integers(0, 5))

    @settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(step, min_size=20, max_size=20))
    def sequence(steps):
        market_model = Market()
        for action, a, b, c in steps:
            note(f"{action}({a}, {b}, {c})")
            getattr(market_model, action)(a, b, c)
            market_model.check()

    sequence()
    # The sequences must have driven jobs through the whole machine, or they prove little.
    print(f"job states reached over all sequences: {dict(sorted(reached.items()))}")
    assert set(reached) >= {OPEN, MATCHED, RUNNING, SUBMITTED, DISPUTED, COMPLETED, REFUNDED, SLASHED}, reached
