"""Model versions: which one is active, the promotion gate, rollback and pruning.

Numpy and Django only, never torch: web processes find and load the active artifacts here, and
staff roll back from admin. Training (torch) lives in :mod:`recommendations.training`.
"""

from .gate import Comparison, Decision, comparison_for, decide, judge
from .pruning import prune_runs, prune_versions
from .rollback import rejected_warning, rollback
from .versions import (
    ArtifactUnreadable,
    RegistryError,
    active_version,
    active_versions,
    clear_cache,
    load_active_artifact,
    load_active_scorer,
    load_version_artifact,
)

__all__ = [
    "ArtifactUnreadable",
    "Comparison",
    "Decision",
    "RegistryError",
    "active_version",
    "active_versions",
    "clear_cache",
    "comparison_for",
    "decide",
    "judge",
    "load_active_artifact",
    "load_active_scorer",
    "load_version_artifact",
    "prune_runs",
    "prune_versions",
    "rejected_warning",
    "rollback",
]
