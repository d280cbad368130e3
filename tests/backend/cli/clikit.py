"""Helpers of the CLI tests: what a run of `agora` gave, token units, nonces."""

from __future__ import annotations

import json
from dataclasses import dataclass

from brownie import web3 as brownie_web3

TOKEN = 10**18


@dataclass
class Ran:
    """One run of `agora`: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def line(self) -> str:
        """The one error line, checked to be one line."""
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        return lines[0]


def nonce(address: str) -> int:
    """Transactions sent from `address` (unchanged: nothing was sent)."""
    return brownie_web3.eth.get_transaction_count(address)
