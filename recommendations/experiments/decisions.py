"""Stopping an experiment and shipping a variant, with the numbers the decision was made on.

What "ship" does depends on what the variant is:

- the control: the experiment stops and nothing changes (the decision is "keep what we have");
- a for-you model version: the experiment stops and the version is activated through the
  registry (:func:`recommendations.registry.rollback`, the same checks as a rollback: it must
  have its artifact, and a version the gate rejected must be activated from the model-version
  admin, which asks to confirm);
- a holdout or rules-off variant: the experiment stops and the decision is recorded, but no
  switch is flipped: turning recommendations or merchandising rules off is a change to make
  deliberately elsewhere (slot templates, the rules' admin), not as a side effect of a button.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from recommendations.models import Experiment, ExperimentVariant, VariantKind
from recommendations.registry import RegistryError, rollback
from recommendations.types import Scenario

from .results import Analysis, experiment_results


class ShipRefused(ValueError):
    """The variant cannot be shipped; the message says why, for staff to read."""


def ship(experiment: Experiment, variant: ExperimentVariant, user: Any = None) -> str:
    """Stop ``experiment`` and ship ``variant``; returns what was done, for staff to read."""
    if variant.experiment_id != experiment.pk:
        raise ShipRefused(f"{variant.name} is not a variant of {experiment.name}.")
    if not experiment.has_started:
        raise ShipRefused(f"{experiment.name} has not started; there is nothing to decide yet.")
    if experiment.decided_at is not None:
        raise ShipRefused(f"{experiment.name} was decided already: {experiment.decision}")
    now = timezone.now()
    analysis = experiment_results(experiment, now=now)
    with transaction.atomic():
        if variant.kind == VariantKind.MODEL_VERSION:
            if variant.model_version is None:
                raise ShipRefused(f"{variant.name}'s model version was deleted; it cannot ship.")
            if variant.model_version.status != variant.model_version.Status.ACTIVE:
                try:
                    version = rollback(Scenario.FOR_YOU, to=variant.model_version.pk)
                except RegistryError as exc:
                    raise ShipRefused(f"{variant.model_version} was not activated: {exc}") from None
                version.reason = f"shipped by experiment {experiment.name} ({version.reason})"
                version.save(update_fields=["reason"])
            done = f"Activated for-you model version {variant.model_version}."
        elif variant.kind == VariantKind.CONTROL:
            done = "Kept the control; nothing changed."
        elif variant.kind == VariantKind.HOLDOUT:
            done = (
                "Recorded only: recommendations were not switched off. Remove the slot from "
                "its pages if that is the decision."
            )
        else:
            done = (
                "Recorded only: merchandising rules were not changed. Deactivate them in the "
                "rules' admin if that is the decision."
            )
        if experiment.stops_at is None or experiment.stops_at > now:
            experiment.stops_at = now
        experiment.shipped_variant = variant
        experiment.decided_at = now
        experiment.decided_by = user if getattr(user, "pk", None) else None
        experiment.decision = f"Shipped {variant.name}. {done}\n{_numbers(analysis)}"
        experiment.save(
            update_fields=["stops_at", "shipped_variant", "decided_at", "decided_by", "decision"]
        )
    return f"Stopped {experiment.name} and shipped {variant.name}. {done}"


def _numbers(analysis: Analysis) -> str:
    """The statements and warnings at the time of the decision: what was compared."""
    lines = [
        f"{v.name}: {v.visitors} visitors, conversion {v.conversion_rate:.4f}, "
        f"revenue per visitor {v.revenue_per_visitor:.2f}"
        for v in analysis.variants
    ]
    for variant in analysis.treatments:
        lines += variant.statements
    return "\n".join(lines + analysis.warnings)
