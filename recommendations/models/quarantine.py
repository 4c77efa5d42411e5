"""Bot quarantine: what was kept out of the event log, counted but never stored.

Counts hold no user agent, IP or visitor, so they can be kept forever and shown to staff. The
only identifying row is :class:`QuarantinedVisitor`, written once when a visitor's burst trips the
limit: its earlier events were stored before the burst was visible, and training leaves them out.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .events import EventKind


class QuarantineReason(models.TextChoices):
    """Why a request's events were quarantined."""

    CRAWLER = "crawler", "Crawler user agent"
    HEADLESS = "headless", "Headless browser"
    BURST = "burst", "Request burst"
    ADAPTER = "adapter", "Store adapter"


class QuarantineCount(models.Model):
    """Events of one kind kept out of the log for one reason on one day.

    Incremented with a single upsert per request (see ``tracking/quarantine.py``).
    """

    day = models.DateField()
    reason = models.CharField(max_length=16, choices=QuarantineReason.choices)
    kind = models.PositiveSmallIntegerField(choices=EventKind.choices)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "reason", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "reason", "kind"], name="rec_quarantine_day_reason_kind"
            )
        ]
        verbose_name = "quarantined event count"

    def __str__(self) -> str:
        return f"{self.day}: {self.count} {self.get_kind_display()} ({self.get_reason_display()})"


class QuarantinedVisitor(models.Model):
    """A visitor (and user, when signed in) whose request burst exceeded the limit.

    Delete the row to let their behaviour train models again from the next run.
    """

    visitor_id = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(
        max_length=16, choices=QuarantineReason.choices, default=QuarantineReason.BURST
    )
    flagged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-flagged_at"]

    def __str__(self) -> str:
        return f"{self.visitor_id} ({self.get_reason_display()})"
