"""A job's data by content: the manifest a job's `specHash` names, its limits, and the
result record whose hash a provider submits.

Every blob (manifest, module, input, result) is named by the SHA-256 of its bytes, as 64
lowercase hex digits (`content_id`). A job's on-chain `specHash` is the SHA-256 of its
manifest's canonical encoding, so anyone holding the manifest can check it against the
chain, and the manifest in turn names the module and the input by their content ids.

The result a provider submits is `sha256(result_record)`, where the record is the
canonical encoding of (status, output): a module that ran to its end has status "ok" and
its output; one that trapped, ran out of fuel or broke a limit has that status and no
output. The record depends only on the module, the input and the limits, so a re-run by
the arbiter (or the buyer) on any machine gives the same bytes, and a wrong result is an
objective fault.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass

from agora.errors import AgoraError

SPEC_VERSION = 1
RESULT_VERSION = 1

# Hard ceilings a manifest may ask for: what one agent commits to run for one job.
MAX_FUEL = 10**12
MAX_MEMORY_BYTES = 512 * 2**20
MAX_OUTPUT_BYTES = 16 * 2**20
MAX_WALL_SECONDS = 3600.0

# How a run ended. "ok" is the only one with an output; every other status is a fault of
# the module (or its limits), recorded the same way by every honest runner.
STATUSES = ("ok", "trap", "out_of_fuel", "memory_limit", "output_too_large", "wall_time", "invalid_module",
            "data_unavailable")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SpecError(AgoraError):
    """A manifest or result record is malformed, or asks for more than the ceilings allow."""


def content_id(data: bytes) -> str:
    """The content id of a blob: the SHA-256 of its bytes, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def is_content_id(text: str) -> bool:
    return bool(_HEX64.match(text))


def _canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Limits:
    """What a run may use: WebAssembly fuel (instructions, deterministic), linear memory
    in bytes, output in bytes, and wall-clock seconds (a backstop for the host, not part of
    the determinism: fuel bounds the work)."""

    fuel: int
    memory_bytes: int
    output_bytes: int
    wall_seconds: float

    def check(self) -> None:
        for name, value, ceiling in (("fuel", self.fuel, MAX_FUEL), ("memory_bytes", self.memory_bytes,
                                     MAX_MEMORY_BYTES), ("output_bytes", self.output_bytes, MAX_OUTPUT_BYTES),
                                     ("wall_seconds", self.wall_seconds, MAX_WALL_SECONDS)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= ceiling:
                raise SpecError(f"limit {name}={value!r} must be a number above 0 and at most {ceiling:g}")
        if not all(isinstance(v, int) for v in (self.fuel, self.memory_bytes, self.output_bytes)):
            raise SpecError("limits fuel, memory_bytes and output_bytes must be whole numbers")

    def as_dict(self) -> dict:
        return {"fuel": self.fuel, "memory_bytes": self.memory_bytes, "output_bytes": self.output_bytes,
                "wall_seconds": self.wall_seconds}


DEFAULT_LIMITS = Limits(fuel=2_000_000_000, memory_bytes=64 * 2**20, output_bytes=2**20, wall_seconds=30.0)


@dataclass(frozen=True)
class JobSpec:
    """The manifest: the module and the input by content id, and the limits to run under."""

    module: str
    input: str
    limits: Limits

    def encode(self) -> bytes:
        """The canonical bytes (sorted keys, no spaces) whose SHA-256 is the job's specHash."""
        self.check()
        return _canonical({"version": SPEC_VERSION, "module": self.module, "input": self.input,
                           "limits": self.limits.as_dict()})

    @property
    def spec_id(self) -> str:
        return content_id(self.encode())

    @property
    def spec_hash(self) -> bytes:
        """The job's on-chain specHash (bytes32)."""
        return bytes.fromhex(self.spec_id)

    def check(self) -> None:
        for name, value in (("module", self.module), ("input", self.input)):
            if not isinstance(value, str) or not is_content_id(value):
                raise SpecError(f"manifest {name} must be a content id (64 lowercase hex digits), not {value!r}")
        self.limits.check()

    @classmethod
    def decode(cls, data: bytes) -> JobSpec:
        """A manifest from its bytes; SpecError if they are not a canonical version-1 manifest."""
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SpecError(f"the manifest is not JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("version") != SPEC_VERSION:
            raise SpecError(f"the manifest is not a version-{SPEC_VERSION} Agora job manifest")
        if set(raw) != {"version", "module", "input", "limits"} or not isinstance(raw["limits"], dict) \
                or set(raw["limits"]) != {"fuel", "memory_bytes", "output_bytes", "wall_seconds"}:
            raise SpecError("the manifest must have exactly version, module, input and limits "
                            "(fuel, memory_bytes, output_bytes, wall_seconds)")
        spec = cls(raw["module"], raw["input"], Limits(**raw["limits"]))
        if spec.encode() != data:
            # Only the canonical form is a manifest: otherwise two encodings of one job
            # would hash to two specHashes.
            raise SpecError("the manifest is not in canonical form (sorted keys, no spaces)")
        return spec


@dataclass(frozen=True)
class ResultRecord:
    """How a run ended and what it wrote: the bytes whose SHA-256 a provider submits."""

    status: str
    output: bytes = b""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise SpecError(f"unknown result status {self.status!r} (one of {', '.join(STATUSES)})")
        if self.status != "ok" and self.output:
            raise SpecError(f"a {self.status} result has no output")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def encode(self) -> bytes:
        return _canonical({"version": RESULT_VERSION, "status": self.status,
                           "output": base64.b64encode(self.output).decode()})

    @property
    def result_id(self) -> str:
        return content_id(self.encode())

    @property
    def result_hash(self) -> bytes:
        """The bytes32 a provider submits for this result."""
        return bytes.fromhex(self.result_id)

    @classmethod
    def decode(cls, data: bytes) -> ResultRecord:
        try:
            raw = json.loads(data)
            record = cls(raw["status"], base64.b64decode(raw["output"], validate=True))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise SpecError(f"not an Agora result record ({exc})") from None
        if record.encode() != data:
            raise SpecError("the result record is not in canonical form")
        return record
