"""Job terms, resources and prices as the contracts define them, in Python.

A job's id is the keccak hash of its ABI-encoded terms (`JobIdLibrary.toId`), so every
off-chain party that holds the terms (from the `JobPosted` event) can compute the id and
pass the terms back to the market. `quote` mirrors `Pricing.quote` to the wei, so a
matchmaker can rank providers without calling the chain.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, replace

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

GWEI = 10**9
SECONDS_PER_HOUR = 3600
MILLICORES_PER_CORE = 1000
MIB_PER_GIB = 1024
_PRICE_SCALE = MILLICORES_PER_CORE * MIB_PER_GIB

RESOURCES_ABI = "(uint32,uint32,uint32,uint16,bytes16,bytes16)"
JOB_TERMS_ABI = f"(address,uint96,bytes32,uint32,uint40,uint64,{RESOURCES_ABI})"


class LabelTooLong(ValueError):
    """A region or GPU model name does not fit the contracts' 16 bytes."""


def label(name: str | bytes | None) -> bytes:
    """Encodes a region or GPU model name as the contracts' right-padded bytes16 (empty: any)."""
    raw = name.encode() if isinstance(name, str) else (name or b"")
    if len(raw) > 16:
        raise LabelTooLong(f"{raw!r} is {len(raw)} bytes; regions and GPU models hold at most 16")
    return raw.ljust(16, b"\0")


def label_text(raw: bytes) -> str:
    """Decodes a bytes16 label back to its name ("" for any)."""
    return bytes(raw).rstrip(b"\0").decode(errors="replace")


@dataclass(frozen=True)
class Resources:
    """CPU millicores, memory MiB, storage GiB, GPUs; region and GPU model as bytes16."""

    cpu_millicores: int
    memory_mib: int
    storage_gib: int = 0
    gpu_count: int = 0
    gpu_model: bytes = field(default=label(""))
    region: bytes = field(default=label(""))

    def as_tuple(self) -> tuple:
        return astuple(self)

    @classmethod
    def from_tuple(cls, values) -> Resources:
        cpu, mem, storage, gpus, model, region = values
        return cls(int(cpu), int(mem), int(storage), int(gpus), bytes(model), bytes(region))


@dataclass(frozen=True)
class HourlyPrices:
    """A provider's prices per resource-hour, in gwei of the token."""

    cpu_core_gwei: int = 0
    memory_gib_gwei: int = 0
    gpu_gwei: int = 0
    storage_gib_gwei: int = 0

    def as_tuple(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class JobTerms:
    """The immutable terms of a job, as posted."""

    buyer: str
    max_price: int
    spec_hash: bytes
    duration_seconds: int
    expires_at: int
    salt: int
    resources: Resources

    def as_tuple(self) -> tuple:
        return (
            to_checksum_address(self.buyer),
            self.max_price,
            self.spec_hash,
            self.duration_seconds,
            self.expires_at,
            self.salt,
            self.resources.as_tuple(),
        )

    @classmethod
    def from_tuple(cls, values) -> JobTerms:
        buyer, max_price, spec, duration, expires, salt, resources = values
        return cls(
            buyer=to_checksum_address(str(buyer)),
            max_price=int(max_price),
            spec_hash=bytes(spec),
            duration_seconds=int(duration),
            expires_at=int(expires),
            salt=int(salt),
            resources=Resources.from_tuple(resources),
        )

    def with_(self, **changes) -> JobTerms:
        return replace(self, **changes)

    @property
    def job_id(self) -> bytes:
        return job_id(self)


def terms_of(job) -> JobTerms:
    """A job's terms rebuilt from its stored columns (the read model's `PostedJob` and its
    kin: spec_hash 0x-hex, gpu_model and region as label text)."""
    return JobTerms(
        buyer=job.buyer, max_price=job.max_price, spec_hash=bytes.fromhex(job.spec_hash.removeprefix("0x")),
        duration_seconds=job.duration_seconds, expires_at=job.expires_at, salt=job.salt,
        resources=Resources(job.cpu_millicores, job.memory_mib, job.storage_gib, job.gpu_count, label(job.gpu_model),
                            label(job.region)),
    )


def job_id(terms: JobTerms) -> bytes:
    """The market's id for a job: keccak256(abi.encode(terms))."""
    return keccak(encode([JOB_TERMS_ABI], [terms.as_tuple()]))


def quote(resources: Resources, duration_seconds: int, prices: HourlyPrices) -> int:
    """The price in token wei of `resources` for `duration_seconds`, as `Pricing.quote`."""
    scaled_per_hour = (
        resources.cpu_millicores * prices.cpu_core_gwei * MIB_PER_GIB
        + resources.memory_mib * prices.memory_gib_gwei * MILLICORES_PER_CORE
        + resources.gpu_count * prices.gpu_gwei * _PRICE_SCALE
        + resources.storage_gib * prices.storage_gib_gwei * _PRICE_SCALE
    )
    return scaled_per_hour * GWEI * duration_seconds // (_PRICE_SCALE * SECONDS_PER_HOUR)
