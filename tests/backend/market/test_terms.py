"""agora.market.terms: labels, the Python quote and job ids, checked against known values.

The contract side of the same functions is checked on-chain in
tests/contracts/test_provider_registry.py (quote) and test_job_market_posting.py (ids).
"""

import pytest
from eth_abi import encode
from eth_utils import keccak

from agora.chain.addresses import create_address
from agora.market.terms import (
    JOB_TERMS_ABI, HourlyPrices, JobTerms, LabelTooLong, Resources, job_id, label, label_text, quote,
)


def test_LabelPadsToSixteenBytesAndBack():
    assert label("eu-west") == b"eu-west" + b"\0" * 9
    assert label("") == b"\0" * 16 == label(None)
    assert label_text(label("A100")) == "A100"


def test_LabelTooLongIsAClearError():
    with pytest.raises(LabelTooLong, match="at most 16"):
        label("a-region-name-far-too-long")


@pytest.mark.parametrize(
    "resources,seconds,expected",
    [
        # 2 cores x 0.1 + 4 GiB x 0.01 + 10 GiB x 0.001 tokens, for one hour: 0.25 tokens
        (Resources(2_000, 4_096, 10), 3600, 25 * 10**16),
        # one GPU-hour at 2 tokens
        (Resources(0, 0, 0, 1), 3600, 2 * 10**18),
        # one millicore for one second rounds down
        (Resources(1, 0, 0), 1, 27_777_777_777),
    ],
)
def test_QuoteInTokenWei(resources, seconds, expected):
    prices = HourlyPrices(cpu_core_gwei=10**8, memory_gib_gwei=10**7, gpu_gwei=2 * 10**9, storage_gib_gwei=10**6)
    assert quote(resources, seconds, prices) == expected


def test_JobIdIsKeccakOfTheAbiEncodedTerms():
    terms = JobTerms("0x" + "11" * 20, 10**18, b"\xab" * 32, 3600, 1_800_000_000, 7, Resources(1_000, 1_024))
    assert job_id(terms) == keccak(encode([JOB_TERMS_ABI], [terms.as_tuple()]))
    assert job_id(terms.with_(salt=8)) != job_id(terms)
    assert JobTerms.from_tuple(terms.as_tuple()) == terms


def test_CreateAddressMatchesAnvilsFirstDeployment():
    # anvil's first account deploying its first contract
    assert create_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
