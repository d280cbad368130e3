"""Jobs with real data for the agent and arbiter tests: example modules compiled from
examples/jobs, their data on a real blob node, posted by a brownie buyer, matched to an
agent's wallet, and agents driven round by round (index, then act) on the live market."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from brownie import chain

from agora.blobs import BlobServer
from agora.config import BlobSettings
from agora.market.protocol import TOKEN
from agora.market.spec import DEFAULT_LIMITS, JobSpec, Limits, ResultRecord, content_id
from agora.market.states import JobState
from agora.market.terms import JobTerms, Resources
from agora.sandbox import compile_wat, run_module

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "jobs"

LOOP_FOREVER = '(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 0)' \
               ' (func (export "run") (param i32 i32) (result i64) (loop br 0) i64.const 0))'


def example(name: str) -> bytes:
    return compile_wat((EXAMPLES / f"{name}.wat").read_text())


def sieve_input(limit: int) -> bytes:
    return struct.pack("<I", limit)


def blob_node(tmp_path: Path, name: str, peers: list[str] | None = None) -> BlobServer:
    settings = BlobSettings(dir=tmp_path / f"blobs-{name}", port=0, peers=",".join(peers or []))
    server = BlobServer(settings, tmp_path)
    server.start()
    return server


class Jobs:
    """Posts jobs with their data uploaded to `node`, as `buyer`, and matches them."""

    def __init__(self, live, node_url: str, client):
        self.live, self.node_url, self.client = live, node_url, client

    def post(self, module: bytes, data: bytes, limits: Limits = DEFAULT_LIMITS, duration: int = 120,
             upload: bool = True, buyer=None, **changes) -> tuple[JobTerms, JobSpec]:
        spec = JobSpec(content_id(module), content_id(data), limits)
        if upload:
            for blob in (module, data, spec.encode()):
                self.client.upload(blob, to=self.node_url)
        now = chain[-1].timestamp
        terms = JobTerms(str((buyer or self.live.buyers[0]).address), 50 * TOKEN, spec.spec_hash, duration,
                         now + 3_600, int(time.time_ns() % 2**63), Resources(1_000, 1_024, 0))
        terms = terms.with_(**changes)
        self.live.s.market.post(terms.as_tuple(), {"from": buyer or self.live.buyers[0]})
        return terms, spec

    def match(self, terms: JobTerms, provider: str) -> None:
        self.live.match(terms, provider)


def expected_record(module: bytes, data: bytes, limits: Limits = DEFAULT_LIMITS) -> ResultRecord:
    return run_module(module, data, limits).record


def fund_agent(live, address: str, tokens: int = 2_000) -> None:
    live.s.token.transfer(address, tokens * TOKEN, {"from": live.buyers[1]})


def state(live, terms: JobTerms) -> JobState:
    return JobState(live.s.market.jobOf(terms.job_id)[1])


def rounds(app, service, until, timeout: float = 60.0, what: str = "the condition"):
    """Index then one round of `service`, until `until()` holds."""
    deadline = time.monotonic() + timeout
    reports = []
    while time.monotonic() < deadline:
        app.indexer().run(until_block=chain.height)
        reports.append(service.run_once())
        if until():
            return reports
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last reports: {[r.line() for r in reports[-3:]]}")


def submitted_hash(contracts, terms: JobTerms) -> str:
    """The last result hash submitted for the job, 0x-hex ("" if none)."""
    logs = contracts.market.events.ResultSubmitted().get_logs(from_block=0, argument_filters={"jobId": terms.job_id})
    return "0x" + bytes(logs[-1]["args"]["resultHash"]).hex() if logs else ""


ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_key(index: int) -> str:
    """The private key of anvil's unlocked account `index` (its default mnemonic)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()
