"""The model registry: trained versions per scenario, and the training runs that produced them.

A version's artifact is the engine's ``.npz`` (numpy arrays and a JSON header), kept in a storage
of its own so that a project can put models somewhere other than user uploads. Web processes read
it with :func:`recommendations.engine.artifacts.load_artifact`, which needs numpy only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from recommendations.conf import app_settings
from recommendations.types import Scenario

#: The validation metric every promotion decision is made on.
METRIC = "ndcg@10"


def artifact_dir() -> Path:
    """``ARTIFACT_DIR``, else ``BASE_DIR/var/models``, else ``MEDIA_ROOT/models``."""
    if app_settings.ARTIFACT_DIR:
        return Path(app_settings.ARTIFACT_DIR)
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        return Path(base_dir) / "var" / "models"
    return Path(settings.MEDIA_ROOT or ".") / "models"


class _ArtifactStorage(LazyObject):
    """Resolved on first use, so settings (and test overrides) are read when files are touched."""

    _wrapped: object  # the Storage once resolved, else ``empty``

    def _setup(self) -> None:
        alias = app_settings.ARTIFACT_STORAGE
        self._wrapped = storages[alias] if alias else FileSystemStorage(location=artifact_dir())


_storage = _ArtifactStorage()


def artifact_storage() -> Storage:
    """The storage of artifacts and training states (a callable, so migrations stay portable)."""
    return cast(Storage, _storage)  # the lazy proxy stands in for the Storage it wraps


def _reset_storage(*, setting: str, **kwargs: Any) -> None:
    if setting in {"RECOMMENDATIONS", "STORAGES", "MEDIA_ROOT"}:
        _storage._wrapped = empty


setting_changed.connect(_reset_storage)


class TrainingRun(models.Model):
    """One training run; at most one is running at a time (the database enforces it).

    ``state`` holds the interaction history the run trained on, aggregated per (user, item), so
    the next incremental run reads only the events stored since ``last_event_id``.
    """

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    base = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The run whose state an incremental run continued from.",
    )
    events_read = models.PositiveBigIntegerField(
        default=0, help_text="Events read from the database by this run."
    )
    event_count = models.PositiveBigIntegerField(
        default=0, help_text="Events represented in the state (this run's and earlier ones')."
    )
    users = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    first_event_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_id = models.BigIntegerField(
        null=True, blank=True, help_text="Primary key of the newest event read (the watermark)."
    )
    state = models.FileField(storage=artifact_storage, max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="running"),
                name="rec_one_running_training",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} training #{self.pk} ({self.get_status_display()})"


class ModelVersion(models.Model):
    """A trained model for one scenario, with what it was trained on and how it validated.

    ``metric`` is the validation NDCG@10 of the selected model (``None`` for trending, which has
    no validation); ``metrics`` keeps the selected model's and popularity's validation metrics on
    the same split, and every trial of the selection.
    """

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        REJECTED = "rejected", "Rejected"

    scenario = models.CharField(max_length=32, choices=Scenario.choices)
    model = models.CharField(max_length=32, help_text='The algorithm, e.g. "ease" or "als".')
    version = models.CharField(max_length=64, unique=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    metric = models.FloatField(
        null=True, blank=True, help_text="Validation NDCG@10 of this version."
    )
    metrics = models.JSONField(default=dict, blank=True)
    reference = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version this one was compared with by the promotion gate.",
    )
    reference_metric = models.FloatField(
        null=True,
        blank=True,
        help_text="The reference version's model, refitted and scored on this version's "
        "validation split: the number the gate compared with.",
    )
    data_first_at = models.DateTimeField(null=True, blank=True)
    data_last_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveBigIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    artifact = models.FileField(storage=artifact_storage, max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    reason = models.TextField(blank=True, help_text="Why the version has its status.")
    created = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = "model version"
        constraints = [
            models.UniqueConstraint(
                fields=["scenario"],
                condition=Q(status="active"),
                name="rec_one_active_version",
            )
        ]
        indexes = [models.Index(fields=["scenario", "status"], name="rec_version_scenario")]

    def __str__(self) -> str:
        return self.version or f"{self.scenario} {self.model}"

    @property
    def popularity_metric(self) -> float | None:
        """Popularity's validation NDCG@10 on this version's split, when it was measured."""
        value = (self.metrics.get("popularity") or {}).get(METRIC)
        return None if value is None else float(value)
