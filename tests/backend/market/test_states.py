"""The Python states are numbered exactly as the contracts number them."""

import re
from pathlib import Path

from agora.market.states import JobState, ProviderStatus, SlashReason

ROOT = Path(__file__).resolve().parents[3]


def _enum_members(source: str, name: str) -> list[str]:
    body = re.search(r"enum " + name + r" \{(.*?)\}", source, re.S).group(1)
    return [re.sub(r"//.*", "", line).strip(" ,") for line in body.splitlines() if re.sub(r"//.*", "", line).strip(" ,")]


def test_JobStatesMatchTheContract():
    members = _enum_members((ROOT / "contracts/types/Job.sol").read_text(), "JobState")
    assert [m.upper() for m in members] == [s.name for s in JobState]


def test_ProviderEnumsMatchTheRegistry():
    source = (ROOT / "contracts/interfaces/IProviderRegistry.sol").read_text()
    assert [m.upper() for m in _enum_members(source, "ProviderStatus")] == [s.name for s in ProviderStatus]
    camel = [re.sub(r"(?<!^)([A-Z])", r"_\1", m).upper() for m in _enum_members(source, "SlashReason")]
    assert camel == [r.name for r in SlashReason]


def test_LiveStatesAreTheOnesHoldingEscrow():
    assert [s for s in JobState if s.is_live] == [JobState.OPEN, JobState.MATCHED, JobState.RUNNING,
                                                  JobState.SUBMITTED, JobState.DISPUTED]
    assert not JobState.OPEN.holds_provider and JobState.DISPUTED.holds_provider
    assert JobState.SUBMITTED.label == "Submitted"
