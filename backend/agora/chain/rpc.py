"""A small, fast JSON-RPC client for the calls the indexer makes in bulk.

web3.py formats every log into AttributeDicts, which costs more than decoding; the indexer
takes the raw JSON instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import requests

from agora.errors import ChainError

try:  # ujson parses large log responses about three times faster
    import ujson as _json
except ImportError:  # pragma: no cover
    import json as _json  # type: ignore[no-redef]


class RpcError(ChainError):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str):
        super().__init__(f"{method}: {message} (code {code})")
        self.method, self.code, self.message = method, code, message


class BlockNotFound(RpcError):
    """The node has no block of that number: its chain ends below it."""

    def __init__(self, number: int):
        super().__init__("eth_getBlockByNumber", 0, f"block {number} does not exist")
        self.number = number


class RpcUnavailable(ChainError, ConnectionError):
    """The node did not answer (refused, timed out, or a non-JSON reply)."""


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


class ChainRpc:
    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()
        self._ids = itertools.count(1)

    def call(self, method: str, params: list):
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = self._session.post(self.url, data=_json.dumps(payload), timeout=self.timeout,
                                          headers={"Content-Type": "application/json"})
            body = _json.loads(response.content)
        except (requests.RequestException, ValueError) as exc:
            raise RpcUnavailable(f"{self.url}: {exc}") from exc
        if "error" in body:
            error = body["error"]
            raise RpcError(method, error.get("code", 0), error.get("message", str(error)))
        return body["result"]

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def header(self, number: int) -> BlockHeader:
        block = self.call("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            raise BlockNotFound(number)
        return BlockHeader(int(block["number"], 16), block["hash"], block["parentHash"], int(block["timestamp"], 16))

    def code(self, address: str) -> str:
        """The contract code at `address` in the latest block ("0x" if none)."""
        return self.call("eth_getCode", [address, "latest"])

    def logs(self, from_block: int, to_block: int, addresses: list[str]) -> list[dict]:
        query = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": addresses}
        return self.call("eth_getLogs", [query])
