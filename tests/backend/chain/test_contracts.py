"""web3.py bindings from the deployment file and the packaged ABIs, and reverts decoded
into the contracts' own errors, against a market deployed by brownie on anvil."""

from __future__ import annotations

import subprocess
import sys

import pytest
from eth_abi import encode
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from agora.chain.contracts import ContractRevert, DecodedError, decode_revert, revert_of
from agora.errors import ChainError

ZERO = "0x" + "00" * 20
NONE, OPEN, MATCHED = 0, 1, 2


def test_TheBindingsReadTheMarket(contracts, system):
    assert contracts.params.functions.version().call() == system.params.version() >= 1
    assert contracts.token.functions.symbol().call() == system.token.symbol()
    assert contracts.market.address == system.market.address
    assert contracts.timelock.address == system.timelock.address


def test_JobOfAnOpenAndAnUnknownJob(contracts, scenario):
    scenario.setup()
    terms = scenario.post()
    provider, state, *_ = contracts.market.functions.jobOf(terms.job_id).call()
    assert (provider, state) == (ZERO, OPEN)
    assert tuple(contracts.market.functions.jobOf(b"\x01" * 32).call()[:2]) == (ZERO, NONE)


def call_match(contracts, terms, provider, price, sender) -> ContractRevert:
    with pytest.raises(ContractLogicError) as raised:
        contracts.market.functions.matchJob(terms.as_tuple(), str(provider.address), price).call(
            {"from": str(sender.address)})
    assert isinstance(raised.value, ContractCustomError)
    return revert_of(raised.value)


def test_MatchingAnUnknownJobIsJobStateMismatch(contracts, scenario):
    scenario.setup()
    terms = scenario.terms()  # never posted
    revert = call_match(contracts, terms, scenario.providers[0], 1, scenario.matchmaker)
    assert isinstance(revert, ChainError)
    assert revert.name == "JobStateMismatch"
    assert revert.arguments == {"jobId": terms.job_id, "state": NONE, "required": OPEN}
    assert str(revert) == f"JobStateMismatch(jobId=0x{terms.job_id.hex()}, state=0, required=1)"


def test_MatchingAtAWrongPriceIsPriceChanged(contracts, scenario):
    scenario.setup()
    terms = scenario.post()
    provider = scenario.providers[0]
    price = scenario.price(terms, provider)
    revert = call_match(contracts, terms, provider, price + 1, scenario.matchmaker)
    assert revert.error == DecodedError("PriceChanged", {"jobId": terms.job_id, "price": price,
                                                         "expectedPrice": price + 1})
    # the right price goes through (as a call: nothing is sent)
    contracts.market.functions.matchJob(terms.as_tuple(), str(provider.address), price).call(
        {"from": str(scenario.matchmaker.address)})


def test_AnOpenZeppelinErrorIsDecoded(contracts, scenario):
    # a transfer beyond the balance: ERC20InsufficientBalance(sender, balance, needed)
    poor = Web3.to_checksum_address("0x" + "ab" * 20)
    with pytest.raises(ContractLogicError) as raised:
        contracts.token.functions.transfer(str(scenario.buyers[0].address), 5).call({"from": poor})
    revert = revert_of(raised.value)
    assert revert.name == "ERC20InsufficientBalance"
    assert revert.arguments == {"sender": poor, "balance": 0, "needed": 5}


def test_PanicAndErrorStringAreDecoded():
    assert decode_revert("0x4e487b71" + encode(["uint256"], [0x11]).hex()) == DecodedError("Panic", {"code": 0x11})
    assert decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["no"])) == DecodedError(
        "Error", {"message": "no"})
    assert str(decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["no"]))) == "Error(message='no')"
    assert decode_revert("0xdeadbeef").name is None
    assert decode_revert(b"").name is None


def test_TheClientNeedsNeitherBrownieNorItsBuild(tmp_path):
    code = ("import sys; from agora.chain.contracts import decode_revert; from agora.chain.abis import abi; "
            "[abi(n) for n in ('JobMarket', 'TimelockController')]; "
            "assert decode_revert('0x4e487b71' + '00' * 31 + '01').name == 'Panic'; "
            "assert 'brownie' not in sys.modules, 'brownie imported'")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
