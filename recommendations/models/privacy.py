"""Erasure of a person (GDPR Art. 17): the request's status, and the suppression list.

Neither table holds a user id or visitor id in clear: both store keyed hashes (HMAC with
``SECRET_KEY``, see :mod:`recommendations.suppression`), so that after an erase a scan of every
store finds no reference to the person, while tracking and ingest can still recognise and refuse
them. Rotating ``SECRET_KEY`` therefore forgets who was suppressed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Suppression(models.Model):
    """One erased user or visitor, as a keyed hash: refused by tracking and ingest from now on."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        VISITOR = "visitor", "Visitor"

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created = models.DateTimeField(default=timezone.now)
    request = models.ForeignKey(
        "ErasureRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppressions",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"suppressed {self.get_kind_display().lower()} {self.digest[:12]}…"


class ErasureRequest(models.Model):
    """An erase of one person: ``pending`` while stores are purged, ``completed`` once a second
    scan of every store found nothing (``verified_at``), ``failed`` when it did (``message`` says
    which store).

    The person is named by the hash of their subject key only; ``counts`` says how much was
    removed from each store.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Management command"
        SELF_SERVICE = "self-service", "Self-service"
        CODE = "code", "Code"

    subject_digest = models.CharField(max_length=64, db_index=True)
    subject_kind = models.CharField(max_length=8, choices=Suppression.Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.CODE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who asked (empty for self-service).",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When a scan of every store found no reference left."
    )
    counts = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = "erasure request"
        permissions = [
            ("export_personal_data", "Can export everything the app holds about a person"),
            ("erase_personal_data", "Can erase everything the app holds about a person"),
        ]

    def __str__(self) -> str:
        return f"Erasure #{self.pk} ({self.get_status_display()})"
