"""Gas per market operation, measured on anvil. Prints a Markdown table.

    .venv/bin/python bench/gas.py            (the README's `./dev bench-gas` runs this)

Every figure is the gas used by a real transaction on a fresh local chain. "steady" is
the second time the same accounts do the operation, when their balances and the market's
already exist (the usual case); "first" is the very first time, when storage slots go
from zero to non-zero (22,100 gas each).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from brownie import _config, network, project  # noqa: E402

from agora.chain.addresses import create_address  # noqa: E402
from agora.chain.protocol import PUBLIC, TOKEN  # noqa: E402
from agora.chain.terms import HourlyPrices, JobTerms, Resources, label  # noqa: E402

CAPACITY = Resources(256_000, 1_048_576, 10_000, 8, label("A100"), label("eu-west"))
PRICES = HourlyPrices(10**8, 10**7, 2 * 10**9, 10**6)
JOB = Resources(2_000, 4_096, 10)
TARGET_LIFECYCLE = 300_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bench:
    def __init__(self, contracts, accounts, chain):
        self.c = contracts
        self.accounts = accounts
        self.chain = chain
        self.rows: dict[str, dict[str, int]] = {}
        self.salt = 0
        gov, self.arbiter, self.buyer, self.provider, self.provider2, self.matchmaker, self.keeper = accounts[1:8]
        deployer = accounts[0]
        self.token = contracts.AgoraToken.deploy(deployer, 10**9 * TOKEN, {"from": deployer})
        self.params = contracts.ProtocolParams.deploy(
            gov, PUBLIC.mins.as_tuple(), PUBLIC.maxs.as_tuple(), PUBLIC.initial.as_tuple(), self.arbiter,
            {"from": deployer},
        )
        market_address = create_address(deployer.address, deployer.nonce + 1)
        self.registry = contracts.ProviderRegistry.deploy(self.token, self.params, market_address, {"from": deployer})
        self.market = contracts.JobMarket.deploy(self.token, self.params, self.registry, {"from": deployer})
        for who in (self.buyer, self.provider, self.provider2, self.keeper):
            self.token.transfer(who, 1_000_000 * TOKEN, {"from": deployer})
            self.token.approve(self.market, 2**256 - 1, {"from": who})
            self.token.approve(self.registry, 2**256 - 1, {"from": who})

    def record(self, name: str, tx, phase: str) -> None:
        self.rows.setdefault(name, {})[phase] = tx.gas_used

    def terms(self) -> JobTerms:
        self.salt += 1
        return JobTerms(str(self.buyer), 10 * TOKEN, b"\xab" * 32, 3600, self.chain.time() + 7 * 86_400, self.salt, JOB)

    def lifecycle(self, phase: str) -> None:
        """post, match, accept, submit, then finalize after the challenge window."""
        m, t = self.market, self.terms()
        self.record("post job", m.post(t.as_tuple(), {"from": self.buyer}), phase)
        self.record("match", m.matchJob(t.as_tuple(), self.provider, {"from": self.matchmaker}), phase)
        self.record("accept", m.accept(t.as_tuple(), {"from": self.provider}), phase)
        self.record("submit result", m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider}), phase)
        self.chain.sleep(PUBLIC.initial.challenge_window_seconds + 1)
        self.record("finalize (1 job)", m.finalize([t.as_tuple()], {"from": self.keeper}), phase)

    def confirm(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, {"from": self.matchmaker})
        m.accept(t.as_tuple(), {"from": self.provider})
        m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.record("confirm (buyer)", m.confirm(t.as_tuple(), {"from": self.buyer}), phase)

    def take(self, phase: str) -> None:
        t = self.terms()
        self.market.post(t.as_tuple(), {"from": self.buyer})
        self.record("take (provider, no matchmaker)", self.market.take(t.as_tuple(), {"from": self.provider}), phase)

    def batch(self, phase: str, size: int = 10) -> None:
        m, batch = self.market, [self.terms() for _ in range(size)]
        for t in batch:
            m.post(t.as_tuple(), {"from": self.buyer})
            m.matchJob(t.as_tuple(), self.provider, {"from": self.matchmaker})
            m.accept(t.as_tuple(), {"from": self.provider})
            m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.chain.sleep(PUBLIC.initial.challenge_window_seconds + 1)
        tx = m.finalize([t.as_tuple() for t in batch], {"from": self.keeper})
        self.record(f"finalize ({size} jobs, one call)", tx, phase)
        self.rows.setdefault(f"  per job in the batch of {size}", {})[phase] = tx.gas_used // size

    def slash(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, {"from": self.matchmaker})
        m.accept(t.as_tuple(), {"from": self.provider})
        self.chain.sleep(t.duration_seconds + 1)
        self.record("slash missed deadline", m.slashMissedDeadline(t.as_tuple(), {"from": self.keeper}), phase)

    def dispute(self, phase: str) -> None:
        m, t = self.market, self.terms()
        m.post(t.as_tuple(), {"from": self.buyer})
        m.matchJob(t.as_tuple(), self.provider, {"from": self.matchmaker})
        m.accept(t.as_tuple(), {"from": self.provider})
        m.submitResult(t.job_id, b"\x11" * 32, {"from": self.provider})
        self.record("dispute", m.dispute(t.as_tuple(), {"from": self.buyer}), phase)
        tx = m.resolveDispute(t.as_tuple(), phase == "steady", {"from": self.arbiter})
        self.record("resolve dispute", tx, phase)

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
            self.cancel(phase)
            self.record("withdraw", self.market.withdraw({"from": self.provider}), phase)
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
    os.chdir(ROOT)
    proj = project.load(ROOT, name="AgoraGasBench")
    proj.load_config()
    _config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = _free_port()
    network.connect("anvil")
    try:
        from brownie import accounts, chain

        bench = Bench(proj, accounts, chain)
        bench.run()
        print()
        print(bench.table())
    finally:
        network.disconnect()


if __name__ == "__main__":
    main()
