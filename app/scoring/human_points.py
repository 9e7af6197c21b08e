"""Human points for a passing score (Python's rules at the reference commit: MetaMask OG is MM2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Stamp provider -> action awarded once per address.
PROVIDER_ACTIONS = {
    "SelfStakingBronze": "ISB", "SelfStakingSilver": "ISS", "SelfStakingGold": "ISG",
    "BeginnerCommunityStaker": "CSB", "ExperiencedCommunityStaker": "CSE", "TrustedCitizen": "CST",
    "HolonymGovIdProvider": "HGO", "HolonymPhone": "HPH", "CleanHands": "HCH", "Biometrics": "HBI",
}


@dataclass(frozen=True)
class HumanPointsSettings:
    enabled: bool = False
    write_enabled: bool = False
    start_timestamp: int = 0
    mta_enabled: bool = False

    def should_write(self, program: bool, passing: bool, now: datetime) -> bool:
        """Python gates the writes on HUMAN_POINTS_WRITE_ENABLED alone: HUMAN_POINTS_ENABLED is
        the read switch (points in the ceramic-cache score), not a condition of writing."""
        return self.write_enabled and program and passing and now.timestamp() >= self.start_timestamp


def awards(counted_nullifiers: dict[str, tuple[str, ...]]) -> tuple[list[tuple[str, str]], list[str]]:
    """(human keys as (provider, last nullifier), provider actions) for the counted stamps."""
    human_keys = [(provider, nullifiers[-1]) for provider, nullifiers in counted_nullifiers.items()
                  if nullifiers]
    actions = sorted({PROVIDER_ACTIONS[p] for p in counted_nullifiers if p in PROVIDER_ACTIONS})
    return human_keys, actions


@dataclass(frozen=True)
class Points:
    """An address's human points as the ceramic-cache score reports them (``points_data`` and
    ``possible_points_data``): what it earned, and every active action's points."""

    total: int
    eligible: bool
    multiplier: int
    breakdown: dict[str, int]
    possible: dict[str, int]


def points_data(earned, multiplier: int | None, eligible: bool, active_config: dict) -> Points:
    """The address's points from the points query's rows. The multiplier is reported, not applied;
    possible_points_data's total is 0, as Django's is.

    Python reads the multiplier from its points query (a LEFT JOIN of the multiplier on the
    address's counted points rows): without counted points it reports 1, whatever the address's
    multiplier row says, in both bodies."""
    breakdown: dict[str, int] = {}
    total = 0
    for action, chain_id, points in earned:
        points = int(points)
        total += points
        if chain_id:
            breakdown[f"{action}_{chain_id}"] = points
        breakdown[action] = breakdown.get(action, 0) + points
    return Points(total, eligible, (multiplier or 1) if earned else 1, breakdown, dict(active_config))
