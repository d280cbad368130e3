"""Session-wide test setup.

Brownie launches anvil on the port in brownie-config.yaml and silently attaches to
whatever already listens there, so every test session takes a free port of its own
(or AGORA_ANVIL_PORT) before brownie connects, which it does after collection.
"""

import os
import socket
import time

from brownie import _config, network, web3
from web3.exceptions import TransactionNotFound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ANVIL_PORT = int(os.environ.get("AGORA_ANVIL_PORT") or _free_port())
_config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = ANVIL_PORT
_config.CONFIG.networks["anvil"]["host"] = "http://127.0.0.1"


# anvil raises the sender's nonce a moment before the receipt can be read, and brownie's
# confirmation loop takes "nonce moved on, no receipt" for a dropped transaction ("Tx dropped
# without known replacement"; seen once in CI in ~330 tests). With automine every sent
# transaction gets a receipt, so wait for it before brownie starts judging.
_await_confirmation = network.transaction.TransactionReceipt._await_confirmation


def _await_receipt_then_confirm(self, block_number=None, required_confs=1):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if web3.eth.get_transaction_receipt(self.txid)["blockHash"] is not None:
                break
        except TransactionNotFound:
            pass
        time.sleep(0.005)
    return _await_confirmation(self, block_number, required_confs)


network.transaction.TransactionReceipt._await_confirmation = _await_receipt_then_confirm
