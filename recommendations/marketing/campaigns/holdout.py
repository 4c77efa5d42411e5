"""The holdout arm: a fixed share of each campaign's audience that is never shown it.

A visitor's arm is a hash of the campaign key and the visitor (the experiments' bucketing, so it
needs no table and no coordination between processes, and survives login because the visitor
cookie does); salting with the campaign key makes the holdouts of two campaigns independent.
"""

from __future__ import annotations

from enum import StrEnum

from recommendations.experiments.assignment import bucket


class Arm(StrEnum):
    SHOWN = "shown"
    HOLDOUT = "holdout"


def arm_of(campaign_key: str, person: str, holdout_percent: float) -> Arm:
    """``holdout`` when the visitor's point for this campaign is below ``holdout_percent``."""
    if holdout_percent > 0 and bucket(f"campaign:{campaign_key}", person) * 100 < holdout_percent:
        return Arm.HOLDOUT
    return Arm.SHOWN
