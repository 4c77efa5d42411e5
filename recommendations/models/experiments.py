"""A/B experiments: which slots, which variants (each one configuration), the split, the window.

A variant is deliberately one of four small configurations (:class:`VariantKind`), so that what
a visitor was shown can always be said in one sentence and reproduced. Bucketing, exposure and
analysis live in :mod:`recommendations.experiments`; docs/experiments.md explains the method.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from recommendations.types import Scenario, Slot

from .registry import ModelVersion

SLOT_CHOICES = [(slot.value, slot.value.replace("-", " ").capitalize()) for slot in Slot]
#: Variant keys travel inside attribution tokens (``.``-separated) and Redis keys.
variant_key_validator = RegexValidator(
    r"^[a-z0-9_]{1,20}$", "Lowercase letters, digits and underscores, at most 20."
)


class VariantKind(models.TextChoices):
    CONTROL = "control", "Control (serves as today)"
    HOLDOUT = "holdout", "Holdout (no recommendations)"
    RULES_OFF = "rules_off", "Merchandising rules off"
    MODEL_VERSION = "model_version", "A specific for-you model version"


class Experiment(models.Model):
    """One A/B test on one or more slots. Running between ``starts_at`` and ``stops_at``.

    The planning fields fix the sample size before the first visitor is exposed (a fixed-horizon
    test): results are only trustworthy once every variant has reached it.
    """

    key = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Hashed with the visitor id to pick the variant: changing it reshuffles everyone.",
    )
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    slots = models.JSONField(default=list, help_text="The slots the experiment configures.")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: not started.")
    stops_at = models.DateTimeField(null=True, blank=True, help_text="Empty: runs until stopped.")
    baseline_conversion = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.9999)],
        help_text="Expected conversion of the control (share of visitors who buy), e.g. 0.05.",
    )
    minimum_detectable_effect = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.001), MaxValueValidator(10.0)],
        help_text="Smallest relative lift worth detecting, e.g. 0.1 for +10 %.",
    )
    alpha = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.5)],
        help_text="Accepted false-positive rate (two-sided), e.g. 0.05.",
    )
    power = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.9999)],
        help_text="Chance of detecting a true effect of the minimum size, e.g. 0.8.",
    )
    shipped_variant = models.ForeignKey(
        "ExperimentVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The variant staff decided to ship when stopping the experiment.",
    )
    decision = models.TextField(blank=True, help_text="What was decided, with the numbers.")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return self.name

    def is_running(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.starts_at is not None
            and self.starts_at <= now
            and (self.stops_at is None or now < self.stops_at)
        )

    @property
    def has_started(self) -> bool:
        return self.starts_at is not None and self.starts_at <= timezone.now()

    def clean(self) -> None:
        slots = self.slots if isinstance(self.slots, list) else []
        unknown = [s for s in slots if s not in Slot._value2member_map_]
        if not slots or unknown:
            raise ValidationError({"slots": "Choose at least one slot."})
        if self.starts_at and self.stops_at and self.stops_at <= self.starts_at:
            raise ValidationError({"stops_at": "The stop must come after the start."})
        overlapping = [
            other.name
            for other in Experiment.objects.exclude(pk=self.pk).filter(starts_at__isnull=False)
            if set(other.slots) & set(slots) and _windows_overlap(self, other)
        ]
        if overlapping:
            raise ValidationError(
                "Another experiment runs on the same slot at the same time "
                f"({', '.join(overlapping)}): a visitor's list would have two configurations."
            )


def _windows_overlap(first: Experiment, second: Experiment) -> bool:
    if first.starts_at is None or second.starts_at is None:
        return False
    first_end = first.stops_at or datetime.max.replace(tzinfo=first.starts_at.tzinfo)
    second_end = second.stops_at or datetime.max.replace(tzinfo=second.starts_at.tzinfo)
    return first.starts_at < second_end and second.starts_at < first_end


class ExperimentVariant(models.Model):
    """One arm of an experiment: a configuration and its share of the traffic (``weight``)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(
        max_length=20,
        validators=[variant_key_validator],
        help_text="Short and stable, e.g. control or b: it is recorded in every exposure.",
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=VariantKind.choices)
    weight = models.FloatField(
        default=50.0,
        validators=[MinValueValidator(0.001)],
        help_text="Share of the traffic, relative to the other variants' weights.",
    )
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For a model-version variant: the for-you version folded in instead of the "
        "active one.",
    )

    class Meta:
        ordering = ["experiment", "pk"]
        verbose_name = "variant"
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="rec_variant_key"),
            models.UniqueConstraint(
                fields=["experiment"], condition=Q(kind="control"), name="rec_one_control"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == VariantKind.MODEL_VERSION:
            if self.model_version is None:
                raise ValidationError({"model_version": "Choose the for-you model version."})
            if self.model_version.scenario != Scenario.FOR_YOU:
                raise ValidationError(
                    {"model_version": "Only for-you model versions can be tested."}
                )
            slots = self._experiment_slots()
            if slots is not None and list(slots) != [Slot.FOR_YOU.value]:
                raise ValidationError(
                    {"kind": "A model-version variant is only offered for the for-you slot alone."}
                )
        elif self.model_version_id is not None:
            raise ValidationError(
                {"model_version": "Only a model-version variant names a version."}
            )

    def _experiment_slots(self) -> list[str] | None:
        """The slots of the experiment being edited (also while it is not saved yet)."""
        try:
            return list(self.experiment.slots)
        except Experiment.DoesNotExist:
            return None
