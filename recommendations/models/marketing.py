"""Marketing: behaviour segments defined in admin and the campaigns shown to their members.

A segment is a list of conditions (:class:`SegmentCondition`) combined with "all" or "any"; the
membership is recomputed by Celery (``recommendations.marketing``) and kept as rows, so that a
campaign, an export or a store's own receiver of ``segment_entered`` reads it without computing.
Members are named by training's user keys: ``"42"`` for user 42, ``"v:<visitor id>"`` for a
visitor who never signed in.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from recommendations.types import Slot

#: Campaign keys travel inside attribution tokens (``.``-separated) and Redis keys.
campaign_key_validator = RegexValidator(
    r"^[a-z0-9_-]{1,40}$", "Lowercase letters, digits, hyphens and underscores, at most 40."
)


class ConditionKind(models.TextChoices):
    """What a condition asks of a visitor's behaviour; each kind uses some of the fields of
    :class:`SegmentCondition` (the admin form says which, and refuses a missing one)."""

    VIEWED_CATEGORY = (
        "viewed_category",
        "Viewed category C at least N times in D days and bought nothing from it",
    )
    CART_ABANDONED = "cart_abandoned", "Added to cart and placed no order within H hours"
    LAPSED_BUYER = "lapsed_buyer", "Placed at least K orders, then none for D days"
    HIGH_VALUE = "high_value", "Top P % of buyers by revenue in D days"
    VIEWED_ITEM = "viewed_item", "Viewed item X in D days"
    FOR_YOU_CATEGORY = "for_you_category", "For-you list led by category C (model-based)"


class MatchMode(models.TextChoices):
    ALL = "all", "All conditions (and)"
    ANY = "any", "Any condition (or)"


class Segment(models.Model):
    """A named group of visitors, defined by behaviour conditions."""

    key = models.SlugField(max_length=50, unique=True, help_text="Used in exports and signals.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    match = models.CharField(max_length=3, choices=MatchMode.choices, default=MatchMode.ALL)
    active = models.BooleanField(
        default=True, help_text="Inactive segments are not recomputed and target nobody."
    )
    computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    member_count = models.PositiveIntegerField(default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentCondition(models.Model):
    """One behaviour condition of a segment. Unused fields stay empty."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField(max_length=20, choices=ConditionKind.choices)
    category = models.CharField("category C", max_length=200, blank=True)
    item_id = models.CharField("item X", max_length=64, blank=True)
    count = models.PositiveIntegerField(
        "at least N times", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    days = models.FloatField(
        "in D days", null=True, blank=True, validators=[MinValueValidator(0.001)]
    )
    hours = models.FloatField(
        "within H hours", null=True, blank=True, validators=[MinValueValidator(0.001)]
    )
    orders = models.PositiveIntegerField(
        "at least K orders", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    percent = models.FloatField(
        "top P %",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["segment", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class SegmentMember(models.Model):
    """A visitor in a segment now, with why (one sentence per condition that holds)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    member = models.CharField(max_length=80, help_text='"42" for user 42, "v:<id>" for a visitor.')
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    entered_at = models.DateTimeField()
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["segment", "-entered_at"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "member"], name="rec_segment_member")
        ]
        indexes = [models.Index(fields=["member"], name="rec_segment_member_key")]

    def __str__(self) -> str:
        return f"{self.member} in {self.segment_id}"


class SegmentDailyCount(models.Model):
    """A segment's size at the end of each day it was computed (the admin chart), with how many
    entered and left that day."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField()
    members = models.PositiveIntegerField(default=0)
    entered = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["segment", "day"]
        constraints = [models.UniqueConstraint(fields=["segment", "day"], name="rec_segment_day")]

    def __str__(self) -> str:
        return f"{self.segment_id} on {self.day}: {self.members}"


class CampaignContent(models.TextChoices):
    BANNER = "banner", "Banner (text and link)"
    PRODUCTS = "products", "A list of products"
    SLOT = "slot", "A recommendation slot"


class Campaign(models.Model):
    """Content shown to the members of its segments during its period.

    Of the campaigns a visitor qualifies for, the one with the highest priority is shown, up to
    ``frequency_cap`` times a day; ``holdout_percent`` of each campaign's audience is never shown
    it (and is recorded as exposed to the holdout), so the lift can be measured.
    """

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[campaign_key_validator],
        help_text="Names the campaign in attribution tokens and reports.",
    )
    name = models.CharField(max_length=200)
    segments = models.ManyToManyField(
        Segment,
        related_name="campaigns",
        blank=True,
        help_text="Shown to members of any of these segments; none: to every visitor.",
    )
    content = models.CharField(
        max_length=10, choices=CampaignContent.choices, default=CampaignContent.BANNER
    )
    headline = models.CharField("banner text", max_length=200, blank=True)
    link_url = models.CharField("link", max_length=500, blank=True)
    item_ids = models.JSONField(
        "products", default=list, blank=True, help_text="Product keys, for a product list."
    )
    slot = models.CharField(
        max_length=20,
        blank=True,
        choices=[(slot.value, slot.value.replace("-", " ").capitalize()) for slot in Slot],
        help_text="For a recommendation slot.",
    )
    coupon_code = models.CharField(max_length=50, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: not started.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: runs until stopped.")
    priority = models.IntegerField(default=0, help_text="Higher wins when several apply.")
    frequency_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Times a day one visitor may be shown it; empty: no cap.",
    )
    holdout_percent = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text="Share of the audience never shown it, to measure the lift.",
    )
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name
