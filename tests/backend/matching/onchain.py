"""A deployed market read and driven over raw, batched JSON-RPC, for the engine's differential test.

web3.py formats every call and receipt, which costs more than the call itself when a test makes
thousands of them; here calldata is encoded once from the packaged ABIs (through the web3 contract
objects of `MarketContracts`) and answers are decoded with eth_abi. Reads are pinned to a block
so a whole round sees one state; transactions go through `eth_sendTransaction` from the node's
unlocked or impersonated accounts, with a fixed gas limit (no estimate round trip).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3.contract import Contract

from agora.chain.contracts import DecodedError, MarketContracts, decode_revert
from agora.chain.rpc import ChainRpc, RpcError
from agora.market.terms import JOB_TERMS_ABI, HourlyPrices, JobTerms, Resources
from agora.matching import MatchRules, ProviderState

GAS = 600_000  # above every action the test sends (a first match: ~111,000)
JOB_POSTED = keccak(text=f"JobPosted(bytes32,address,{JOB_TERMS_ABI})")
JOB_MATCHED = keccak(text="JobMatched(bytes32,address,address,uint256,uint256,uint256,uint256)")


class BatchRpc(ChainRpc):
    """ChainRpc plus JSON-RPC batches (answers in request order) and fire-and-forget sends."""

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        """Each answer as the node gave it: {"result": ...} or {"error": {...}}."""
        if not calls:
            return []
        first = next(self._ids)
        payload = [{"jsonrpc": "2.0", "id": first + n, "method": m, "params": p} for n, (m, p) in enumerate(calls)]
        for _ in calls[1:]:
            next(self._ids)
        answers = self._session.post(self.url, json=payload, timeout=self.timeout).json()
        by_id = {a["id"]: a for a in answers}
        return [by_id[first + n] for n in range(len(calls))]

    def send(self, sender: str, to: str, data: str) -> str:
        return self.call("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(GAS)}])

    def send_and_mine(self, sends: Sequence[tuple[str, str, str]]) -> list[dict]:
        """Sends (sender, to, data) with automine off, then mines blocks until every one is in;
        returns the receipts in order. Nonces are given here, so a sender's transactions land in
        the order given; across senders the order within a block is the node's."""
        if not sends:
            return []
        senders = sorted({s for s, _, _ in sends})
        counts = self.batch([("eth_getTransactionCount", [s, "pending"]) for s in senders])
        nonces = {s: int(c["result"], 16) for s, c in zip(senders, counts, strict=True)}
        payload = []
        for sender, to, data in sends:
            payload.append(("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(GAS),
                                                     "nonce": hex(nonces[sender])}]))
            nonces[sender] += 1
        answers = self.batch(payload)
        refused = [a["error"] for a in answers if "error" in a]
        assert not refused, f"the node refused {len(refused)} transactions: {refused[:3]}"
        hashes = [a["result"] for a in answers]
        found: dict[str, dict] = {}
        for _ in range(len(sends) + 1):  # a block holds at least one transaction
            self.call("evm_mine", [])
            missing = [h for h in hashes if h not in found]
            for h, answer in zip(missing, self.batch([("eth_getTransactionReceipt", [h]) for h in missing]),
                                 strict=True):
                if answer.get("result"):
                    found[h] = answer["result"]
            if len(found) == len(hashes):
                return [found[h] for h in hashes]
        raise AssertionError(f"{len(hashes) - len(found)} transactions never mined")


@dataclass(frozen=True)
class CallOutcome:
    """An eth_call's answer: the decoded revert, or None when it went through."""

    error: DecodedError | None


class Functions:
    """Calldata encoding and result decoding for one contract's functions (eth_abi straight from
    the ABI: web3's `encode_abi` validates every argument and costs milliseconds a call)."""

    def __init__(self, contract: Contract):
        self.address: str = contract.address
        self.inputs: dict[str, tuple[bytes, list[str]]] = {}
        self.outputs: dict[str, list[str]] = {}
        abi: list[dict[str, Any]] = contract.abi  # type: ignore[assignment]
        for item in abi:
            if item.get("type") != "function":
                continue
            name = item["name"]
            assert name not in self.inputs, f"{name} is overloaded"
            types = [collapse_if_tuple(i) for i in item["inputs"]]
            self.inputs[name] = (keccak(text=f"{name}({','.join(types)})")[:4], types)
            self.outputs[name] = [collapse_if_tuple(o) for o in item["outputs"]]

    def data(self, name: str, *args: Any) -> str:
        selector, types = self.inputs[name]
        return "0x" + (selector + encode(types, list(args))).hex()

    def call(self, name: str, *args: Any, sender: str | None = None, block: str | int = "latest") -> tuple:
        call: dict[str, Any] = {"to": self.address, "data": self.data(name, *args)}
        if sender:
            call["from"] = sender
        return ("eth_call", [call, hex(block) if isinstance(block, int) else block])

    def decode(self, name: str, answer: dict) -> Any:
        if "error" in answer:
            raise RpcError("eth_call", answer["error"].get("code", 0), answer["error"].get("message", ""))
        values = decode(self.outputs[name], bytes.fromhex(answer["result"][2:]))
        return values[0] if len(values) == 1 else values


def outcome(answer: dict) -> CallOutcome:
    """An eth_call answer as the contracts' own error (None: no revert)."""
    if "error" not in answer:
        return CallOutcome(None)
    data = answer["error"].get("data")
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    return CallOutcome(decode_revert(data))


class Market:
    """One deployment: reads into the engine's inputs, and calldata for every action the test takes."""

    def __init__(self, contracts: MarketContracts, rpc: BatchRpc):
        self.rpc = rpc
        self.token = Functions(contracts.token)
        self.params = Functions(contracts.params)
        self.registry = Functions(contracts.registry)
        self.market = Functions(contracts.market)

    # -- reads, pinned to one block --------------------------------------------------------

    def block(self) -> tuple[int, int]:
        """The latest block's number and timestamp."""
        header = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        return int(header["number"], 16), int(header["timestamp"], 16)

    def rules(self, block: int, now: int) -> MatchRules:
        """The current parameter version's match values: what `matchJob` would settle under."""
        version_answer, stake_answer = self.rpc.batch([
            self.params.call("version", block=block), self.params.call("minProviderStake", block=block)])
        version = self.params.decode("version", version_answer)
        (settlement,) = self.rpc.batch([self.params.call("settlementParams", version, block=block)])
        sp = self.params.decode("settlementParams", settlement)
        return MatchRules(min_provider_stake=self.params.decode("minProviderStake", stake_answer),
                          collateral_ratio_bps=sp[1], min_job_collateral=sp[0], now=now)

    def providers(self, addresses: Sequence[str], block: int | str = "latest") -> list[ProviderState]:
        answers = self.rpc.batch([self.registry.call("providerOf", a, block=block) for a in addresses])
        return [provider_state(a, self.registry.decode("providerOf", answer))
                for a, answer in zip(addresses, answers, strict=True)]

    def posted(self, from_block: int, to_block: int) -> list[JobTerms]:
        """Every job posted in the range, with its terms as the `JobPosted` events carry them."""
        logs = self.rpc.logs(from_block, to_block, [self.market.address])
        found = []
        for log in logs:
            if bytes.fromhex(log["topics"][0][2:]) != JOB_POSTED:
                continue
            (values,) = decode([JOB_TERMS_ABI], bytes.fromhex(log["data"][2:]))
            found.append(JobTerms.from_tuple(values))
        return found

    def jobs(self, ids: list[bytes], block: int | str = "latest") -> list[tuple]:
        """`jobOf` of each id: (provider, state, deadline, paramsVersion, durationSeconds, matchmaker, price)."""
        answers = self.rpc.batch([self.market.call("jobOf", i, block=block) for i in ids])
        return [self.market.decode("jobOf", a) for a in answers]

    # -- calls and sends ---------------------------------------------------------------------

    def match_call(self, terms: JobTerms, provider: str, price: int, sender: str, block: str | int = "latest"):
        return self.market.call("matchJob", terms.as_tuple(), provider, price, sender=sender, block=block)


def provider_state(address: str, view: tuple) -> ProviderState:
    """`providerOf`'s ProviderView as the engine's ProviderState."""
    (status, capacity, used, prices, _endpoint, stake, locked, _unbonding, _unlocks, completed, missed,
     disputes_lost, lapsed, _slashed) = view
    return ProviderState(
        address=to_checksum_address(address),
        status=int(status),
        capacity=Resources.from_tuple(capacity),
        used=Resources.from_tuple(used),
        prices=HourlyPrices(*(int(p) for p in prices)),
        stake=int(stake),
        locked_collateral=int(locked),
        completed=int(completed),
        missed_deadlines=int(missed),
        lapsed_matches=int(lapsed),
        disputes_lost=int(disputes_lost),
    )


def matched_log(receipt: dict) -> tuple[bytes, str, int, int]:
    """(jobId, provider, price, collateral) of the receipt's `JobMatched`."""
    for log in receipt["logs"]:
        if bytes.fromhex(log["topics"][0][2:]) == JOB_MATCHED:
            price, collateral, _deadline, _version = decode(["uint256"] * 4, bytes.fromhex(log["data"][2:]))
            provider = to_checksum_address("0x" + log["topics"][2][-40:])
            return bytes.fromhex(log["topics"][1][2:]), provider, price, collateral
    raise AssertionError(f"no JobMatched in transaction {receipt['transactionHash']}")
