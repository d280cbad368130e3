"""The whole market end to end, every part a process: a node, provider agents, the arbiter
and a buyer at the `agora` command. Jobs are real WebAssembly modules from examples/jobs.

- Twenty jobs posted through the CLI are matched, run, fetched and checked against a
  local run, finalized and paid, each party's credit exact to the wei.
- A provider agent killed during a job is slashed at the deadline, the buyer credited,
  and another provider runs the job to the correct result.
- A cheating agent's result fails the buyer's check, the buyer disputes, the arbiter
  re-runs and rules against it; an honest result disputed anyway is ruled for the
  provider. The blob node the buyer uploaded to is stopped before any provider fetched
  the data: the job runs from the copies on the other node.
"""

from __future__ import annotations

import random
import time

import httpx
import pytest
from brownie import web3 as brownie_web3
from fullmarket import EXAMPLES, FullMarket, free_port
from market import Clock, wait_until
from workkit import anvil_key

from agora.blobs import BlobClient, BlobStore
from agora.buyer.service import verify_result
from agora.market.states import JobState

DEVNET_LIMITS = ["--fuel", "100000000000", "--wall-seconds", "60"]


@pytest.fixture
def full(contracts, accounts, rpc_url, deployments, tmp_path):
    market = FullMarket(rpc_url, deployments, tmp_path, contracts, accounts)
    clock = Clock(contracts.web3)
    clock.start()
    yield market
    clock.stop.set()
    market.stop_all()


def job_state(contracts, job_id: str) -> JobState:
    return JobState(contracts.market.functions.jobOf(bytes.fromhex(job_id[2:])).call()[1])


def states(contracts, job_ids) -> dict[str, int]:
    out: dict[str, int] = {}
    for job in job_ids:
        name = job_state(contracts, job).name
        out[name] = out.get(name, 0) + 1
    return out


def example_input(tmp_path, name: str, n: int, rng: random.Random):
    from make_input import hashchain_input, random_matmul_input, sieve_input

    data = {"sieve": lambda: sieve_input(n), "hashchain": lambda: hashchain_input(n, rng.randbytes(8)),
            "matmul": lambda: random_matmul_input(n, rng.randint(0, 10**6))}[name]()
    path = tmp_path / f"{name}-{n}-{rng.randint(0, 10**9)}.in"
    path.write_bytes(data)
    return path


def post(full: FullMarket, env, tmp_path, name: str, n: int, rng, *extra: str) -> str:
    path = example_input(tmp_path, name, n, rng)
    posted = full.cli_json(["job", "post", str(EXAMPLES / f"{name}.wat"), str(path), *DEVNET_LIMITS, *extra], env)
    return posted["job_id"]


def logs(contracts, event: str, **filters):
    return getattr(contracts.market.events, event)().get_logs(from_block=0, argument_filters=filters or None)


@pytest.fixture(autouse=True)
def _examples_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def test_TwentyJobsPostedThroughTheCliAreMatchedRunVerifiedAndPaidToTheWei(full, contracts, tmp_path):
    full.start_node([])
    for n, region in enumerate(["eu-west", "us-east", ""]):
        full.start_agent(f"provider{n}", [full.node_url], AGORA_AGENT_REGION=region,
                         AGORA_AGENT_PRICE_CPU_CORE_GWEI=str((n + 1) * 10**8))
    env = full.buyer_env([full.node_url])
    wait_until(lambda: all(contracts.registry.functions.providerOf(full.addresses[f"provider{n}"]).call()[0] == 1
                           for n in range(3)), 90, "three providers listed", on_timeout=full.tails)
    rng = random.Random(20)
    kinds = [("sieve", 200_000), ("hashchain", 5_000), ("matmul", 6)]
    started = time.monotonic()
    jobs = [post(full, env, tmp_path, *kinds[i % 3], rng, "--duration", "2m") for i in range(20)]
    print(f"20 jobs posted through `agora job post` in {time.monotonic() - started:.1f} s")
    wait_until(lambda: states(contracts, jobs).get("COMPLETED") == 20, 300, "all 20 jobs completed", every=1,
               on_timeout=lambda: f"{states(contracts, jobs)}\n{full.tails()}")
    print(f"all 20 completed {time.monotonic() - started:.1f} s after the first post")
    started = time.monotonic()
    for job in jobs[:3]:  # one of each kind through the command a person types...
        checked = full.cli_json(["job", "result", job, "--verify"], env)
        assert checked["verification"]["matches"] is True, checked
        assert checked["status"] == "ok"
    print(f"3 results fetched and verified by `agora job result --verify` in {time.monotonic() - started:.1f} s")
    # ...and every one through the service that command runs (a process per job costs seconds here).
    blobs = BlobClient(BlobStore(tmp_path / "verifier", 2**24), [full.node_url], 10)
    for job in jobs:
        check = verify_result(contracts=contracts, blobs=blobs, job_id=bytes.fromhex(job[2:]))
        assert check.matches and check.local_status == "ok", job
    blobs.close()
    # Every escrow is paid out exactly, and each party's credit is the sum of its shares.
    completed = {"0x" + bytes(e["args"]["jobId"]).hex(): e["args"] for e in logs(contracts, "JobCompleted")}
    posted = {"0x" + bytes(e["args"]["jobId"]).hex(): e["args"]["terms"] for e in logs(contracts, "JobPosted")}
    assert set(jobs) <= set(completed)
    credit: dict[str, int] = {}
    for job in jobs:
        paid = completed[job]
        assert paid["providerPayout"] + paid["protocolFee"] + paid["matchmakerFee"] + paid["buyerRefund"] == \
            posted[job]["maxPrice"]
        credit[paid["provider"]] = credit.get(paid["provider"], 0) + paid["providerPayout"]
        credit[full.addresses["buyer"]] = credit.get(full.addresses["buyer"], 0) + paid["buyerRefund"]
        credit[full.addresses["node"]] = credit.get(full.addresses["node"], 0) + paid["matchmakerFee"]
    for account, amount in credit.items():
        assert contracts.market.functions.creditOf(account).call() == amount, account


def test_AProviderKilledDuringAJobIsSlashedAndAnotherRunsItToTheCorrectResult(full, contracts, tmp_path):
    full.start_node([])
    for n in range(3):
        full.start_agent(f"provider{n}", [full.node_url])
    env = full.buyer_env([full.node_url])
    wait_until(lambda: all(contracts.registry.functions.providerOf(full.addresses[f"provider{n}"]).call()[0] == 1
                           for n in range(3)), 90, "three providers listed", on_timeout=full.tails)
    # About two seconds of work: long enough to kill its provider in the middle of it.
    job = post(full, env, tmp_path, "hashchain", 5_000_000, random.Random(1), "--duration", "60s")
    raw = bytes.fromhex(job[2:])
    by_address = {full.addresses[f"provider{n}"]: f"provider{n}" for n in range(3)}
    wait_until(lambda: job_state(contracts, job) == JobState.RUNNING, 60, "the job accepted", every=0.05,
               on_timeout=full.tails)
    first = contracts.market.functions.jobOf(raw).call()[0]
    full.services[by_address[first]].kill()  # SIGKILL, mid-run
    credit_before = contracts.market.functions.creditOf(full.addresses["buyer"]).call()
    wait_until(lambda: job_state(contracts, job) == JobState.COMPLETED, 240, "the job completed by another",
               every=1, on_timeout=full.tails)
    slashes = logs(contracts, "JobSlashed", jobId=raw)
    assert [(e["args"]["provider"], e["args"]["newState"]) for e in slashes] == [(first, JobState.OPEN)]
    assert slashes[0]["args"]["buyerShare"] > 0
    second = logs(contracts, "JobCompleted", jobId=raw)[0]["args"]["provider"]
    assert second != first
    refund = logs(contracts, "JobCompleted", jobId=raw)[0]["args"]["buyerRefund"]
    assert contracts.market.functions.creditOf(full.addresses["buyer"]).call() - credit_before == \
        slashes[0]["args"]["buyerShare"] + refund
    checked = full.cli_json(["job", "result", job, "--verify"], env)
    assert checked["verification"]["matches"] is True and checked["status"] == "ok"


def test_ACheatIsFoundByTheBuyerAndRuledAgainstAndAnHonestResultDisputedIsRuledFor(full, contracts, tmp_path):
    full.second_url = f"http://127.0.0.1:{free_port()}"  # B: where the buyer uploads
    full.start_node([full.second_url])  # A: B's peer; B copies every upload to A
    second = full.start_second_blob_node([full.node_url])
    env = full.buyer_env([full.second_url])
    wait_until(lambda: _answers(full.second_url) and _answers(full.node_url), 60, "both blob nodes up",
               on_timeout=full.tails)
    rng = random.Random(7)
    job = post(full, env, tmp_path, "sieve", 300_000, rng, "--duration", "2m", "--max-price", "20", "--below-offers")
    spec = full.cli_json(["job", "status", job], env)["spec_id"].removeprefix("0x")
    wait_until(lambda: _has(full.node_url, spec), 30, "the manifest copied to the node")
    second.stop()  # the node the buyer uploaded to goes away before any provider fetched
    full.start_agent("cheat", [full.second_url, full.node_url], AGORA_AGENT_CORRUPT_RESULTS="true")
    full.start_arbiter(anvil_key(9), [full.node_url])
    assert brownie_web3.to_checksum_address(contracts.params.functions.arbiter().call()) == \
        brownie_web3.eth.accounts[9]
    reader = {**env, "AGORA_BLOBS_PEERS": f"{full.second_url},{full.node_url}"}
    wait_until(lambda: job_state(contracts, job) == JobState.SUBMITTED, 120, "the cheat's result submitted",
               on_timeout=full.tails)
    check = full.cli(["job", "result", job, "--verify"], reader, check=False)
    assert check.returncode == 3, check.stdout + check.stderr
    assert "MISMATCH" in check.stdout
    credit_before = contracts.market.functions.creditOf(full.addresses["buyer"]).call()
    full.cli(["job", "dispute", job], reader)
    wait_until(lambda: job_state(contracts, job) == JobState.SLASHED, 120, "the arbiter's ruling",
               on_timeout=full.tails)
    raw = bytes.fromhex(job[2:])
    assert [e["args"]["providerAtFault"] for e in logs(contracts, "DisputeResolved", jobId=raw)] == [True]
    slash = logs(contracts, "JobSlashed", jobId=raw)[0]["args"]
    bond = logs(contracts, "JobDisputed", jobId=raw)[0]["args"]["bond"]
    max_price = logs(contracts, "JobPosted", jobId=raw)[0]["args"]["terms"]["maxPrice"]
    assert contracts.market.functions.creditOf(full.addresses["buyer"]).call() - credit_before == \
        max_price + bond + slash["buyerShare"] + slash["reporterShare"]
    assert "ruling" in full.services["arbiter"].log.read_text()

    # An honest provider, disputed anyway: the arbiter rules for it.
    full.services.pop("cheat").stop()
    full.start_agent("honest", [full.node_url])
    env = full.buyer_env([full.node_url])
    job = post(full, env, tmp_path, "matmul", 8, rng, "--duration", "2m")
    wait_until(lambda: job_state(contracts, job) == JobState.SUBMITTED, 120, "the honest result submitted",
               on_timeout=full.tails)
    assert full.cli(["job", "result", job, "--verify"], env).returncode == 0
    full.cli(["job", "dispute", job], env)
    wait_until(lambda: job_state(contracts, job) == JobState.COMPLETED, 120, "the ruling for the provider",
               on_timeout=full.tails)
    assert [e["args"]["providerAtFault"] for e in logs(contracts, "DisputeResolved",
                                                          jobId=bytes.fromhex(job[2:]))] == [False]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _has(url: str, blob_id: str) -> bool:
    try:
        return httpx.head(f"{url}/blobs/{blob_id}", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

