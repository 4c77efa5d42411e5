"""Fraud and risk: checkout attempts, configurable rules, and the scores staff review.

In the spirit of card-risk engines (Stripe Radar's allow / review / block with a 0-100 score):
every order and every active visitor gets a :class:`RiskAssessment` listing the rules that
contributed; staff confirm or dismiss those that need review. Nothing here acts on a customer:
"block" only holds the order for a person to look at (``recommendations.fraud``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class CheckoutAttempt(models.Model):
    """One payment attempt as the store reported it (``order_placed`` or ``payment_failed``).

    The card is known only by the store's fingerprint of it (never its number); the address is
    kept normalised, so that one address typed two ways is one address.
    """

    created = models.DateTimeField()
    order_id = models.CharField(max_length=64, blank=True, help_text="Empty for a failed payment.")
    approved = models.BooleanField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    address = models.CharField("shipping address", max_length=500, blank=True)
    card_fingerprint = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["order_id"], name="rec_attempt_order"),
            models.Index(fields=["user", "created"], name="rec_attempt_user"),
            models.Index(fields=["visitor_id", "created"], name="rec_attempt_visitor"),
            models.Index(fields=["email", "created"], name="rec_attempt_email"),
            models.Index(fields=["address", "created"], name="rec_attempt_address"),
            models.Index(fields=["card_fingerprint", "created"], name="rec_attempt_card"),
        ]

    def __str__(self) -> str:
        outcome = f"order {self.order_id}" if self.approved else "failed payment"
        return f"{outcome} by {self.email or self.visitor_id}"


class RiskRuleCode(models.TextChoices):
    ORDER_VELOCITY = "order_velocity", "Many orders from one person in a short time"
    FAILED_PAYMENTS = "failed_payments", "Many failed payments"
    CARD_VELOCITY = "card_velocity", "Many distinct cards from one person"
    VALUE_OUTLIER = "value_outlier", "Order value far outside the customer's history"
    NEW_ACCOUNT_HIGH_VALUE = "new_account_high_value", "New account placing a high-value order"
    MANY_ADDRESSES = "many_addresses", "Many shipping addresses for one person"
    SHARED_ADDRESS = "shared_address", "One shipping address shared by many accounts"
    BOT_BROWSING = "bot_browsing", "Bot-like browsing"
    ANOMALY = "anomaly", "Unusual behaviour (anomaly score)"


class RiskRule(models.Model):
    """One rule's configuration: whether it runs, what trips it, and how many points it adds.

    The meaning of ``threshold`` depends on the rule (a count, a multiple of the usual order
    value, an amount, a score); each rule's help in admin says which.
    """

    code = models.CharField(max_length=30, unique=True, choices=RiskRuleCode.choices)
    enabled = models.BooleanField(default=True)
    threshold = models.FloatField(validators=[MinValueValidator(0)])
    window_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="How far back the rule looks."
    )
    weight = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(100)],
        help_text="Points (of 100) the rule adds when it trips.",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "risk rule"

    def __str__(self) -> str:
        return self.get_code_display()


class RiskSubject(models.TextChoices):
    ORDER = "order", "Order"
    VISITOR = "visitor", "Visitor"


class RiskLevel(models.TextChoices):
    ALLOW = "allow", "Allow"
    REVIEW = "review", "Review"
    BLOCK = "block", "Block (held for review)"


class ReviewStatus(models.TextChoices):
    NOT_NEEDED = "not_needed", "No review needed"
    OPEN = "open", "Waiting for review"
    CONFIRMED = "confirmed", "Confirmed fraud or bot"
    DISMISSED = "dismissed", "Dismissed"


class DecisionReason(models.TextChoices):
    CARD_TESTING = "card_testing", "Card testing"
    STOLEN_CARD = "stolen_card", "Stolen card or account"
    FRAUD_RING = "fraud_ring", "Fraud ring"
    BOT = "bot", "Bot or scraper"
    SHILLING = "shilling", "Fake accounts pushing items"
    LEGITIMATE = "legitimate", "Legitimate customer"
    TEST = "test", "Test by staff"
    OTHER = "other", "Other"


class RiskAssessment(models.Model):
    """The current risk score of one order or one visitor, and the review decision on it.

    ``key`` is the order id as text for an order, the training user key (``"42"`` or
    ``"v:<visitor id>"``) for a visitor. ``reasons`` lists the rules that tripped, with the
    settings they were compared with (the numbers behind the decision):
    ``[{"rule": code, "points": n, "detail": "...", "threshold": t, "window_minutes": m}]``.
    """

    subject = models.CharField(max_length=10, choices=RiskSubject.choices)
    key = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    level = models.CharField(max_length=10, choices=RiskLevel.choices)
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.NOT_NEEDED
    )
    decision_reason = models.CharField(max_length=20, choices=DecisionReason.choices, blank=True)
    note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    scored_at = models.DateTimeField()

    class Meta:
        ordering = ["-scored_at"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "key"], name="rec_risk_subject_key")
        ]
        indexes = [
            models.Index(fields=["status", "-scored_at"], name="rec_risk_status"),
            models.Index(fields=["level", "-scored_at"], name="rec_risk_level"),
        ]
        verbose_name = "risk assessment"

    def __str__(self) -> str:
        return f"{self.get_subject_display()} {self.key}: {self.score} ({self.level})"
