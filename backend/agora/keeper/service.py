"""The keeper: sends the actions the market leaves to anyone once a window has passed.

    reclaim               a match not accepted in time (the job re-opens; reporter's share)
    slashMissedDeadline   a running job past its deadline (the job re-opens; reporter's share)
    finalize              submitted jobs past their challenge window, in batches
    expire                open jobs past their expiry (the buyer's escrow back)
    closeDispute          disputes the arbiter left past the arbitration window

Reclaim and slash pay the caller the reporter's share of the slash; the rest earn nothing.
The keeper sends an action only when what it earns (in the token, valued at
`token_price_eth`) covers its gas, except actions that settle this node's own jobs (its
wallet is the buyer or the provider), or every job when `settle` says so. Every action is
simulated before it is signed, so a job another keeper settled first costs nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_utils import keccak
from sqlalchemy.orm import Session, sessionmaker

from agora.chain.contracts import ContractRevert, MarketContracts
from agora.config import KeeperSettings
from agora.db import queries
from agora.market.terms import terms_of
from agora.sender import AlreadySent, InsufficientFunds, TooManyInFlight, TransactionSender

log = logging.getLogger("agora.keeper")

BPS = 10_000
ACTIONS = ("reclaim", "slash", "finalize", "expire", "close_dispute")


@dataclass
class KeepReport:
    block: int = 0
    due: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    unprofitable: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)  # simulated reverts: someone else acted first
    mined: Counter[str] = field(default_factory=Counter)
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped and not self.due:
            return f"keeper: {self.skipped}"

        def show(c: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"
        return (f"keeper at block {self.block}: due {show(self.due)}; sent {show(self.sent)}; "
                f"mined {show(self.mined)}; not worth the gas {show(self.unprofitable)}; lost {show(self.lost)}"
                + (f" ({self.skipped})" if self.skipped else ""))


def action_key(action: str, job_ids: list[str], attempt: int = 0) -> str:
    """One key per action on a job (or batch of jobs) at one point of its life: a round run
    twice never sends twice, and a job that comes back (re-matched, then lapsed again) has
    another key through its attempt count."""
    if len(job_ids) == 1:
        return f"{action}:{job_ids[0].lower()}:{attempt}"
    return f"{action}:{keccak(text=','.join(sorted(job_ids))).hex()}"


class Keeper:
    def __init__(self, sessions: sessionmaker[Session], contracts: MarketContracts, sender: TransactionSender,
                 settings: KeeperSettings):
        self.sessions, self.contracts, self.sender, self.settings = sessions, contracts, sender, settings

    def run_once(self) -> KeepReport:
        report = KeepReport()
        for outcome in self.sender.poll():
            action = outcome.key.split(":", 1)[0]
            if action in ACTIONS:
                report.mined[action if outcome.status == "success" else f"{action} {outcome.status}"] += 1
        head = self.contracts.web3.eth.get_block("latest")
        report.block, now = int(head["number"]), int(head["timestamp"])
        with self.sessions() as session:
            params = queries.current_params(session)
            if params is None:
                report.skipped = "no parameter version indexed yet: waiting for the indexer"
                return report
            due = {
                "reclaim": queries.due_for_reclaim(session, now=now),
                "slash": queries.due_for_slash(session, now=now),
                "finalize": queries.due_for_finalize(session, now=now),
                "expire": queries.due_for_expire(session, now=now),
                "close_dispute": queries.due_for_close_dispute(session, now=now),
            }
        market = self.contracts.market.functions
        for action, jobs in due.items():
            report.due[action] = len(jobs)
        # A slash pays the reporter `reporter_share` of `missed_deadline_slash` of the collateral.
        for action, function in (("reclaim", market.reclaim), ("slash", market.slashMissedDeadline)):
            for job in due[action]:
                reward = (job.collateral or 0) * params.missed_deadline_slash_bps // BPS * params.reporter_share_bps \
                    // BPS
                self._act(report, action, [job], lambda terms, f=function: f(terms[0]), reward,
                          job.attempts)
        for action, function in (("expire", market.expire), ("close_dispute", market.closeDispute)):
            for job in due[action]:
                self._act(report, action, [job], lambda terms, f=function: f(terms[0]), 0,
                          job.attempts)
        finalizable = [j for j in due["finalize"] if self._settles(j)]
        if len(finalizable) < len(due["finalize"]):
            report.unprofitable["finalize"] += len(due["finalize"]) - len(finalizable)
        size = self.settings.finalize_batch
        for start in range(0, len(finalizable), size):
            self._act(report, "finalize", finalizable[start:start + size], market.finalize, 0, 0)
        # A round with nothing due is the usual case: say it only when debugging.
        log.log(logging.INFO if report.sent or report.mined or report.lost else logging.DEBUG, report.line())
        return report

    def _settles(self, job: queries.DueJob) -> bool:
        """Whether this node settles `job` though it earns nothing for it."""
        policy = self.settings.settle
        if policy == "all":
            return True
        me = self.sender.address.lower()
        return policy == "own" and me in (job.buyer.lower(), (job.provider or "").lower())

    def _act(self, report: KeepReport, action: str, jobs: list[queries.DueJob], build: Callable, reward: int,
             attempt: int) -> None:
        if report.skipped:  # the wallet cannot send more this round
            return
        if reward == 0 and action != "finalize" and not self._settles(jobs[0]):
            report.unprofitable[action] += 1
            return
        call = build([terms_of(j).as_tuple() for j in jobs] if action == "finalize" else
                     [terms_of(jobs[0]).as_tuple()])
        if reward and not self._settles(jobs[0]) and not self._pays(call, reward):
            report.unprofitable[action] += 1
            return
        try:
            self.sender.send(call, key=action_key(action, [j.job_id for j in jobs], attempt))
            report.sent[action] += 1
        except AlreadySent:
            pass
        except ContractRevert as exc:
            report.lost[f"{action} {exc.name or 'revert'}"] += 1
        except (TooManyInFlight, InsufficientFunds) as exc:
            report.skipped = str(exc)

    def _pays(self, call, reward_token_wei: int) -> bool:
        """Whether `reward_token_wei` of the token, at `token_price_eth`, covers the gas of `call`."""
        web3 = self.contracts.web3
        try:
            gas = call.estimate_gas({"from": self.sender.address})
        except Exception:  # noqa: BLE001 - the sender's simulation reports the revert itself
            return True
        block = web3.eth.get_block("latest")
        # What the sender will pay per gas: the base fee and the tip it offers.
        gas_price = int(block.get("baseFeePerGas", 0)) + int(self.sender.settings.priority_fee_gwei * 10**9)
        return reward_token_wei * self.settings.token_price_eth >= gas * gas_price

