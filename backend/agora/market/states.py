"""Job and provider states, numbered as the contracts number them."""

from __future__ import annotations

from enum import IntEnum


class JobState(IntEnum):
    """`JobState` in `contracts/types/Job.sol`."""

    NONE = 0
    OPEN = 1
    MATCHED = 2
    RUNNING = 3
    SUBMITTED = 4
    DISPUTED = 5
    COMPLETED = 6
    REFUNDED = 7
    SLASHED = 8

    @property
    def label(self) -> str:
        """The state's name as people read it: "Open", "Matched", ..."""
        return self.name.capitalize()

    @property
    def is_live(self) -> bool:
        """Whether the job still holds escrow and may change state."""
        return self in LIVE_STATES

    @property
    def holds_provider(self) -> bool:
        """Whether a provider's capacity and collateral are reserved for the job."""
        return self in (JobState.MATCHED, JobState.RUNNING, JobState.SUBMITTED, JobState.DISPUTED)


LIVE_STATES = frozenset({JobState.OPEN, JobState.MATCHED, JobState.RUNNING, JobState.SUBMITTED, JobState.DISPUTED})


class ProviderStatus(IntEnum):
    """`IProviderRegistry.ProviderStatus`."""

    NONE = 0
    ACTIVE = 1
    PAUSED = 2


class SlashReason(IntEnum):
    """`IProviderRegistry.SlashReason`."""

    MISSED_DEADLINE = 0
    PROVEN_FAULT = 1
    LAPSED_MATCH = 2
