"""The matching engine: proposes which provider takes which open job, by the contracts' rules.

Pure: it imports only the standard library and `agora.market`, so it decides without a
database or a chain. See `engine.py`.
"""

from agora.matching.engine import (
    ANY,
    MatchingEngine,
    MatchRules,
    OpenJob,
    Proposal,
    ProviderState,
    ScoreWeights,
    collateral_for,
    ineligibility,
    match_jobs,
)

__all__ = [
    "ANY", "MatchRules", "MatchingEngine", "OpenJob", "Proposal", "ProviderState", "ScoreWeights",
    "collateral_for", "ineligibility", "match_jobs",
]
