"""Gas per market operation, measured on anvil. Prints a Markdown table.

    ./dev bench-gas                 print the table
    ./dev bench-gas --snapshot      also write it to bench/gas-snapshot.md (committed)

Every figure is the gas used by a real transaction on a fresh local chain. "steady" is
the second time the same accounts do the operation, when their balances and the market's
already exist (the usual case); "first" is the very first time, when storage slots go
from zero to non-zero (22,100 gas each).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from brownie import _config, network, project  # noqa: E402
from deploy import deploy  # noqa: E402
from eth_utils import keccak  # noqa: E402

from agora.market.protocol import PROFILES, PUBLIC, TOKEN  # noqa: E402
from agora.market.terms import HourlyPrices, JobTerms, Resources, label  # noqa: E402

CAPACITY = Resources(256_000, 1_048_576, 10_000, 8, label("A100"), label("eu-west"))
PRICES = HourlyPrices(10**8, 10**7, 2 * 10**9, 10**6)
JOB = Resources(2_000, 4_096, 10)
TARGET_LIFECYCLE = 300_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bench:
    def __init__(self, contracts, accounts, chain, directory):
        self.c = contracts
        self.accounts = accounts
        self.chain = chain
        self.rows: dict[str, dict[str, int]] = {}
        self.salt = 0
        deployer = accounts[0]
        self.arbiter, self.buyer, self.provider, self.provider2, self.matchmaker, self.keeper = accounts[2:8]
        self.voters = accounts[8:11]
        holders = [self.buyer, self.provider, self.provider2, self.keeper]
        distribution = {str(a.address): 1_000_000 * TOKEN for a in holders}
        distribution.update({str(v.address): 30_000_000 * TOKEN for v in self.voters})
        # The mainnet profile: DESIGN.md's parameters and bounds, 1 day / 1 week / 2 days governance.
        record = deploy(contracts, deployer, profile=PROFILES["mainnet"], distribution=distribution,
                        arbiter=str(self.arbiter.address), directory=directory, quiet=True)
        at = {name: c["address"] for name, c in record["contracts"].items()}
        self.token = contracts.AgoraToken.at(at["AgoraToken"])
        self.params = contracts.ProtocolParams.at(at["ProtocolParams"])
        self.registry = contracts.ProviderRegistry.at(at["ProviderRegistry"])
        self.market = contracts.JobMarket.at(at["JobMarket"])
        self.governor = contracts.AgoraGovernor.at(at["AgoraGovernor"])
        for who in holders:
            self.token.approve(self.market, 2**256 - 1, {"from": who})
            self.token.approve(self.registry, 2**256 - 1, {"from": who})

    def governance(self, phase: str) -> None:
        """propose, castVote, queue and execute of a one-parameter change."""
        g = self.governor
        for v in self.voters:
            self.token.delegate(v, {"from": v})
        # Votes are counted at clock - 1: let a second pass after delegating.
        self.chain.sleep(1)
        self.chain.mine()
        self.salt += 1
        calldata = self.params.setProtocolFeeBps.encode_input(100 + self.salt % 50)
        description = f"Set the protocol fee ({self.salt})"
        tx = g.propose([self.params], [0], [calldata], description, {"from": self.voters[0]})
        self.record("governance: propose", tx, phase)
        proposal = tx.return_value
        self.chain.sleep(g.votingDelay() + 1)
        self.chain.mine()
        for i, v in enumerate(self.voters):
            tx = g.castVote(proposal, 1, {"from": v})
            if i == 1:
                self.record("governance: castVote", tx, phase)
        self.chain.sleep(g.votingPeriod() + 1)
        self.chain.mine()
        args = ([self.params], [0], [calldata], keccak(text=description))
        self.record("governance: queue", g.queue(*args, {"from": self.keeper}), phase)
        self.chain.sleep(PROFILES["mainnet"].governance.timelock_delay_seconds + 1)
        self.record("governance: execute", g.execute(*args, {"from": self.keeper}), phase)

    def record(self, name: str, tx, phase: str) -> None:
        self.rows.setdefault(name, {})[phase] = tx.gas_used

    def price(self, t: JobTerms) -> int:
        """The provider's quote for `t`: what a match or take says it expects to pay."""
        return self.registry.quote(self.provider, t.resources.as_tuple(), t.duration_seconds)

    def terms(self) -> JobTerms:
        self.salt += 1
        return JobTerms(str(self.buyer), 10 * TOKEN, b"\xab" * 32, 3600, self.chain.time() + 7 * 86_400, self.salt, JOB)

    def lifecycle(self, phase: str) -> None:
        """post, match, accept, submit, then finalize after the challenge window."""
        m, t = self.market, self.terms()
        self.record("post job", m.post(t.as_tuple(), {"from": self.buyer}), phase)
        self.record("match", m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker}), phase)
        self.record("accept", m.accept(t.job_id, {"from": self.provider}), phase)
        self.record("submit result", m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider}), phase)
        self.chain.sleep(PUBLIC.initial.challenge_window_seconds + 1)
        self.record("finalize (1 job)", m.finalize([t.as_tuple()], {"from": self.keeper}), phase)

    def confirm(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        m.accept(t.job_id, {"from": self.provider})
        m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.record("confirm (buyer)", m.confirm(t.as_tuple(), {"from": self.buyer}), phase)

    def take(self, phase: str) -> None:
        t = self.terms()
        self.market.post(t.as_tuple(), {"from": self.buyer})
        self.record("take (provider, no matchmaker)", self.market.take(t.as_tuple(), self.price(t), {"from": self.provider}), phase)

    def batch(self, phase: str, size: int = 10) -> None:
        m, batch = self.market, [self.terms() for _ in range(size)]
        for t in batch:
            m.post(t.as_tuple(), {"from": self.buyer})
            m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
            m.accept(t.job_id, {"from": self.provider})
            m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.chain.sleep(PUBLIC.initial.challenge_window_seconds + 1)
        tx = m.finalize([t.as_tuple() for t in batch], {"from": self.keeper})
        self.record(f"finalize ({size} jobs, one call)", tx, phase)
        self.rows.setdefault(f"  per job in the batch of {size}", {})[phase] = tx.gas_used // size

    def slash(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        m.accept(t.job_id, {"from": self.provider})
        self.chain.sleep(t.duration_seconds + 1)
        self.record("slash missed deadline", m.slashMissedDeadline(t.as_tuple(), {"from": self.keeper}), phase)

    def dispute(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        m.accept(t.job_id, {"from": self.provider})
        m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.record("dispute", m.dispute(t.as_tuple(), {"from": self.buyer}), phase)
        tx = m.resolveDispute(t.as_tuple(), phase == "steady", {"from": self.arbiter})
        self.record("resolve dispute", tx, phase)

    def lapse(self, phase: str) -> None:
        """A match declined at once, and one left to lapse and reclaimed by a keeper."""
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        self.record("decline (slashed, job re-opened)", m.decline(t.as_tuple(), {"from": self.provider}), phase)
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        self.chain.sleep(PUBLIC.initial.accept_window_seconds + 1)
        self.record("reclaim lapsed match (slashed)", m.reclaim(t.as_tuple(), {"from": self.keeper}), phase)

    def silent_arbiter(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, self.price(t), {"from": self.matchmaker})
        m.accept(t.job_id, {"from": self.provider})
        m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        m.dispute(t.as_tuple(), {"from": self.buyer})
        self.chain.sleep(PUBLIC.initial.arbitration_window_seconds + 1)
        self.record("close unanswered dispute", m.closeDispute(t.as_tuple(), {"from": self.keeper}), phase)

    def cancel(self, phase: str) -> None:
        t = self.terms()
        self.market.post(t.as_tuple(), {"from": self.buyer})
        self.record("cancel", self.market.cancel(t.as_tuple(), {"from": self.buyer}), phase)

    def run(self) -> None:
        for phase in ("first", "steady"):
            provider = self.provider if phase == "first" else self.provider2
            if phase == "first":
                tx = self.registry.register(
                    CAPACITY.as_tuple(), PRICES.as_tuple(), "https://p.example", 5_000 * TOKEN, {"from": provider}
                )
            else:
                tx = self.registry.register(
                    CAPACITY.as_tuple(), PRICES.as_tuple(), "https://q.example", 5_000 * TOKEN, {"from": provider}
                )
            self.record("register + stake", tx, phase)
            self.record("add stake", self.registry.addStake(1_000 * TOKEN, {"from": provider}), phase)
            self.lifecycle(phase)
            self.confirm(phase)
            self.take(phase)
            self.batch(phase)
            self.slash(phase)
            self.dispute(phase)
            self.lapse(phase)
            self.silent_arbiter(phase)
            self.cancel(phase)
            self.record("withdraw", self.market.withdraw({"from": self.provider}), phase)
            self.governance(phase)
            # Re-credit the provider so the steady withdraw starts from a non-zero balance too.
            self.lifecycle("warm")

    def table(self) -> str:
        lines = ["| operation | gas (steady) | gas (first time) |", "|---|---:|---:|"]
        for name, phases in self.rows.items():
            if "steady" in phases:
                lines.append(f"| {name} | {phases['steady']:,} | {phases.get('first', 0):,} |")
        lifecycle = sum(self.rows[n]["steady"] for n in ("post job", "match", "accept", "submit result", "finalize (1 job)"))
        lines.append(f"| **post + match + accept + submit + finalize** | **{lifecycle:,}** | |")
        verdict = "within" if lifecycle <= TARGET_LIFECYCLE else "ABOVE"
        lines.append("")
        lines.append(f"Job lifecycle: {lifecycle:,} gas, {verdict} the {TARGET_LIFECYCLE:,} target "
                     "(iExec: 730,000 to 1,490,000 for one task).")
        return "\n".join(lines)


def main() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.chdir(ROOT)
    proj = project.load(ROOT, name="AgoraGasBench")
    proj.load_config()
    _config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = _free_port()
    network.connect("anvil")
    try:
        from brownie import accounts, chain

        with tempfile.TemporaryDirectory() as directory:
            bench = Bench(proj, accounts, chain, Path(directory))
            bench.run()
        table = bench.table()
        print()
        print(table)
        if "--snapshot" in sys.argv:
            (ROOT / "bench" / "gas-snapshot.md").write_text(
                "# Gas per operation (bench/gas.py, anvil, solc 0.8.28 via-IR, 10,000 optimizer runs)\n\n" + table + "\n"
            )
    finally:
        network.disconnect()


if __name__ == "__main__":
    main()
