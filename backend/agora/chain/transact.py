"""One transaction from a person's wallet, start to end: what the `agora` commands send.

A node sends many transactions at once through `agora.sender` (nonces under a database
lock, replacement, idempotency keys). A person at a terminal sends one at a time and waits
for it: this simulates the call first (a revert raises the contract's decoded error and
sends nothing), signs it on the wallet's pending nonce with EIP-1559 fees, sends it and
waits for its receipt.

    receipt = send_and_wait(web3, account, contracts.market.functions.cancel(terms.as_tuple()))
"""

from __future__ import annotations

import time
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from agora.chain.contracts import ContractRevert, revert_of
from agora.errors import ChainError

GWEI = 10**9


class TransactionFailed(ChainError):
    """The transaction was mined and reverted, or the node refused it."""


def simulate(call: Any, sender: str) -> Any:
    """The call's return value at the pending block; ContractRevert if it would revert."""
    try:
        return call.call({"from": sender}, block_identifier="pending")
    except ContractLogicError as exc:
        raise revert_of(exc) from None


def send_and_wait(web3: Web3, account: LocalAccount, call: Any, *, timeout: float = 120.0,
                  priority_fee_gwei: float = 1.0, gas_margin_percent: int = 20) -> dict:
    """Simulates, signs, sends and waits for `call` (a web3 ContractFunction); the receipt."""
    simulate(call, account.address)
    try:
        gas = call.estimate_gas({"from": account.address}, block_identifier="pending")
    except ContractLogicError as exc:
        raise revert_of(exc) from None
    base_fee = int(web3.eth.get_block("pending").get("baseFeePerGas", 0) or 0)
    tip = int(priority_fee_gwei * GWEI)
    tx = call.build_transaction({
        "from": account.address, "nonce": web3.eth.get_transaction_count(account.address, "pending"),
        "gas": gas * (100 + gas_margin_percent) // 100, "maxPriorityFeePerGas": tip,
        "maxFeePerGas": 2 * base_fee + tip, "chainId": web3.eth.chain_id,
    })
    signed = account.sign_transaction(tx)
    try:
        tx_hash = web3.eth.send_raw_transaction(signed.raw_transaction)
    except Web3RPCError as exc:
        message = str(exc)
        if "insufficient funds" in message:
            raise TransactionFailed(f"{account.address} has too little ether for the gas of {call.fn_name}: "
                                    "fund it and try again") from None
        raise TransactionFailed(f"the node refused {call.fn_name}: {message}") from None
    try:
        receipt = dict(web3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.2))
    except TimeExhausted:
        raise TransactionFailed(f"{call.fn_name} ({tx_hash.hex()}) is not mined after {timeout:g} s: it may still "
                                "be; look it up before sending it again") from None
    if receipt["status"] != 1:
        why = _replayed(call, account, receipt)
        raise TransactionFailed(f"{call.fn_name} ({tx_hash.hex()}) reverted when mined: {why}")
    return receipt


def _replayed(call: Any, account: LocalAccount, receipt: dict) -> str:
    """The decoded error of a mined revert, replayed at the block before it."""
    try:
        call.call({"from": account.address}, block_identifier=receipt["blockNumber"] - 1)
    except ContractLogicError as exc:
        return str(revert_of(exc))
    except Exception as exc:  # noqa: BLE001 - a best-effort explanation
        return f"(not replayable: {exc})"
    return "(it succeeds when replayed: the state changed in its own block)"


def wait_for(condition, *, timeout: float, every: float = 0.5) -> bool:
    """Polls `condition()` until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


__all__ = ["ContractRevert", "TransactionFailed", "send_and_wait", "simulate", "wait_for"]
