"""Merchandising insights: daily demand, forecasts, stock status and price suggestions.

Everything here is written by the nightly job (``recommendations.insights``) and only read by
admin, so that pages show stored numbers and the web process never fits a model. Products are
known by their opaque ``item_id`` like events are; ``title`` keeps the name the product had when
the row was written, for lists that must name products even after they are gone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DemandDay(models.Model):
    """One product's behaviour on one day: units bought (the forecast's target), and the views
    and add-to-carts that lead it, with the average price paid (for elasticity)."""

    item_id = models.CharField(max_length=64)
    day = models.DateField()
    units = models.FloatField(default=0.0, help_text="Units bought (purchase events' quantity).")
    orders = models.PositiveIntegerField(default=0, help_text="Purchase events.")
    views = models.PositiveIntegerField(default=0)
    carts = models.PositiveIntegerField("add-to-carts", default=0)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Average unit price paid that day; empty without purchases.",
    )

    class Meta:
        ordering = ["item_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["item_id", "day"], name="rec_demandday_item_day")
        ]
        verbose_name = "demand day"

    def __str__(self) -> str:
        return f"{self.item_id} {self.day}: {self.units:g} units"


class DemandForecast(models.Model):
    """The forecast of one product's units on one future day, with its prediction interval."""

    item_id = models.CharField(max_length=64)
    day = models.DateField()
    yhat = models.FloatField("forecast")
    lo = models.FloatField("interval low")
    hi = models.FloatField("interval high")

    class Meta:
        ordering = ["item_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["item_id", "day"], name="rec_forecast_item_day")
        ]
        verbose_name = "demand forecast"

    def __str__(self) -> str:
        return f"{self.item_id} {self.day}: {self.yhat:.2f} [{self.lo:.2f}, {self.hi:.2f}]"


class StockStatus(models.TextChoices):
    OK = "ok", "ok"
    RUNNING_OUT = "running_out", "about to run out"
    SOLD_OUT = "sold_out", "sold out"
    OVERSTOCK = "overstock", "overstock"
    UNCOUNTED = "uncounted", "stock not counted"
    TOO_NEW = "too_new", "too new to judge"


class ProductInsight(models.Model):
    """One product's latest nightly result: the method chosen and the errors it was chosen on,
    the demand rate, days of stock left, its stock status and its estimated price elasticity."""

    item_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=200, blank=True)
    computed_at = models.DateTimeField()
    history_days = models.PositiveIntegerField(default=0)
    demand_class = models.CharField(
        max_length=16, blank=True, help_text="smooth, intermittent, no sales or too new."
    )
    method = models.CharField(max_length=32, blank=True, help_text="Forecast method chosen.")
    backtest_mae = models.FloatField(null=True, blank=True)
    naive_mae = models.FloatField(null=True, blank=True)
    #: Every candidate's backtest MAE, and the baselines', so the choice can be checked.
    backtest = models.JSONField(default=dict, blank=True)
    daily_rate = models.FloatField(default=0.0, help_text="Mean forecast units per day.")
    recent_rate = models.FloatField(default=0.0, help_text="Mean units per day, last 28 days.")
    stock = models.IntegerField(null=True, blank=True)
    days_left = models.FloatField(null=True, blank=True)
    lead_days = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=StockStatus.choices, default=StockStatus.OK)
    elasticity = models.FloatField(null=True, blank=True)
    elasticity_lo = models.FloatField(null=True, blank=True)
    elasticity_hi = models.FloatField(null=True, blank=True)
    elasticity_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["title", "item_id"]
        indexes = [models.Index(fields=["status", "days_left"], name="rec_insight_status")]
        verbose_name = "product insight"

    def __str__(self) -> str:
        return self.title or self.item_id


class PriceSuggestion(models.Model):
    """A suggested price change with its reason and evidence. Nothing changes a price until a
    merchandiser accepts it; the rows are the log of every suggestion and decision."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ACCEPTED = "accepted", "accepted"
        REJECTED = "rejected", "rejected"
        EXPIRED = "expired", "expired"

    class Direction(models.TextChoices):
        RAISE = "raise", "raise"
        LOWER = "lower", "lower"

    item_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    direction = models.CharField(max_length=8, choices=Direction.choices)
    old_price = models.DecimalField(max_digits=12, decimal_places=2)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="rec_pricesugg_status"),
            models.Index(fields=["item_id", "-created_at"], name="rec_pricesugg_item"),
        ]
        verbose_name = "price suggestion"

    def __str__(self) -> str:
        return f"{self.title or self.item_id}: {self.old_price} → {self.new_price}"

    @property
    def change_pct(self) -> float:
        return float((self.new_price - self.old_price) / self.old_price * 100)
