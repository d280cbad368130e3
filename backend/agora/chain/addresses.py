"""Contract addresses known before deployment."""

from __future__ import annotations

import rlp
from eth_utils import keccak, to_canonical_address, to_checksum_address


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to (yellow paper, eq. 86)."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])
