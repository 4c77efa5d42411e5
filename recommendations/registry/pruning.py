"""Keeping the registry small: old versions, old runs and their files."""

from __future__ import annotations

import logging
from typing import Any

from recommendations.conf import app_settings
from recommendations.models import ModelVersion, TrainingRun
from recommendations.types import Scenario

from .versions import Status

logger = logging.getLogger("recommendations.training")


def prune_versions(keep: int | None = None) -> int:
    """Delete versions beyond the newest ``keep`` per scenario (``KEEP_VERSIONS``), never the
    active one, with their artifact files. Returns how many were deleted."""
    keep = app_settings.KEEP_VERSIONS if keep is None else keep
    if keep is None:
        return 0
    deleted = 0
    for scenario in Scenario.values:
        old = (
            ModelVersion.objects.filter(scenario=scenario)
            .exclude(status=Status.ACTIVE)
            .order_by("-created", "-pk")[keep:]
        )
        for version in list(old):
            _delete_file(version.artifact)
            version.delete()
            deleted += 1
    return deleted


def prune_runs(keep_states: int = 2, keep_runs: int = 500) -> None:
    """Drop the state files of all but the newest ``keep_states`` runs that have one (only the
    newest is read again, by the next incremental run and by precompute), and runs beyond the
    newest ``keep_runs`` that no version points to."""
    with_state = TrainingRun.objects.exclude(state="").order_by("-pk")
    for run in list(with_state[keep_states:]):
        _delete_file(run.state)
        run.state = ""
        run.save(update_fields=["state"])
    cutoff = TrainingRun.objects.order_by("-pk").values_list("pk", flat=True)[
        keep_runs : keep_runs + 1
    ]
    if cutoff:
        TrainingRun.objects.filter(pk__lte=cutoff[0], versions=None).exclude(
            status=TrainingRun.Status.RUNNING
        ).delete()


def _delete_file(field: Any) -> None:
    if field and field.name:
        try:
            field.storage.delete(field.name)
        except OSError:
            logger.warning("Could not delete %s", field.name, exc_info=True)
