"""Making an earlier version active again: one admin action, one command."""

from __future__ import annotations

from django.db import transaction

from recommendations.models import ModelVersion
from recommendations.types import Scenario

from .versions import RegistryError, Status, activate, lock_active


def rollback(scenario: str, to: int | None = None, *, force: bool = False) -> ModelVersion:
    """Make an earlier version active again: ``to`` (a version id), or by default the version
    that was active before the current one. Raises :class:`RegistryError` with a message for
    an unknown scenario or version, and for a version the gate rejected unless ``force``:
    nothing changes then."""
    try:
        scenario = Scenario.parse(scenario)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None
    with transaction.atomic():
        active = lock_active(scenario)
        if to is None:
            target = _previous_active(scenario, active)
            if target is None:
                raise RegistryError(
                    f"no earlier {scenario} version has been active; pass a version id"
                )
        else:
            target = ModelVersion.objects.select_for_update().filter(pk=to).first()
            if target is None:
                raise RegistryError(f"no model version with id {to}")
            if target.scenario != scenario:
                raise RegistryError(
                    f"version {to} ({target.version}) is a {target.scenario} version, "
                    f"not {scenario}"
                )
            if active is not None and target.pk == active.pk:
                raise RegistryError(f"version {to} ({target.version}) is already active")
        name = target.artifact.name  # a FieldFile is true when it has a name
        if not name or not target.artifact.storage.exists(name):
            raise RegistryError(f"version {target.pk} ({target.version}) has no artifact file")
        if target.status == Status.REJECTED and not force:
            raise RegistryError(rejected_warning(target))
        reason = f"rolled back from {active.version}" if active else "rolled back"
        if target.status == Status.REJECTED:
            reason += f", overriding the gate's rejection ({target.reason})"
        activate(target, active, reason)
    return target


def rejected_warning(version: ModelVersion) -> str:
    """Why activating a rejected version needs to be confirmed."""
    return (
        f"version {version.pk} ({version.version}) was rejected by the promotion gate: "
        f"{version.reason}. Activate it anyway only if you know why (--force, or confirm in "
        "admin)."
    )


def _previous_active(scenario: str, active: ModelVersion | None) -> ModelVersion | None:
    earlier = ModelVersion.objects.filter(
        scenario=scenario, status=Status.RETIRED, promoted_at__isnull=False
    )
    if active is not None:
        earlier = earlier.exclude(pk=active.pk)
    return earlier.order_by("-promoted_at", "-pk").first()
