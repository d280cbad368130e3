"""The session harness in tests/conftest.py, checked against the failure it exists for."""

from __future__ import annotations

from brownie import accounts, web3
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound


def test_ReceiptThatLagsBehindTheNonceIsNotTakenForADroppedTransaction(monkeypatch):
    # anvil can report the sender's new nonce before the receipt is readable; brownie alone
    # then raises "Tx dropped without known replacement" (CI, test_reorgs[postgresql-5]).
    real = web3.eth.get_transaction_receipt
    misses = {}

    def lagging_receipt(txid):
        key = HexBytes(txid).hex()
        misses[key] = misses.get(key, 0) + 1
        if misses[key] <= 3:
            raise TransactionNotFound(f"transaction {txid} not found")
        return real(txid)

    monkeypatch.setattr(web3.eth, "get_transaction_receipt", lagging_receipt)
    tx = accounts[0].transfer(accounts[1], 1)
    assert tx.status == 1
    assert max(misses.values()) > 3
