"""Protocol parameter sets: bounds and starting values for public and local deployments.

The order of every tuple is the order of `IProtocolParams.Values`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

TOKEN = 10**18


def token_amount(wei: int, *, grouped: bool = False) -> str:
    """Token wei as an exact decimal number of tokens, every digit that is not zero kept
    ("12.5", "0.000000001"; with `grouped`, thousands separated: "1,000.5")."""
    whole, frac = divmod(int(wei), TOKEN)
    text = f"{whole:,}" if grouped else str(whole)
    return text + ("." + f"{frac:018d}".rstrip("0") if frac else "")
MINUTE = 60
HOUR = 3600
DAY = 86_400


@dataclass(frozen=True)
class ParamValues:
    """One value per governed numeric parameter (amounts in token wei)."""

    min_provider_stake: int
    unbonding_period_seconds: int
    accept_window_seconds: int
    challenge_window_seconds: int
    collateral_ratio_bps: int
    missed_deadline_slash_bps: int
    fault_slash_bps: int
    buyer_share_bps: int
    reporter_share_bps: int
    protocol_fee_bps: int
    matchmaker_fee_bps: int  # share of the buyer's saving below its ceiling
    dispute_bond: int
    min_job_collateral: int
    arbitration_window_seconds: int

    def as_tuple(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class ParamSet:
    """Bounds and starting values for one deployment."""

    mins: ParamValues
    maxs: ParamValues
    initial: ParamValues


# DESIGN.md's table for a public deployment, with the rules of the market-safety review:
# a missed deadline, a declined or a lapsed match always costs the provider at least
# 10% of 1 token and pays the buyer at least 10% of that, whatever governance votes; the
# matchmaker earns a share (up to half) of what the buyer saves below its ceiling.
PUBLIC = ParamSet(
    mins=ParamValues(1 * TOKEN, 1 * DAY, 30, 1 * HOUR, 0, 1_000, 0, 1_000, 0, 0, 0, 0, 1 * TOKEN, 1 * HOUR),
    maxs=ParamValues(
        10_000_000 * TOKEN, 90 * DAY, 1 * DAY, 14 * DAY, 50_000, 10_000, 10_000, 10_000, 5_000, 1_000, 5_000,
        1_000_000 * TOKEN, 1_000_000 * TOKEN, 30 * DAY,
    ),
    initial=ParamValues(
        1_000 * TOKEN, 7 * DAY, 5 * MINUTE, 1 * DAY, 15_000, 5_000, 10_000, 8_000, 500, 100, 1_000, 100 * TOKEN,
        10 * TOKEN, 3 * DAY,
    ),
)

# A local market: windows of seconds so a whole job life fits in a minute.
DEVNET = ParamSet(
    mins=ParamValues(0, 1, 1, 1, 0, 1_000, 0, 1_000, 0, 0, 0, 0, 1 * TOKEN, 1),
    maxs=ParamValues(
        10_000_000 * TOKEN, 90 * DAY, 1 * DAY, 14 * DAY, 50_000, 10_000, 10_000, 10_000, 5_000, 1_000, 5_000,
        1_000_000 * TOKEN, 1_000_000 * TOKEN, 30 * DAY,
    ),
    initial=ParamValues(
        100 * TOKEN, 60, 15, 30, 15_000, 5_000, 10_000, 8_000, 500, 100, 1_000, 10 * TOKEN, 1 * TOKEN, 60
    ),
)


@dataclass(frozen=True)
class Range:
    """The lowest and highest value a governance setting may take, both included."""

    min: int
    max: int

    def __contains__(self, value: int) -> bool:
        return self.min <= value <= self.max

    def as_tuple(self) -> tuple[int, int]:
        return (self.min, self.max)


@dataclass(frozen=True)
class GovernanceSettings:
    """The governor's and the timelock's settings and their deployment-fixed bounds.

    Times are seconds (the token's clock is timestamps). Each `*_bounds` becomes an
    immutable of AgoraGovernor (`settingBounds`) or AgoraTimelock (`delayBounds`): no vote
    can move a setting outside it.
    """

    voting_delay_seconds: int
    voting_period_seconds: int
    proposal_threshold: int  # token wei of votes needed to propose
    quorum_percent: int
    timelock_delay_seconds: int
    voting_delay_bounds: Range
    voting_period_bounds: Range
    proposal_threshold_bounds: Range  # token wei
    quorum_percent_bounds: Range
    timelock_delay_bounds: Range

    def governor_bounds(self) -> tuple:
        """AgoraGovernor's `Bounds` argument (the order of `IGovernorSettingsBounds.Setting`)."""
        return (
            self.voting_delay_bounds.as_tuple(),
            self.voting_period_bounds.as_tuple(),
            self.proposal_threshold_bounds.as_tuple(),
            self.quorum_percent_bounds.as_tuple(),
        )

    def out_of_bounds(self) -> list[str]:
        """The starting values outside their bounds, described (empty when all fit)."""
        checks = (
            ("voting delay", self.voting_delay_seconds, self.voting_delay_bounds),
            ("voting period", self.voting_period_seconds, self.voting_period_bounds),
            ("proposal threshold", self.proposal_threshold, self.proposal_threshold_bounds),
            ("quorum percent", self.quorum_percent, self.quorum_percent_bounds),
            ("timelock delay", self.timelock_delay_seconds, self.timelock_delay_bounds),
        )
        return [f"{name} {value} is outside {bound.min}..{bound.max}" for name, value, bound in checks
                if value not in bound]


@dataclass(frozen=True)
class Profile:
    """Everything a deployment is configured by, besides who receives tokens."""

    name: str
    params: ParamSet
    governance: GovernanceSettings
    token_supply: int = 1_000_000_000 * TOKEN


PROFILES = {
    # Seconds-long governance so a whole vote fits in a local session or a test.
    "devnet": Profile(
        name="devnet",
        params=DEVNET,
        governance=GovernanceSettings(
            voting_delay_seconds=1,
            voting_period_seconds=5 * MINUTE,
            proposal_threshold=0,
            quorum_percent=4,
            timelock_delay_seconds=1 * MINUTE,
            # Seconds-long minimums so tests and local sessions can shorten everything.
            voting_delay_bounds=Range(1, 7 * DAY),
            voting_period_bounds=Range(10, 30 * DAY),
            proposal_threshold_bounds=Range(0, 10_000_000 * TOKEN),  # up to 1% of the supply
            quorum_percent_bounds=Range(1, 50),
            timelock_delay_bounds=Range(1, 30 * DAY),
        ),
    ),
    # The mainnet-like defaults: 1 day delay, 1 week vote, 4% quorum, 2 day timelock.
    "mainnet": Profile(
        name="mainnet",
        params=PUBLIC,
        governance=GovernanceSettings(
            voting_delay_seconds=1 * DAY,
            voting_period_seconds=7 * DAY,
            proposal_threshold=100_000 * TOKEN,
            quorum_percent=4,
            timelock_delay_seconds=2 * DAY,
            # Long enough to notice a proposal and leave before it executes; short enough
            # that no vote can stall governance for a season.
            voting_delay_bounds=Range(1 * HOUR, 7 * DAY),
            voting_period_bounds=Range(1 * DAY, 30 * DAY),
            proposal_threshold_bounds=Range(0, 10_000_000 * TOKEN),  # up to 1% of the supply
            quorum_percent_bounds=Range(1, 50),
            timelock_delay_bounds=Range(1 * DAY, 30 * DAY),
        ),
    ),
}
