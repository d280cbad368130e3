"""Turns raw `eth_getLogs` entries into named events with plain, JSON-ready arguments.

Decoding goes straight through eth_abi over the raw JSON-RPC logs (web3's own log
processing is about twenty times slower). Addresses come out lowercase, byte strings as
0x-hex, integers as Python ints, structs as dicts keyed by field name.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode
from eth_utils import event_abi_to_log_topic


@dataclass(frozen=True)
class DecodedEvent:
    contract: str
    name: str
    args: dict
    block_number: int
    block_hash: str
    block_time: int | None
    log_index: int
    tx_hash: str


def _type_string(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


def _plain(value, param: dict):
    kind = param["type"]
    if kind.startswith("tuple"):
        if kind.endswith("]"):
            element = {**param, "type": kind[: kind.rindex("[")]}
            return [_plain(v, element) for v in value]
        return {c["name"]: _plain(v, c) for v, c in zip(value, param["components"])}
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_plain(v, element) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if kind == "address":
        return value.lower()
    return value


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    indexed: tuple[dict, ...]
    data: tuple[dict, ...]
    data_types: tuple[str, ...]


class EventDecoder:
    """Decodes the events of a set of contracts, given their addresses and ABIs."""

    def __init__(self, contracts: dict[str, tuple[str, list]]):
        """`contracts` maps a contract name to (address, abi)."""
        self.addresses: dict[str, str] = {}
        self._specs: dict[tuple[str, str], _EventSpec] = {}
        for name, (address, abi) in contracts.items():
            address = address.lower()
            self.addresses[address] = name
            for item in abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic = "0x" + event_abi_to_log_topic(item).hex()
                indexed = tuple(i for i in item["inputs"] if i.get("indexed"))
                data = tuple(i for i in item["inputs"] if not i.get("indexed"))
                self._specs[(address, topic)] = _EventSpec(
                    name, item["name"], indexed, data, tuple(_type_string(i) for i in data)
                )

    def decode(self, log: dict) -> DecodedEvent | None:
        """The event of a raw log, or None if it is not one of ours."""
        topics = log["topics"]
        if not topics:
            return None
        spec = self._specs.get((log["address"].lower(), topics[0]))
        if spec is None:
            return None
        args = {}
        for param, topic in zip(spec.indexed, topics[1:]):
            kind = param["type"]
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple"):
                args[param["name"]] = topic  # only the hash of a dynamic value is logged
            else:
                (value,) = decode([kind], bytes.fromhex(topic[2:]))
                args[param["name"]] = _plain(value, param)
        if spec.data:
            values = decode(spec.data_types, bytes.fromhex(log["data"][2:]))
            for param, value in zip(spec.data, values):
                args[param["name"]] = _plain(value, param)
        block_time = log.get("blockTimestamp")
        return DecodedEvent(
            contract=spec.contract,
            name=spec.name,
            args=args,
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"],
            block_time=int(block_time, 16) if block_time else None,
            log_index=int(log["logIndex"], 16),
            tx_hash=log["transactionHash"],
        )
