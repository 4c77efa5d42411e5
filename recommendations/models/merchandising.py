"""Merchandiser rules: pin, boost, bury or exclude items in the recommendations a slot shows.

The rows are edited in admin and read at serve time as ``RuleSpec`` snapshots (see
``recommendations.merchandising``). Items are named by the host's product key as text, like
events, so a rule can be set up for a product before it is imported and never blocks deleting one.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recommendations.types import Action, Slot

ACTION_CHOICES = [(action.value, action.value.capitalize()) for action in Action]
SLOT_CHOICES = [(slot.value, slot.value.replace("-", " ").capitalize()) for slot in Slot]
WEIGHTED = [Action.BOOST.value, Action.BURY.value]

#: Each kind of target, as messages name it, and the fields that hold it.
TARGETS = {
    "item id": ("item_id",),
    "category": ("category",),
    "brand": ("brand",),
    "price range": ("min_price", "max_price"),
}
_TARGET_SET = {
    "item id": ~Q(item_id=""),
    "category": ~Q(category=""),
    "brand": ~Q(brand=""),
    "price range": Q(min_price__isnull=False) | Q(max_price__isnull=False),
}


def _at_most_one_target() -> Q:
    kinds = list(_TARGET_SET)
    condition = Q()
    for i, first in enumerate(kinds):
        for second in kinds[i + 1 :]:
            condition &= ~(_TARGET_SET[first] & _TARGET_SET[second])
    return condition


class RuleQuerySet(models.QuerySet):
    def for_slot(self, slot: str) -> RuleQuerySet:
        """Rules for ``slot`` and rules for every slot."""
        return self.filter(Q(slot="") | Q(slot=slot))

    def live(self, slot: str, now: datetime | None = None) -> RuleQuerySet:
        """Active rules for ``slot`` (or every slot) whose window ``[starts_at, ends_at)`` holds ``now``."""
        now = now or timezone.now()
        return (
            self.filter(active=True)
            .for_slot(slot)
            .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        )


class Rule(models.Model):
    """One merchandiser rule. See docs/merchandising.md for what each action does and which wins.

    The target is exactly one of: an item, a category, a brand, or a price range (either bound may
    be empty; both are inclusive). Pins target an item and place it at ``position``; boost and bury
    move matching items by ``weight`` times the top candidate's score; exclude removes them.
    """

    name = models.CharField(max_length=200)
    action = models.CharField(max_length=16, choices=ACTION_CHOICES)
    item_id = models.CharField(
        "item id", max_length=64, blank=True, help_text="The product's key, as in the catalogue."
    )
    category = models.CharField(
        max_length=100, blank=True, help_text="A category name; upper/lower case does not matter."
    )
    brand = models.CharField(
        max_length=100, blank=True, help_text="A brand name; upper/lower case does not matter."
    )
    min_price = models.DecimalField(
        "minimum price", max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_price = models.DecimalField(
        "maximum price", max_digits=12, decimal_places=2, null=True, blank=True
    )
    slot = models.CharField(
        max_length=32, blank=True, choices=SLOT_CHOICES, help_text="Empty: every slot."
    )
    position = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Pins only: 1 is the first place.",
    )
    weight = models.FloatField(
        null=True,
        blank=True,
        help_text="Boost and bury only: a share of the top candidate's score, e.g. 0.5 for 50 %.",
    )
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: already started.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never ends.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = RuleQuerySet.as_manager()
    # Every change kept with who made it, so that a rule can be put back as it was (admin's
    # History → Revert) and an audit can say who changed what the store shows.
    history = HistoricalRecords()

    class Meta:
        verbose_name = "merchandising rule"
        # Creation order is precedence order: the older of two conflicting pins wins.
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=_at_most_one_target(),
                name="rec_rule_one_target",
                violation_error_message="A rule has one target: an item, a category, a brand or a price range.",
            ),
            models.CheckConstraint(
                condition=~Q(action=Action.PIN.value)
                | (~Q(item_id="") & Q(position__isnull=False)),
                name="rec_rule_pin_item_position",
                violation_error_message="A pin needs an item id and a position.",
            ),
            models.CheckConstraint(
                condition=Q(action=Action.PIN.value) | Q(position__isnull=True),
                name="rec_rule_position_only_pin",
                violation_error_message="Only pins have a position.",
            ),
            models.CheckConstraint(
                condition=Q(position__isnull=True) | Q(position__gte=1),
                name="rec_rule_position_from_1",
                violation_error_message="Positions start at 1.",
            ),
            models.CheckConstraint(
                condition=Q(action__in=WEIGHTED, weight__isnull=False, weight__gt=0)
                | (~Q(action__in=WEIGHTED) & Q(weight__isnull=True)),
                name="rec_rule_weight_boost_bury",
                violation_error_message="Boost and bury need a positive weight; other rules have none.",
            ),
            models.CheckConstraint(
                condition=Q(min_price__isnull=True)
                | Q(max_price__isnull=True)
                | Q(min_price__lte=F("max_price")),
                name="rec_rule_price_range",
                violation_error_message="The minimum price is above the maximum price.",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(starts_at__lt=F("ends_at")),
                name="rec_rule_window",
                violation_error_message="The rule ends before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        targets = self.targets()
        if self.action == Action.PIN:
            if not self.item_id:
                add("item_id", "A pin places one item: enter its item id.")
            if self.position is None:
                add("position", "A pin needs a position (1 is the first place).")
            for kind in targets:
                if kind != "item id":
                    for field in self._set_fields(kind):
                        add(field, "A pin targets a single item: leave this empty.")
        else:
            if self.position is not None:
                add("position", "Only pins have a position: leave this empty.")
            if not targets:
                add(
                    NON_FIELD_ERRORS,
                    "Choose what the rule applies to: an item id, a category, a brand or a price range.",
                )
            elif len(targets) > 1:
                message = f"A rule has one target: keep only one of {_either(targets)}."
                for kind in targets:
                    for field in self._set_fields(kind):
                        add(field, message)
        if self.action in WEIGHTED:
            if self.weight is None:
                add("weight", "Boost and bury need a weight, e.g. 0.5 for 50 % of the top score.")
            elif self.weight <= 0:
                add("weight", "The weight must be greater than zero.")
        elif self.weight is not None:
            add("weight", "Only boost and bury rules have a weight: leave this empty.")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            add("max_price", "The maximum price must not be below the minimum price.")
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.starts_at >= self.ends_at
        ):
            add("ends_at", "The end must be after the start.")
        if errors:
            raise ValidationError(errors)

    def targets(self) -> list[str]:
        """The kinds of target this rule has set (one, for a valid rule), as in :data:`TARGETS`."""
        return [kind for kind in TARGETS if self._set_fields(kind)]

    def _set_fields(self, kind: str) -> list[str]:
        return [field for field in TARGETS[kind] if getattr(self, field) not in ("", None)]

    @property
    def summary(self) -> str:
        """The rule in a few words, e.g. "Boost brand Acme by 50%"."""
        return self.sentence()

    def sentence(self, item_title: str = "") -> str:
        """:attr:`summary`, naming the product when its title is known: ``Pin "Blue mug" (42)
        at position 1`` reads better than an id (the model cannot ask the catalogue itself)."""
        text = f"{self.get_action_display()} {self._target_text(item_title)}"
        if self.action == Action.PIN:
            text += f" at position {self.position}"
        elif self.action in WEIGHTED and self.weight is not None:
            text += f" by {self.weight * 100:g}%"
        return text

    def _target_text(self, item_title: str = "") -> str:
        if self.item_id:
            return f'"{item_title}" ({self.item_id})' if item_title else f"item {self.item_id}"
        if self.category:
            return f"category {self.category}"
        if self.brand:
            return f"brand {self.brand}"
        if self.min_price is None:
            return f"priced up to {self.max_price}"
        if self.max_price is None:
            return f"priced from {self.min_price}"
        return f"priced {self.min_price} to {self.max_price}"


def _either(kinds: list[str]) -> str:
    return ", ".join(kinds[:-1]) + " or " + kinds[-1]
