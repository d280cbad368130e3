"""`agora provider`: every command changes what registry.providerOf returns, to the wei and the
gwei; values are checked before anything is sent; a revert is the contract's error, in one line."""

from __future__ import annotations

import brownie
from clikit import TOKEN, nonce

from agora.chain.transact import send_and_wait
from agora.market.terms import label

LISTING = ["--cpu", "4", "--memory-gib", "8", "--storage-gib", "20", "--gpus", "1", "--gpu-model", "A100",
           "--region", "eu-west", "--price-cpu", "0.1", "--price-memory", "0.01", "--price-gpu", "2",
           "--price-storage", "0.000001", "--endpoint", "http://provider.example:8000"]


def provider_of(contracts, address):
    return contracts.registry.functions.providerOf(address).call()


def register(agora, stake="250"):
    ran = agora("provider", "register", *LISTING, "--stake", stake)
    assert ran.code == 0, ran.err
    return ran


def test_RegisterListsTheProviderWithItsPricesInTokens(agora, person, contracts):
    ran = register(agora)
    record = provider_of(contracts, person.address)
    assert record[0] == 1  # Active
    assert tuple(record[1]) == (4000, 8192, 20, 1, label("A100"), label("eu-west"))
    assert tuple(record[3]) == (100_000_000, 10_000_000, 2_000_000_000, 1_000)  # gwei per hour
    assert record[4] == "http://provider.example:8000"
    assert record[5] == 250 * TOKEN
    for row in ("│ status                        │ Active", "│ price per core-hour           │ 0.1 tokens",
                "│ price per GiB-hour of memory  │ 0.01 tokens", "│ price per GPU-hour            │ 2 tokens",
                "│ price per GiB-hour of storage │ 0.000001 tokens", "│ stake                         │ 250.0000",
                "│ cpu                           │ 4 cores, 0 used, 4 free", "│ region                        │ eu-west",
                "│ memory                        │ 8 GiB, 0 used, 8 free"):
        assert row in ran.out, (row, ran.out)


def test_StatusInJsonGivesExactValues(agora, person, contracts):
    register(agora, stake="250.000000000000000001")
    data = agora("provider", "status", "--json").json()
    assert data["provider"] == person.address and data["status"] == "Active"
    assert data["stake_wei"] == "250000000000000000001" and data["free_stake_wei"] == "250000000000000000001"
    assert data["prices_gwei_per_hour"] == {"cpu_core": 100_000_000, "memory_gib": 10_000_000, "gpu": 2_000_000_000,
                                            "storage_gib": 1_000}
    assert data["capacity"] == {"cpu_millicores": 4000, "memory_mib": 8192, "storage_gib": 20, "gpu_count": 1,
                                "gpu_model": "A100", "region": "eu-west"}
    assert data["used"]["cpu_millicores"] == 0 and data["free"] == data["capacity"]
    assert data["min_provider_stake_wei"] == str(100 * TOKEN)
    assert data["reputation"] == {"completed_jobs": 0, "missed_deadlines": 0, "disputes_lost": 0,
                                  "lapsed_matches": 0, "total_slashed_wei": "0"}
    assert (data["credit_wei"], data["unbonding_wei"], data["unbonding_unlocks_at"]) == ("0", "0", None)
    # Anyone's status, by address; an address that never registered.
    assert agora("provider", "status", person.address, "--json").json() == data
    stranger = "0x" + "ab" * 20
    ran = agora("provider", "status", stranger)
    assert ran.out == f"{brownie.web3.to_checksum_address(stranger)} is not a registered provider (register with " \
                      f"`agora provider register`)\n"


def test_StakeUnbondAndWithdrawMoveTheStakeToTheWei(agora, person, contracts, system):
    register(agora)
    assert agora("provider", "stake", "12.5").code == 0
    assert provider_of(contracts, person.address)[5] == 262_500_000_000_000_000_000

    ran = agora("provider", "unbond", "2.25", "--json")
    assert ran.code == 0, ran.err
    record = provider_of(contracts, person.address)
    assert (record[5], record[7]) == (260_250_000_000_000_000_000, 2_250_000_000_000_000_000)
    unlocks_at = brownie.chain[-1].timestamp + 60  # the devnet's unbonding period
    assert record[8] == unlocks_at
    assert ran.json()["unlocks_at"] == unlocks_at and ran.json()["unbonding_wei"] == "2250000000000000000"
    table = agora("provider", "unbond", "0.75")
    assert "unbonding 3.0000 tokens (stake now 259.5000): withdrawable from " in table.out

    early = agora("provider", "withdraw")
    assert early.code == 1
    assert early.line.startswith("agora: nothing to withdraw yet: 3.0000 tokens are still unbonding, withdrawable "
                                 "from ")

    brownie.chain.sleep(61)
    brownie.chain.mine()
    before = system.token.balanceOf(person.address)
    done = agora("provider", "withdraw", "--json")
    assert done.code == 0, done.err
    assert done.json()["stake_withdrawn_wei"] == str(3 * TOKEN) and done.json()["credit_withdrawn_wei"] == "0"
    assert system.token.balanceOf(person.address) == before + 3 * TOKEN
    record = provider_of(contracts, person.address)
    assert (record[5], record[7], record[8]) == (259_500_000_000_000_000_000, 0, 0)
    nothing = agora("provider", "withdraw")
    assert nothing.line == (f"agora: nothing to withdraw: {person.address} has no market credit and no stake "
                            f"unbonding (start with `agora provider unbond TOKENS`)")


def test_UnbondingMoreThanTheFreeStakeIsTheContractsErrorInOneLine(agora, person):
    register(agora)
    sent = nonce(person.address)
    ran = agora("provider", "unbond", "1000")
    assert (ran.code, ran.out) == (1, "")
    assert ran.line == (f"agora: InsufficientFreeStake(provider={person.address}, freeStake={250 * TOKEN}, "
                        f"needed={1000 * TOKEN})")
    assert nonce(person.address) == sent  # simulated, never sent


def test_PauseResumeAndUpdateChangeTheListing(agora, person, contracts):
    register(agora)
    assert agora("provider", "pause").out.startswith(f"{person.address} is Paused now")
    assert provider_of(contracts, person.address)[0] == 2
    again = agora("provider", "pause")
    assert again.code == 1
    assert again.line == (f"agora: the provider is Paused; pause needs it Active (ProviderStatusMismatch("
                          f"provider={person.address}, status=2, required=1))")
    assert agora("provider", "resume").code == 0
    assert provider_of(contracts, person.address)[0] == 1

    ran = agora("provider", "update", "--price-cpu", "0.25", "--region", "us-east", "--memory-gib", "0.5")
    assert ran.code == 0, ran.err
    record = provider_of(contracts, person.address)
    assert tuple(record[1]) == (4000, 512, 20, 1, label("A100"), label("us-east"))
    assert tuple(record[3]) == (250_000_000, 10_000_000, 2_000_000_000, 1_000)
    assert record[4] == "http://provider.example:8000" and record[5] == 250 * TOKEN
    assert agora("provider", "update", "--gpu-model", "", "--endpoint", "https://elsewhere").code == 0
    record = provider_of(contracts, person.address)
    assert record[1][4] == label("") and record[4] == "https://elsewhere"


def test_BadValuesAreRefusedBeforeAnythingIsSent(agora, person, contracts):
    sent = nonce(person.address)
    cases = [
        (["--price-cpu", "0.0000000001"], "agora: --price-cpu '0.0000000001' is finer than the market keeps: the "
                                          "smallest step is 1 gwei (0.000000001 tokens)"),
        (["--cpu", "0"], "agora: a listing must offer some CPU and memory (the registry refuses it: ZeroCapacity)"),
        (["--region", "a-region-name-too-long"], "agora: --region 'a-region-name-too-long' is 22 bytes; the "
                                                 "registry keeps at most 16"),
        (["--stake", "2000"], f"agora: {person.address} holds 1,000 tokens, less than the 2,000 this needs: get "
                              f"tokens first (agora wallet balance shows them)"),
    ]
    for change, says in cases:
        args = list(LISTING) + ["--stake", "250"]
        flag = change[0]
        args[args.index(flag) + 1] = change[1]
        ran = agora("provider", "register", *args)
        assert (ran.code, ran.out) == (1, ""), (change, ran.out)
        assert ran.line == says
    assert nonce(person.address) == sent
    assert provider_of(contracts, person.address)[0] == 0
    not_yet = agora("provider", "update", "--price-cpu", "1")
    assert not_yet.line == (f"agora: {person.address} is not a registered provider: register first (agora "
                            f"provider register)")
    nothing = agora("provider", "update")
    assert nothing.line.startswith("agora: nothing to change: give at least one of --cpu")


def test_RegisteringTwiceIsRefusedBeforeAnApproval(agora, person):
    register(agora)
    sent = nonce(person.address)
    ran = agora("provider", "register", *LISTING, "--stake", "1")
    assert ran.line == (f"agora: {person.address} is registered already: change its listing with `agora provider "
                        f"update`")
    assert nonce(person.address) == sent


def test_AnApprovalIsSentOnlyWhenTheAllowanceIsShort(agora, person, contracts):
    register(agora, stake="100")  # approve + register
    sent = nonce(person.address)
    assert agora("provider", "stake", "5").code == 0  # allowance used up: approve + addStake
    assert nonce(person.address) == sent + 2
    send_and_wait(contracts.web3, person, contracts.token.functions.approve(contracts.registry.address, 50 * TOKEN))
    sent = nonce(person.address)
    assert agora("provider", "stake", "5").code == 0  # allowance enough: addStake alone
    assert nonce(person.address) == sent + 1
    assert contracts.token.functions.allowance(person.address, contracts.registry.address).call() == 45 * TOKEN


def test_WithdrawTakesOutMarketCredit(agora, person, contracts, system):
    """A cancelled job's escrow is credited to its buyer: withdraw sends it, to the wei."""
    from agora.market.terms import JobTerms, Resources

    price = 3_141_592_653_589_793_238
    terms = JobTerms(buyer=person.address, max_price=price, spec_hash=b"\x01" * 32, duration_seconds=60,
                     expires_at=brownie.chain[-1].timestamp + 3600, salt=7, resources=Resources(1000, 512))
    market = contracts.market
    send_and_wait(contracts.web3, person, contracts.token.functions.approve(market.address, price))
    send_and_wait(contracts.web3, person, market.functions.post(terms.as_tuple()))
    send_and_wait(contracts.web3, person, market.functions.cancel(terms.as_tuple()))
    assert market.functions.creditOf(person.address).call() == price
    before = system.token.balanceOf(person.address)
    ran = agora("provider", "withdraw")
    assert (ran.code, ran.out) == (0, "withdrew 3.1415 tokens of market credit\n")
    assert market.functions.creditOf(person.address).call() == 0
    assert system.token.balanceOf(person.address) == before + price
