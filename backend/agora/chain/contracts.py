"""Contract bindings over web3.py, built from a deployment file and the ABIs packaged in
agora, and the decoding of reverts into the contracts' own error names and arguments.

    contracts = MarketContracts.connect(settings.chain.rpc_url, deployment)
    contracts.params.functions.version().call()
    try:
        contracts.market.functions.matchJob(terms.as_tuple(), provider, price).call({"from": me})
    except (ContractCustomError, ContractLogicError) as exc:
        raise contracts.revert(exc)    # ContractRevert: "JobStateMismatch(jobId=0x.., state=0, required=1)"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from agora.chain.abis import CONTRACTS as ARTIFACTS
from agora.chain.abis import abi as packaged_abi
from agora.chain.deployment import Deployment
from agora.errors import ChainError

# The bindings' attribute names, by the deployment file's contract names.
ATTRIBUTES = {"token": "AgoraToken", "timelock": "TimelockController", "governor": "AgoraGovernor",
              "params": "ProtocolParams", "registry": "ProviderRegistry", "market": "JobMarket"}

# Solidity's built-in errors: require/revert with a reason, and assert/arithmetic/... failures.
BUILTIN_ERRORS = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]


@dataclass(frozen=True)
class DecodedError:
    """A revert decoded: the error's name and its arguments by name, in declaration order.
    `name` is None when the data matches no known error (then `args` holds the raw `data`)."""

    name: str | None
    args: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.name is None:
            return f"a revert that is no known error (data {self.args.get('data', '0x')})"
        return f"{self.name}({', '.join(f'{k}={_show(v)}' for k, v in self.args.items())})"


class ContractRevert(ChainError):
    """A contract call reverted: `name` and `arguments` are the decoded error (`error`), `data`
    the raw revert data. (Exception's own `args` stays the message, as for every error.)"""

    def __init__(self, error: DecodedError, data: str = "0x"):
        super().__init__(str(error))
        self.error, self.data = error, data
        self.name, self.arguments = error.name, error.args


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return repr(value) if not (value.startswith("0x") and len(value) == 42) else value
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(_show, value)) + ")"
    return str(value)


def _signature(item: dict) -> str:
    return f"{item['name']}({','.join(collapse_if_tuple(i) for i in item['inputs'])})"


class ErrorDecoder:
    """Decodes revert data by the 4-byte selectors of every error in the given ABIs (the
    contracts' custom errors and the OpenZeppelin errors they declare) and the built-ins."""

    def __init__(self, abis: list[list]):
        self.errors: dict[bytes, dict] = {}
        for abi in [BUILTIN_ERRORS, *abis]:
            for item in abi:
                if item.get("type") == "error":
                    self.errors.setdefault(keccak(text=_signature(item))[:4], item)

    def decode(self, data: bytes | str | None) -> DecodedError:
        raw = _bytes(data)
        item = self.errors.get(raw[:4]) if len(raw) >= 4 else None
        if item is None:
            return DecodedError(None, {"data": "0x" + raw.hex()})
        types = [collapse_if_tuple(i) for i in item["inputs"]]
        try:
            decoded = decode(types, raw[4:])
        except Exception:  # noqa: BLE001 - a selector match with malformed arguments
            return DecodedError(None, {"data": "0x" + raw.hex()})
        names = [i.get("name") or f"arg{n}" for n, i in enumerate(item["inputs"])]
        values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, decoded, strict=True)]
        return DecodedError(item["name"], dict(zip(names, values, strict=True)))


def _bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data[2:] if data.startswith(("0x", "0X")) else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


_DEFAULT_DECODER: ErrorDecoder | None = None


def decode_revert(data: bytes | str | None) -> DecodedError:
    """Decodes revert data against every deployed contract's ABI and Error/Panic."""
    global _DEFAULT_DECODER
    if _DEFAULT_DECODER is None:
        _DEFAULT_DECODER = ErrorDecoder([packaged_abi(name) for name in ARTIFACTS])
    return _DEFAULT_DECODER.decode(data)


def revert_of(exc: ContractLogicError) -> ContractRevert:
    """web3's ContractCustomError / ContractLogicError / ContractPanicError as a ContractRevert."""
    data = exc.data if isinstance(exc.data, (str, bytes)) else None
    decoded = decode_revert(data)
    if decoded.name is None and not _bytes(data):
        # web3 had no revert data to give (a bare `revert()`, or a node that omits it).
        decoded = DecodedError(None, {"data": "0x", "message": exc.message or str(exc)})
    return ContractRevert(decoded, "0x" + _bytes(data).hex())


class MarketContracts:
    """web3 contract objects for one deployment: .token, .timelock, .governor, .params,
    .registry, .market."""

    token: Contract
    timelock: Contract
    governor: Contract
    params: Contract
    registry: Contract
    market: Contract

    def __init__(self, web3: Web3, deployment: Deployment):
        self.web3, self.deployment = web3, deployment
        for attribute, name in ATTRIBUTES.items():
            contract = web3.eth.contract(address=to_checksum_address(deployment.address(name)),
                                         abi=deployment.abi(name))
            setattr(self, attribute, contract)

    @classmethod
    def connect(cls, rpc_url: str, deployment: Deployment, timeout: float = 30.0) -> MarketContracts:
        return cls(Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout})), deployment)

    def revert(self, exc: ContractLogicError) -> ContractRevert:
        return revert_of(exc)
