"""`agora job` through Typer's test runner, on a deployed market with a real blob node:
what a person reads, what a script parses, and the exit codes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "buyer"))

import buyerkit  # noqa: E402
from buyerkit import DURATION, JOB, SIEVE_INPUT, SIEVE_WAT  # noqa: E402

from agora.buyer import service  # noqa: E402
from agora.buyer.service import BadJobId  # noqa: E402
from agora.cli.job import app, parse_duration, parse_tokens  # noqa: E402
from agora.config import get_settings  # noqa: E402
from agora.market.protocol import PROFILES, TOKEN  # noqa: E402
from agora.market.spec import Limits, ResultRecord  # noqa: E402

# The buyer tests' fixtures: a market with providers, a blob node, blob clients.
market, blob_node, blobs, provider_blobs = buyerkit.market, buyerkit.blob_node, buyerkit.blobs, buyerkit.provider_blobs

JOB_ID = re.compile(r"0x[0-9a-f]{64}")
LIMITS = Limits(fuel=100_000_000, memory_bytes=16 * 2**20, output_bytes=4096, wall_seconds=10.0)


@pytest.fixture
def cli(market, blob_node, tmp_path, monkeypatch):
    """invoke(*args) -> the result of `agora job ARGS` as the buyer's wallet, on this market."""
    from brownie import web3

    for name in ("AGORA_WALLET_KEYSTORE", "AGORA_WALLET_PASSWORD_FILE", "AGORA_WALLET_PASSWORD", "AGORA_BLOBS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGORA_RPC_URL", web3.provider.endpoint_uri)
    monkeypatch.setenv("AGORA_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("AGORA_WALLET_PRIVATE_KEY", market.buyer.key.hex())
    monkeypatch.setenv("AGORA_BLOBS_PEERS", blob_node.url)
    monkeypatch.setenv("AGORA_STATE_DIR", str(tmp_path / "cli-state"))
    monkeypatch.setenv("COLUMNS", "220")  # rich's tables: room for whole addresses
    return invoke


def invoke(*args: str):
    """`agora job ARGS` under the environment as it is (settings are read afresh)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "sieve.in"
    path.write_bytes(SIEVE_INPUT)
    return path


def post_args(inputs, *extra: str) -> list[str]:
    return ["post", str(SIEVE_WAT), str(inputs), "--cpu", "1", "--memory-gib", "1", "--duration", "10m",
            "--fuel", str(LIMITS.fuel), "--memory-limit-mib", "16", "--output-limit-kib", "4", "--wall-seconds",
            "10", *extra]


def test_Post_ShowsTheOffersCheapestFirst_ThenTheJob(cli, market, inputs):
    result = cli(*post_args(inputs))
    assert result.exit_code == 0, result.output
    out = result.output
    cheap, mid, dear = (str(market.providers[name]) for name in ("cheap", "mid", "dear"))
    assert "best offers now" in out
    assert out.index(cheap) < out.index(mid) < out.index(dear)
    price = market.quote(cheap)
    assert service.tokens_text(price) in out  # the price in tokens, every decimal
    [job] = re.findall(r"\bjob\W+(0x[0-9a-f]{64})", out)
    status = service.job_status(contracts=market.contracts, job_id=bytes.fromhex(job[2:]))
    assert status.state == "Open" and status.buyer == market.buyer.address
    assert status.max_price == service.default_ceiling(price)
    assert "escrow" in out and service.tokens_text(status.max_price) in out and "expires" in out
    assert f"agora job status {job}" in out


def test_Post_Json_IsOnlyJsonWithTheJobId(cli, market, inputs):
    result = cli(*post_args(inputs, "--max-price", "0.05", "--json", "--expires-in", "30m"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert JOB_ID.fullmatch(data["job_id"])
    assert int(data["max_price"]) == 5 * TOKEN // 100
    assert data["offers"][0]["provider"] == str(market.providers["cheap"])
    assert int(data["offers"][0]["price"]) == market.quote(market.providers["cheap"])
    status = service.job_status(contracts=market.contracts, job_id=bytes.fromhex(data["job_id"][2:]))
    assert status.state == "Open" and status.max_price == 5 * TOKEN // 100
    assert status.terms.resources == JOB and status.terms.duration_seconds == DURATION
    now = market.web3.eth.get_block("latest")["timestamp"]
    assert data["expires_at"] <= now + 1800


def test_Post_CeilingBelowEveryOffer_WarnsNamingTheCheapest_PostsNothing(cli, market, inputs):
    nonce, balance = market.nonce(market.buyer.address), market.balance(market.buyer.address)
    result = cli(*post_args(inputs, "--max-price", "0.001"))
    assert result.exit_code == 1
    assert "best offers now" in result.output
    assert "warning:" in result.output and str(market.providers["cheap"]) in result.output
    assert service.tokens_text(market.quote(market.providers["cheap"])) in result.output
    assert (market.nonce(market.buyer.address), market.balance(market.buyer.address)) == (nonce, balance)
    assert service.list_jobs(contracts=market.contracts) == []

    posted = cli(*post_args(inputs, "--max-price", "0.001", "--below-offers", "--json"))
    assert posted.exit_code == 0, posted.output
    assert int(json.loads(posted.stdout)["max_price"]) == TOKEN // 1000


@pytest.mark.parametrize("command", ["status", "result", "cancel", "confirm", "dispute"])
def test_ABadJobId_IsAOneLineError(command):
    result = invoke(command, "0x1234")  # refused before the command looks for a market
    assert result.exit_code == 1
    assert isinstance(result.exception, BadJobId)
    assert "is not a job id" in str(result.exception) and "\n" not in str(result.exception)


def test_Post_BadArguments_AreOneLineErrors(inputs, tmp_path):
    cli = invoke  # each is refused before the command looks for a market
    for args, says in ((["--max-price", "1.0000000000000000001"], "more than 18 decimals"),
                       (["--max-price", "-1"], "above 0"), (["--duration", "soon"], "not a duration"),
                       (["--cpu", "0.0001"], "whole number of millicores"),
                       (["--region", "a-region-name-too-long"], "at most 16")):
        result = cli(*post_args(inputs, *args))
        assert result.exit_code == 1 and says in str(result.exception), (args, result.output)
    text = tmp_path / "notes.wasm"
    text.write_text("just text")
    result = cli("post", str(text), str(inputs))
    assert result.exit_code == 1 and "is not WebAssembly" in str(result.exception)


def test_Parsing_TokensAndDurationsExactly():
    assert parse_tokens("0.000000000000000001") == 1
    assert parse_tokens("12.5") == 12 * TOKEN + TOKEN // 2
    assert parse_tokens("1_000") == 1000 * TOKEN
    assert parse_duration("1h30m", "--duration") == 5400
    assert parse_duration("90", "--duration") == 90
    assert parse_duration("2d", "--expires-in") == 172_800


def post_direct(market, blobs) -> service.PostedJob:
    return service.post_job(contracts=market.contracts, web3=market.web3, account=market.buyer, blobs=blobs,
                            module=service.load_module(SIEVE_WAT), input=SIEVE_INPUT, limits=LIMITS, resources=JOB,
                            duration_seconds=DURATION, expires_in_seconds=3600)


def test_StatusAndList(cli, market, blobs):
    posted = post_direct(market, blobs)
    job = "0x" + posted.job_id.hex()
    result = cli("status", job)
    assert result.exit_code == 0, result.output
    assert "Open" in result.output and job in result.output and "expires" in result.output
    data = json.loads(cli("status", job, "--json").stdout)
    assert data["state"] == "Open" and data["job_id"] == job and int(data["max_price"]) == posted.max_price
    listed = cli("list")
    assert listed.exit_code == 0 and job in listed.output
    assert [j["job_id"] for j in json.loads(cli("list", "--all", "--json").stdout)] == [job]


def test_Result_Verify_HonestPasses_WrongExits3AndPointsAtDispute(cli, market, blobs, provider_blobs, tmp_path):
    honest = post_direct(market, blobs)
    record = market.deliver(honest.terms, market.providers["cheap"], provider_blobs)
    job = "0x" + honest.job_id.hex()
    result = cli("result", job, "--verify")
    assert result.exit_code == 0, result.output
    assert "verified: the provider's result matches a local run" in result.output
    assert "status: ok" in result.output and "0x" + record.output.hex() in result.output
    out = tmp_path / "primes.bin"
    written = cli("result", job, "--out", str(out))
    assert written.exit_code == 0 and out.read_bytes() == record.output

    wrong = post_direct(market, blobs)
    market.deliver(wrong.terms, market.providers["cheap"], provider_blobs, record=ResultRecord("ok", b"two primes"))
    job = "0x" + wrong.job_id.hex()
    result = cli("result", job, "--verify")
    assert result.exit_code == 3, result.output
    assert "MISMATCH" in result.output and f"agora job dispute {job}" in result.output
    assert "two primes" in result.output  # what the provider claims, shown as text
    data = json.loads(cli("result", job, "--verify", "--json").stdout)
    assert data["verification"]["matches"] is False and data["output_text"] == "two primes"

    balance = market.balance(market.buyer.address)
    disputed = cli("dispute", job)
    assert disputed.exit_code == 0, disputed.output
    assert "disputed" in disputed.output and "bond" in disputed.output
    bond = PROFILES["devnet"].params.initial.dispute_bond
    assert market.balance(market.buyer.address) == balance - bond
    assert service.job_status(contracts=market.contracts, job_id=wrong.job_id).state == "Disputed"


def test_CancelConfirmWithdraw(cli, market, blobs, provider_blobs):
    open_job = post_direct(market, blobs)
    result = cli("cancel", "0x" + open_job.job_id.hex())
    assert result.exit_code == 0, result.output
    assert "cancelled" in result.output and "credited back" in result.output
    submitted = post_direct(market, blobs)
    market.deliver(submitted.terms, market.providers["cheap"], provider_blobs)
    confirmed = cli("confirm", "0x" + submitted.job_id.hex(), "--json")
    assert confirmed.exit_code == 0 and json.loads(confirmed.stdout)["action"] == "confirm"
    assert service.job_status(contracts=market.contracts, job_id=submitted.job_id).state == "Completed"
    before = market.balance(market.buyer.address)
    credit = service.credit(contracts=market.contracts, account=market.buyer.address)
    withdrawn = cli("withdraw")
    assert withdrawn.exit_code == 0 and "withdrew" in withdrawn.output
    assert market.balance(market.buyer.address) == before + credit
    again = cli("cancel", "0x" + open_job.job_id.hex())
    assert again.exit_code == 1 and "is Refunded" in str(again.exception)

