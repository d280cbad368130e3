"""A node process for the two-process test: builds a sender from the environment
(AGORA_WALLET_PRIVATE_KEY, never an argument), says "ready", waits for "go" on stdin, sends
`count` approvals and prints their nonces as JSON.

    python send_many.py RPC_URL DATABASE_URL TOKEN PREFIX COUNT
"""

from __future__ import annotations

import json
import sys

from web3 import Web3

from agora.chain.abis import abi
from agora.db.session import make_engine, make_sessionmaker
from agora.sender import SenderSettings, TransactionSender, WalletSettings, load_wallet


def main(rpc_url: str, database_url: str, token_address: str, prefix: str, count: int) -> None:
    web3 = Web3(Web3.HTTPProvider(rpc_url))
    token = web3.eth.contract(address=token_address, abi=abi("AgoraToken"))
    sender = TransactionSender(web3, load_wallet(WalletSettings()), make_sessionmaker(make_engine(database_url)),
                               SenderSettings(stuck_after_seconds=3600))
    spender = Web3.to_checksum_address("0x" + prefix.encode().hex().rjust(40, "0"))
    print("ready", flush=True)
    sys.stdin.readline()
    nonces = [sender.send(token.functions.approve(spender, i + 1), key=f"{prefix}:{i}").nonce for i in range(count)]
    print(json.dumps(nonces), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
