"""What a candidate is compared with, and what an incremental run chooses from.

The gate compares a candidate with the configurations of the active and recent versions, refitted
on the candidate's own validation split (see ``docs/training.md``, "The gate").
"""

from __future__ import annotations

from typing import Any

from recommendations.conf import app_settings
from recommendations.models import ModelVersion
from recommendations.registry import active_version

#: Model families that need catalogue texts (the sequential model's side input, in a blend too).
CONTENT_FAMILIES = frozenset({"content", "hybrid", "sasrec", "blend"})


def reference_versions(scenario: str) -> list[ModelVersion]:
    """The versions a candidate of ``scenario`` is compared with: the active one, then the most
    recently promoted others, one per configuration, ``PROMOTION_REFERENCES`` in all.

    Comparing with the best of a few recent configurations, not only the active one, keeps a
    series of small drops (each within the tolerance) from ratcheting quality down."""
    from recommendations.engine.selection import FAMILIES

    wanted = int(app_settings.PROMOTION_REFERENCES)
    chosen: list[ModelVersion] = []
    seen: set[tuple[str, str]] = set()
    promoted = (
        ModelVersion.objects.filter(scenario=scenario, promoted_at__isnull=False)
        .exclude(status=ModelVersion.Status.REJECTED)
        .order_by("-promoted_at", "-pk")
    )
    active = active_version(scenario)
    for version in ([active] if active else []) + list(promoted[: wanted * 4]):
        key = (version.model, repr(sorted(version.params.items())))
        if len(chosen) >= wanted or key in seen or version.model not in FAMILIES:
            continue
        seen.add(key)
        chosen.append(version)
    return chosen


def incremental_candidates(references: dict[str, list[ModelVersion]]) -> dict[str, list[Any]]:
    """What an incremental run chooses from, per scenario with an active version: popularity
    (the baseline the gate needs), the active configuration (warm-started where the family
    allows) and the other recent ones. Those are fitted on the split as references anyway, so
    choosing among them costs nothing more; the whole grid is searched by full runs only."""
    from recommendations.engine.selection import candidate_for

    device = app_settings.TRAINING_DEVICE
    chosen: dict[str, list[Any]] = {}
    for scenario, versions in references.items():
        if not any(v.status == ModelVersion.Status.ACTIVE for v in versions):
            continue
        chosen[scenario] = [candidate_for("popularity", {}, device)] + [
            candidate_for_version(version) for version in versions if version.model != "popularity"
        ]
    return chosen


def candidate_for_version(version: ModelVersion) -> Any:
    """The engine candidate that rebuilds ``version``'s configuration."""
    from recommendations.engine.selection import candidate_for

    return candidate_for(version.model, version.params, app_settings.TRAINING_DEVICE)
